import Paraformer
import ParaformerCore
import Foundation

/// What the error rate counts.
package enum ErrorRateUnit: String, Sendable, CaseIterable {
    /// Characters, as FunASR's recipes score Chinese (`examples/aishell/paraformer/utils/
    /// postprocess_text_zh.py`, then `compute_wer`): `<s>`, `</s>`, `@@`, `@`, `<unk>` and spaces
    /// removed, lower-cased, every remaining character (Unicode scalar) one unit, whitespace
    /// dropped. English words are spelled out letter by letter.
    case char
    /// Whitespace-separated words as they stand in the files (`funasr/metrics/wer.py` with
    /// `cn_postprocess=False`).
    case word
}

/// Edit counts of one hypothesis against its reference, FunASR's `compute_wer_by_line`.
package struct ErrorCounts: Sendable, Equatable {
    /// Reference length (`nwords`).
    package var words = 0
    package var correct = 0
    package var insertions = 0
    package var deletions = 0
    package var substitutions = 0
    /// The edit distance (`wrong`), which FunASR reports as the errors.
    package var errors = 0

    package init() {}

    package init(words: Int, correct: Int, insertions: Int, deletions: Int, substitutions: Int, errors: Int) {
        self.words = words
        self.correct = correct
        self.insertions = insertions
        self.deletions = deletions
        self.substitutions = substitutions
        self.errors = errors
    }
}

