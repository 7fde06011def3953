import Foundation
import ParaformerCore

/// jieba's accurate mode without the HMM (`jieba.cut(text, HMM=False)`), as FunASR's word-level
/// punctuation model (`ct-punc`, vocab471067) segments Chinese.
///
/// The prefix dictionary is jieba's own `FREQ` after `load_userdict(jieba_usr_dict)`, exported
/// by Tools/convert.py: every word with its count, and every prefix of a word with count 0.
/// ```
/// DAG[k]   = { i ≥ k : text[k…i] is a word with count > 0 }, or {k} if none
/// route[k] = max over i in DAG[k] of (log(count(text[k…i]) or 1) − log(total) + route[i+1], i)
/// ```
/// then the words are read along `route` from the start; consecutive one-character words in
/// [a-zA-Z0-9] are joined into one.
///
/// FunASR: ct_transformer/utils.py `split_words` (jieba branch); jieba 0.42.1
/// `Tokenizer.cut`, `get_DAG`, `calc`, `__cut_DAG_NO_HMM`.
package struct JiebaSegmenter: Sendable {
    /// jieba's `FREQ`: word or prefix → count (0 for a prefix that is not a word).
    package let counts: [Scalars: Int]
    /// log(jieba's `total`).
    package let logTotal: Double

    package init(words: [String], counts: [Int], total: Int) {
        var table = [Scalars: Int](minimumCapacity: words.count)
        for (w, c) in zip(words, counts) { table[PythonText.scalars(w)] = c }
        self.counts = table
        logTotal = log(Double(total))
    }

    /// `re_han_default`: [\u4E00-\u9FD5a-zA-Z0-9+#&._%-].
    package static func isHan(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FD5, 0x61...0x7A, 0x41...0x5A, 0x30...0x39: return true
        default: return "+#&._%-".unicodeScalars.contains(c)
        }
    }

    /// `re_eng`: [a-zA-Z0-9].
    package static func isEnglishOrDigit(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x61...0x7A, 0x41...0x5A, 0x30...0x39: return true
        default: return false
        }
    }

    /// `jieba.cut(text, HMM=False)`: runs of `re_han` characters are segmented by the
    /// dictionary; every other character is a word of its own (`\r\n` stays one).
    package func cut(_ text: Scalars) -> [Scalars] {
        var words: [Scalars] = []
        var i = 0
        while i < text.count {
            var j = i
            if Self.isHan(text[i]) {
                while j < text.count && Self.isHan(text[j]) { j += 1 }
                words += cutBlock(Array(text[i..<j]))
            } else {
                while j < text.count && !Self.isHan(text[j]) { j += 1 }
                var k = i
                while k < j {
                    if text[k] == "\r" && k + 1 < j && text[k + 1] == "\n" {
                        words.append(["\r", "\n"])
                        k += 2
                    } else {
                        words.append([text[k]])
                        k += 1
                    }
                }
            }
            i = j
        }
        return words
    }

    /// `__cut_DAG_NO_HMM` on one block of `re_han` characters.
    private func cutBlock(_ s: Scalars) -> [Scalars] {
        let n = s.count
        // route[k] = (best log probability of s[k...], end of its first word)
        var score = [Double](repeating: 0, count: n + 1)
        var next = [Int](repeating: 0, count: n + 1)
        for k in stride(from: n - 1, through: 0, by: -1) {
            var ends: [Int] = []
            var i = k
            var fragment: Scalars = [s[k]]
            while i < n, let c = counts[fragment] {
                if c != 0 { ends.append(i) }
                i += 1
                if i < n { fragment.append(s[i]) }
            }
            if ends.isEmpty { ends = [k] }
            var best = -Double.infinity
            var bestEnd = k
            for e in ends {
                let c = counts[Array(s[k...e])] ?? 0
                let v = log(Double(c == 0 ? 1 : c)) - logTotal + score[e + 1]
                // Python's max over (value, end) tuples: a tie goes to the larger end.
                if v > best || (v == best && e > bestEnd) {
                    best = v
                    bestEnd = e
                }
            }
            score[k] = best
            next[k] = bestEnd
        }
        var words: [Scalars] = []
        var buffer = Scalars()
        var x = 0
        while x < n {
            let y = next[x] + 1
            if y - x == 1 && Self.isEnglishOrDigit(s[x]) {
                buffer.append(s[x])
            } else {
                if !buffer.isEmpty {
                    words.append(buffer)
                    buffer = []
                }
                words.append(Array(s[x..<y]))
            }
            x = y
        }
        if !buffer.isEmpty { words.append(buffer) }
        return words
    }

    /// `isEnglish`: `^[a-zA-Z']+$`.
    package static func isEnglishWord(_ w: Scalars) -> Bool {
        !w.isEmpty && w.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || $0 == "'" }
    }

    /// `split_words(text, jieba_usr_dict)`: whitespace-separated pieces grouped into runs of
    /// English words (kept as they are) and runs of other pieces (joined, stripped, and cut by
    /// jieba).
    package func splitWords(_ text: Scalars) -> [Scalars] {
        var pieces: [Scalars] = []
        var current = Scalars()
        for c in text {
            if PythonText.isSpace(c) {
                if !current.isEmpty { pieces.append(current) }
                current = []
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { pieces.append(current) }

        var words: [Scalars] = []
        var i = 0
        while i < pieces.count {
            let english = Self.isEnglishWord(pieces[i])
            var j = i
            while j < pieces.count && Self.isEnglishWord(pieces[j]) == english { j += 1 }
            if english {
                words += pieces[i..<j]
            } else {
                words += cut(PythonText.strip(Array(pieces[i..<j].joined())))
            }
            i = j
        }
        return words
    }

    /// FunASR's word-level `punc_array`: a word whose first character lies in
    /// U+0E00…U+9FA5 (sic) and that has n > 1 characters gets n − 1 entries `1` (`_`) before
    /// its own, so the array runs per character for Chinese words.
    package static func expandPerCharacter(_ classes: [Int], words: [Scalars]) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(classes.count)
        for (c, w) in zip(classes, words) {
            if let first = w.first, (0x0E00...0x9FA5).contains(first.value), w.count > 1 {
                out += Array(repeating: 1, count: w.count - 1)
            }
            out.append(c)
        }
        return out
    }
}
