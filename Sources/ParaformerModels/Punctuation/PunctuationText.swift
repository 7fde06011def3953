import ParaformerCore

/// FunASR's text handling around the CT-Transformer network: input splitting, mini-sentence
/// windows with carry-over, and the output rules. Python `str` semantics: everything works on
/// code points (`Scalars`), never on grapheme clusters.
///
/// FunASR: ct_transformer/utils.py `split_words`, `split_to_mini_sentence`;
/// ct_transformer/model.py `CTTransformer.inference`;
/// ct_transformer_streaming/model.py `CTTransformerStreaming.inference`.
package enum PunctuationText {
    package static let fullComma: Scalars = ["，"]
    package static let fullPeriod: Scalars = ["。"]
    package static let fullQuestion: Scalars = ["？"]
    package static let enumerationComma: Scalars = ["、"]
    package static let none: Scalars = ["_"]

    /// A code point that UTF-8 encodes in one byte (`len(c.encode()) == 1`).
    @inline(__always)
    package static func isOneByte(_ c: Unicode.Scalar) -> Bool { c.value < 0x80 }

    /// `split_words(text)` without jieba: Python `text.split()`, then in each piece every run of
    /// one-byte (ASCII) code points is one word and every other code point is a word of its own.
    /// `"你好hello world"` → `["你", "好", "hello", "world"]`.
    package static func splitWords(_ text: Scalars) -> [Scalars] {
        var words: [Scalars] = []
        var current = Scalars()
        func flush() {
            if !current.isEmpty { words.append(current) }
            current.removeAll(keepingCapacity: true)
        }
        for c in text {
            if PythonText.isSpace(c) {
                flush()
            } else if isOneByte(c) {
                current.append(c)
            } else {
                flush()
                words.append([c])
            }
        }
        flush()
        return words
    }

    /// `split_to_mini_sentence(words, size)`: consecutive windows of `size` words, the last one
    /// shorter; an empty input is one empty window.
    package static func miniSentences(count: Int, size: Int) -> [Range<Int>] {
        guard count > size else { return [0..<count] }
        return stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
    }

    /// Where a window that is not the last is cut (FunASR's "Search for the last
    /// Period/QuestionMark as cache"): the last `。`/`？` at index `len−2` down to 2; failing that,
    /// when the window is longer than `cachePopTriggerLimit` words, the last `，` in that range
    /// (whose class then becomes `sentenceEndId`). -1: no cut, the whole window is carried over.
    package static func sentenceEnd(
        _ classes: inout [Int], _ list: [Scalars], sentenceEndId: Int, windowLength: Int
    ) -> Int {
        var end = -1
        var lastComma = -1
        var i = classes.count - 2
        while i > 1 {
            let q = list[classes[i]]
            if q == fullPeriod || q == fullQuestion {
                end = i
                break
            }
            if lastComma < 0 && q == fullComma { lastComma = i }
            i -= 1
        }
        if end < 0 && windowLength > cachePopTriggerLimit && lastComma >= 0 {
            end = lastComma
            classes[end] = sentenceEndId
        }
        return end
    }

    /// FunASR's `cache_pop_trigger_limit`.
    package static let cachePopTriggerLimit = 200

    /// Python `word.capitalize()`: the first code point in title case, the rest lower case
    /// (`iPhone` → `Iphone`).
    package static func capitalized(_ word: Scalars) -> Scalars {
        guard let first = word.first else { return word }
        var out = Scalars(first.properties.titlecaseMapping.unicodeScalars)
        for c in word.dropFirst() { out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars) }
        return out
    }

    /// The offline model's text for one emitted piece (`CTTransformer.inference`, the
    /// `words_with_punc` loop): a word starting with an ASCII character is capitalised at the
    /// piece's start and after `。`/`？`; gets a space before it at the piece's start and after
    /// another ASCII-initial word; its `，`/`。`/`？` print as `,`/`.`/`?`. Class `_` prints
    /// nothing; any other class prints its name (`<unk>` included).
    package static func assembleOffline(_ words: ArraySlice<Scalars>, _ classes: ArraySlice<Int>, _ list: [Scalars]) -> Scalars {
        var out = Scalars()
        var previousOneByte = false
        var previousClass: Scalars = []
        for (i, (original, cls)) in zip(words, classes).enumerated() {
            var word = original
            let oneByte = word.first.map(isOneByte) ?? false
            if (i == 0 || previousClass == fullPeriod || previousClass == fullQuestion) && oneByte {
                word = capitalized(word)
            }
            if oneByte && (i == 0 || previousOneByte) { out.append(" ") }
            out += word
            let q = list[cls]
            if q != none {
                if oneByte && q == fullComma {
                    out.append(",")
                } else if oneByte && q == fullPeriod {
                    out.append(".")
                } else if oneByte && q == fullQuestion {
                    out.append("?")
                } else {
                    out += q
                }
            }
            previousOneByte = oneByte
            previousClass = q
        }
        return out
    }

    /// How the offline model ends the whole text (after the last window).
    package enum Ending: Equatable {
        /// Already ends in `。`, `？`, `.` or `?`.
        case kept
        /// A final `，` or `、` became `。`, or `,` became `.`.
        case replaced
        /// `。` (after a multi-byte character) or `.` (after an ASCII one) was appended.
        case appended
    }

    /// FunASR's "Add Period for the end of the sentence" on the whole text.
    package static func finishOffline(_ text: inout Scalars) -> Ending {
        guard let last = text.last else { return .kept }
        switch last {
        case "，", "、":
            text[text.count - 1] = "。"
            return .replaced
        case ",":
            text[text.count - 1] = "."
            return .replaced
        case "。", "？", ".", "?":
            return .kept
        default:
            text.append(isOneByte(last) ? "." : "。")
            return .appended
        }
    }
}