/// FunASR's character/word error rate (`funasr/metrics/wer.py compute_wer`), reproduced line for
/// line so that `render()` is byte-identical to the `text.cer` it writes.
///
/// Facts of FunASR's scoring kept here on purpose:
/// - only hypothesis ids that have a reference are scored; a reference without hypothesis (a
///   failed utterance) does not count at all, and the last line reports hypothesis ids without
///   reference as "not present in hyp";
/// - tokens are compared lower-cased, and printed lower-cased;
/// - ties in the alignment prefer substitution, then insertion, then deletion; `errors` is the
///   edit distance, and ins/del/sub come from FunASR's own backtrace.
/// Deviations: blank lines are skipped (FunASR raises on them); an empty reference gives
/// `corr:nan%,cer:nan%` (or `inf%`) where FunASR raises `ZeroDivisionError`.
package struct ErrorRateReport: Sendable, Equatable {
    package struct Utterance: Sendable, Equatable {
        package var id: String
        package var counts: ErrorCounts
        /// Tokens compared, lower-cased.
        package var reference: [String]
        package var hypothesis: [String]
    }

    /// Scored utterances in hypothesis order.
    package var utterances: [Utterance] = []
    /// Hypothesis ids in all (`len(hyp_dict)`).
    package var hypothesisCount = 0

    /// Sums over `utterances`.
    package var total: ErrorCounts {
        var t = ErrorCounts()
        for u in utterances {
            t.words += u.counts.words
            t.correct += u.counts.correct
            t.insertions += u.counts.insertions
            t.deletions += u.counts.deletions
            t.substitutions += u.counts.substitutions
            t.errors += u.counts.errors
        }
        return t
    }

    /// Utterances with at least one error.
    package var wrongSentences: Int { utterances.filter { $0.counts.errors > 0 }.count }

    /// Errors per reference unit, as a fraction (0 when there is no reference unit).
    package var errorRate: Double {
        let t = total
        return t.words > 0 ? Double(t.errors) / Double(t.words) : 0
    }

    /// Scores `hypotheses` against `references`, both Kaldi text files (`id text`).
    package init(references: KaldiTextFile, hypotheses: KaldiTextFile, unit: ErrorRateUnit) {
        hypothesisCount = hypotheses.count
        for id in hypotheses.ids {
            guard let ref = references[id], let hyp = hypotheses[id] else { continue }
            let r = Self.tokens(ref, unit: unit).map(Self.lower)
            let h = Self.tokens(hyp, unit: unit).map(Self.lower)
            utterances.append(
                Utterance(id: id, counts: Self.align(hypothesis: h, reference: r), reference: r, hypothesis: h))
        }
    }

    /// Reads both files and scores them.
    /// - Throws: `ParaformerError.cannotOpenFile`.
    package init(referenceFile: URL, hypothesisFile: URL, unit: ErrorRateUnit) throws {
        self.init(
            references: try KaldiTextFile(contentsOf: referenceFile),
            hypotheses: try KaldiTextFile(contentsOf: hypothesisFile), unit: unit)
    }

    // MARK: - Tokens

    /// The units of a text line's value.
    package static func tokens(_ value: String, unit: ErrorRateUnit) -> [String] {
        switch unit {
        case .word:
            return KaldiText.pythonSplit(value)
        case .char:
            // postprocess_text_zh.py works on the text after the first space; `value` here
            // may carry leading whitespace, which it removes with the spaces anyway.
            var text = value
            for mark in ["</s>", "<s>", "@@", "@", "<unk>", " "] {
                text = Self.replacingScalars(text, mark)
            }
            text = Self.lower(text)
            return text.unicodeScalars.filter { !KaldiText.isPythonWhitespace($0) }.map { String($0) }
        }
    }

    /// Python's `str.replace(mark, "")`, by scalars (Swift's would match by grapheme).
    package static func replacingScalars(_ text: String, _ mark: String) -> String {
        let s = Array(text.unicodeScalars)
        let m = Array(mark.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if i + m.count <= s.count && Array(s[i..<(i + m.count)]) == m {
                i += m.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(out)
    }

    /// Python's `str.lower()`.
    package static func lower(_ s: String) -> String { s.lowercased() }

    // MARK: - Alignment

    /// `compute_wer_by_line`: Levenshtein alignment with FunASR's tie-breaking and backtrace.
    package static func align(hypothesis hyp: [String], reference ref: [String]) -> ErrorCounts {
        // Python compares strings by code points; Swift's == would use canonical equivalence.
        var ids: [[UInt32]: Int] = [:]
        func intern(_ s: String) -> Int {
            let key = s.unicodeScalars.map(\.value)
            if let id = ids[key] { return id }
            ids[key] = ids.count
            return ids.count - 1
        }
        let h = hyp.map(intern)
        let r = ref.map(intern)
        let nh = h.count
        let nr = r.count
        let width = nr + 1
        // Two rows of costs and one byte of operation per cell (the backtrace needs only the
        // operations): a 20 000-unit line against another costs 400 MB, not 3.6 GB.
        var previous = [Int](0...nr)
        var current = [Int](repeating: 0, count: width)
        // 0 correct, 1 substitution, 2 insertion, 3 deletion (FunASR's codes).
        var ops = [UInt8](repeating: 0, count: (nh + 1) * width)
        if nh > 0 {
            for i in 1...nh {
                current[0] = i
                if nr > 0 {
                    for j in 1...nr {
                        if h[i - 1] == r[j - 1] {
                            current[j] = previous[j - 1]
                        } else {
                            let substitution = previous[j - 1] + 1
                            let insertion = previous[j] + 1
                            let deletion = current[j - 1] + 1
                            let best = min(substitution, insertion, deletion)
                            current[j] = best
                            ops[i * width + j] = best == substitution ? 1 : (best == insertion ? 2 : 3)
                        }
                    }
                }
                swap(&previous, &current)
            }
        }
        var c = ErrorCounts()
        c.words = nr
        // FunASR's backtrace, kept as written (its edge handling included).
        var i = nh
        var j = nr
        while i >= 0 || j >= 0 {
            switch ops[max(0, i) * width + max(0, j)] {
            case 0:
                if i - 1 >= 0 && j - 1 >= 0 { c.correct += 1 }
                i -= 1
                j -= 1
            case 2:
                i -= 1
                c.insertions += 1
            case 3:
                j -= 1
                c.deletions += 1
            default:
                i -= 1
                j -= 1
                c.substitutions += 1
            }
            if i < 0 && j >= 0 {
                c.deletions += 1
            } else if j < 0 && i >= 0 {
                c.insertions += 1
            }
        }
        c.errors = previous[nr]  // the last row computed
        return c
    }

    // MARK: - text.cer

    /// The `text.cer` file FunASR's `compute_wer` writes.
    package func render() -> String {
        var out = ""
        for u in utterances {
            let c = u.counts
            out += u.id + "(nwords=\(c.words),cor=\(c.correct),ins=\(c.insertions),del=\(c.deletions)"
            out += ",sub=\(c.substitutions)) corr:" + Self.percent(c.correct, c.words)
            out += ",cer:" + Self.percent(c.errors, c.words) + "\n"
            out += "ref:\t" + u.reference.joined(separator: " ") + "\n"
            out += "hyp:\t" + u.hypothesis.joined(separator: " ") + "\n"
        }
        let t = total
        // FunASR's error total is a numpy integer, so its rounding is numpy's; the sentence
        // count is a Python int, rounded by Python.
        let err = t.words > 0 ? Self.numpyRound2(Double(t.errors * 100) / Double(t.words)) : "0.0"
        let sentences = utterances.count
        let serr =
            sentences > 0 ? Self.pythonRound2(Double(wrongSentences * 100) / Double(sentences)) : "0.0"
        out += "\n"
        out += "%WER \(err) [ \(t.errors) / \(t.words), \(t.insertions) ins, \(t.deletions) del, "
        out += "\(t.substitutions) sub ]\n"
        out += "%SER \(serr) [ \(wrongSentences) / \(sentences) ]\n"
        out += "Scored \(hypothesisCount) sentences, \(hypothesisCount - sentences) not present in hyp.\n"
        return out
    }

    /// `"{:.2%}".format(a / b)`.
    package static func percent(_ a: Int, _ b: Int) -> String {
        if b == 0 { return a == 0 ? "nan%" : "inf%" }
        return String(format: "%.2f%%", Double(a) / Double(b) * 100)
    }

    /// `str(round(numpy.float64(x), 2))`: numpy rounds as `rint(x * 100) / 100`.
    package static func numpyRound2(_ x: Double) -> String {
        "\((x * 100).rounded(.toNearestOrEven) / 100)"
    }

    /// `str(round(x, 2))`: rounded to two decimals (correctly, on the binary value), then the
    /// shortest repr, e.g. `7.69`, `100.0`, `0.0`.
    package static func pythonRound2(_ x: Double) -> String {
        let rounded = Double(String(format: "%.2f", x)) ?? x
        return "\(rounded)"
    }
}
