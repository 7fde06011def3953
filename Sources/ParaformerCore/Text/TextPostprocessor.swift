/// Tokens → text (and word timestamps), exactly as FunASR 1.4.16 builds `text` for
/// Paraformer.
///
/// Port of `funasr/utils/postprocess_utils.py` `sentence_postprocess` (with `isChinese`,
/// `isAllChinese`, `isAllAlpha`, `abbr_dispose`), verified against FunASR by
/// `Tools/gen_text_fixtures.py`. Strings are handled as code points, as Python does.
///
/// ```
/// drop "<s>" "</s>" "<unk>" "<OOV>"
/// all tokens "Chinese"  → concatenate           ["你","好"]            → "你好"
/// all tokens alphabetic → words joined by " "   ["hello","world"]      → "hello world"
/// otherwise (mixed)     → "xx@@" pieces glue to the next word, a Chinese token removes
///                         the " " after an English word   ["com@@","pu@@","ter","你"] → "computer你"
/// single letters "a b c" → "ABC"
/// ```
///
/// FunASR behaviours kept on purpose (they are what FunASR outputs):
/// - "Chinese" is U+4E00...U+9FFF, the digits 0–9 and "@"; for a whole token FunASR
///   compares strings (`"\u{4e00}" <= token <= "\u{9fff}"`), so "19" is Chinese but "99"
///   is not; per character (mixed mode) "@@" and "1@@" count as Chinese.
/// - In mixed mode a token that is neither Chinese, `@@` nor alphabetic (e.g. ",") is
///   kept, but gets no timestamp, and is dropped when a Chinese token follows an English
///   word (the " " that FunASR pops is not there any more). A trailing `@@` piece is lost.
/// - `<unk>` tokens are dropped, but their timestamps are not: the timestamps after an
///   `<unk>` shift by one (FunASR indexes timestamps by position in the filtered list).
/// - With timestamps, `text` is the words joined by single spaces ("你 好"); without,
///   it is the words concatenated with English words separated by a space ("你好").
package enum TextPostprocessor {
    /// FunASR's `text` without timestamps (`sentence_postprocess(tokens)[0]`).
    package static func text(from tokens: [String]) -> String {
        postprocess(tokens: tokens).text
    }

    /// FunASR's `sentence_postprocess(tokens)`: the text and its words (no spaces).
    package static func postprocess(tokens: [String]) -> (text: String, words: [String]) {
        let (items, _) = assemble(tokens, timestamps: nil)
        let text = PythonText.strip(Array(items.joined()))
        return (PythonText.string(text), words(of: items))
    }

    /// FunASR's `sentence_postprocess(tokens, timestamps)`: the words joined by spaces,
    /// one timestamp per word (BPE pieces and abbreviations merged), and the words.
    ///
    /// - Parameters:
    ///   - tokens: the tokens as passed to the timestamp predictor (`<unk>` included).
    ///   - timestamps: one span per token, from `TimestampPredictor`.
    /// - Note: where FunASR raises IndexError (fewer timestamps than the text needs), this
    ///   function goes on with a zero-length span at the end of the last timestamp.
    package static func postprocess(tokens: [String], timestamps: [TimestampSpan]) -> (
        text: String, words: [String], timestamps: [TimestampSpan]
    ) {
        let (items, spans) = assemble(tokens, timestamps: timestamps)
        let words = words(of: items)
        let space: Scalars = [" "]
        let text = PythonText.strip(Array(words.map(PythonText.scalars).joined(separator: space)))
        return (PythonText.string(text), words, spans)
    }

    // MARK: - sentence_postprocess

    private static let specials: [Scalars] = ["<s>", "</s>", "<unk>", "<OOV>"].map(
        PythonText.scalars)
    private static let space: Scalars = [" "]
    private static let bpeMark: Scalars = ["@", "@"]

    private static func words(of items: [Scalars]) -> [String] {
        items.filter { $0 != space }.map(PythonText.string)
    }

    /// The word list (English words followed by " " items) and the word timestamps,
    /// after abbreviation merging. FunASR: sentence_postprocess up to the final join.
    private static func assemble(_ tokens: [String], timestamps: [TimestampSpan]?) -> (
        [Scalars], [TimestampSpan]
    ) {
        let middle = tokens.map(PythonText.scalars).filter { !specials.contains($0) }
        let stamps = timestamps.map(SafeStamps.init)
        var items: [Scalars] = []
        var spans: [TimestampSpan] = []
        var pending = Scalars()  // word_item: BPE pieces waiting for the word's last piece
        var begin = -1
        var end = -1
        var isNewWord = true  // ts_flag: the next token starts a word (takes its begin)

        if isAllChinese(tokens: middle) {
            items = middle.map { PythonText.replacing($0, space, with: []) }
            spans = timestamps ?? []
        } else if isAllAlpha(tokens: middle) {
            for (i, token) in middle.enumerated() {
                if isNewWord, let stamps { (begin, end) = stamps[i] }
                if PythonText.contains(token, bpeMark) {
                    pending += PythonText.replacing(token, bpeMark, with: [])
                    if let stamps { isNewWord = false; end = stamps[i].1 }
                } else {
                    items.append(pending + token)
                    items.append(space)
                    pending = []
                    if let stamps {
                        isNewWord = true
                        end = stamps[i].1
                        spans.append(TimestampSpan(startMs: begin, endMs: end))
                        begin = end
                    }
                }
            }
        } else {
            var afterEnglishWord = false  // alpha_blank: items ends with a word's " "
            for (i, token) in middle.enumerated() {
                if isNewWord, let stamps { (begin, end) = stamps[i] }
                if isAllChinese(characters: token) {
                    if afterEnglishWord { items.removeLast() }
                    items.append(token)
                    afterEnglishWord = false
                    if stamps != nil {
                        isNewWord = true
                        spans.append(TimestampSpan(startMs: begin, endMs: end))
                        begin = end
                    }
                } else if PythonText.contains(token, bpeMark) {
                    pending += PythonText.replacing(token, bpeMark, with: [])
                    afterEnglishWord = false
                    if let stamps { isNewWord = false; end = stamps[i].1 }
                } else if isAllAlpha(characters: token) {
                    items.append(pending + token)
                    items.append(space)
                    pending = []
                    afterEnglishWord = true
                    if let stamps {
                        isNewWord = true
                        end = stamps[i].1
                        spans.append(TimestampSpan(startMs: begin, endMs: end))
                        begin = end
                    }
                } else {
                    items.append(token)
                }
            }
        }
        return disposeAbbreviations(items, timestamps: timestamps == nil ? nil : spans)
    }

    // MARK: - abbr_dispose

    /// Merges runs of single ASCII letters separated by " " items ("a", " ", "b", " ", "c")
    /// into one upper-case word ("ABC") whose span runs from the first letter's start to
    /// the last letter's end. FunASR: postprocess_utils.py abbr_dispose.
    private static func disposeAbbreviations(_ words: [Scalars], timestamps: [TimestampSpan]?)
        -> ([Scalars], [TimestampSpan])
    {
        func isLetter(_ num: Int) -> Bool {
            num < words.count && words[num].count == 1 && PythonText.isASCIIAlpha(words[num])
        }
        func isSpace(_ num: Int) -> Bool { num < words.count && words[num] == space }

        // Find each run: its first and last letter positions.
        var runBegins = Set<Int>()
        var runEnds = Set<Int>()
        var lastConsumed = -1
        for start in words.indices where start > lastConsumed {
            guard isLetter(start), isSpace(start + 1), isLetter(start + 2) else { continue }
            var runEnd = start + 2
            var num = runEnd + 1
            while isSpace(num), isLetter(num + 1) {
                runEnd = num + 1
                lastConsumed = runEnd
                num = runEnd + 1
            }
            runBegins.insert(start)
            runEnds.insert(runEnd)
        }

        // Timestamp index of each word: the number of non-" " words before it.
        var stampIndex: [Int] = []
        var next = 0
        for word in words {
            stampIndex.append(next)
            if word != space { next += 1 }
        }

        var out: [Scalars] = []
        var spans: [TimestampSpan] = []
        let stamps = timestamps.map(SafeStamps.init)
        lastConsumed = -1
        for start in words.indices where start > lastConsumed {
            if runBegins.contains(start) {
                let begin = stamps?[stampIndex[start]].0 ?? 0
                var word = PythonText.asciiUppercased(words[start])
                var num = start + 1
                while num < words.count {
                    if runEnds.contains(num) {
                        word += PythonText.asciiUppercased(words[num])
                        lastConsumed = num
                        break
                    } else if PythonText.isASCIIAlpha(words[num]) {
                        word += PythonText.asciiUppercased(words[num])
                    }
                    num += 1
                }
                out.append(word)
                if let stamps, num < words.count, stampIndex[num] < stamps.count {
                    spans.append(TimestampSpan(startMs: begin, endMs: stamps[stampIndex[num]].1))
                }
            } else {
                out.append(words[start])
                if let stamps, stampIndex[start] < stamps.count, words[start] != space {
                    let (b, e) = stamps[stampIndex[start]]
                    spans.append(TimestampSpan(startMs: b, endMs: e))
                }
            }
        }
        return (out, spans)
    }

    // MARK: - isChinese, isAllChinese, isAllAlpha

    /// FunASR's `isChinese(s)` on a whole string: Python string comparison, so only the
    /// first code point counts unless it equals a bound ("19" is in "0"..."9", "99" is not).
    private static func isChinese(_ s: Scalars) -> Bool {
        (PythonText.lessOrEqual(["\u{4e00}"], s) && PythonText.lessOrEqual(s, ["\u{9fff}"]))
            || (PythonText.lessOrEqual(["0"], s) && PythonText.lessOrEqual(s, ["9"]))
            || s == ["@"]
    }

    /// FunASR's cleaning of one item in `isAllChinese`/`isAllAlpha`.
    private static func cleaned(_ s: Scalars) -> Scalars {
        var cur = PythonText.replacing(s, space, with: [])
        for special in [specials[1], specials[0], specials[2], specials[3]] {
            cur = PythonText.replacing(cur, special, with: [])  // "</s>", "<s>", "<unk>", "<OOV>"
        }
        return cur
    }

    /// `isAllChinese(list)`: every cleaned token is Chinese as a whole string.
    private static func isAllChinese(tokens: [Scalars]) -> Bool {
        !tokens.isEmpty && tokens.allSatisfy { isChinese(cleaned($0)) }
    }

    /// `isAllChinese(str)`: every code point is Chinese (a " " is not).
    private static func isAllChinese(characters token: Scalars) -> Bool {
        !token.isEmpty && token.allSatisfy { isChinese(cleaned([$0])) }
    }

    private static func isAlphaItem(_ cur: Scalars) -> Bool {
        let alpha = PythonText.isAlpha(cur)
        return alpha ? !isChinese(cur) : cur == ["'"]
    }

    /// `isAllAlpha(list)`: every cleaned token is alphabetic and not Chinese, or is "'".
    private static func isAllAlpha(tokens: [Scalars]) -> Bool {
        !tokens.isEmpty && tokens.allSatisfy { isAlphaItem(cleaned($0)) }
    }

    /// `isAllAlpha(str)`: every code point is a non-Chinese letter or "'".
    private static func isAllAlpha(characters token: Scalars) -> Bool {
        !token.isEmpty && token.allSatisfy { isAlphaItem(cleaned([$0])) }
    }
}

/// Timestamp lookup that never traps: past the end (where FunASR raises IndexError) it
/// answers a zero-length span at the end of the last timestamp.
private struct SafeStamps {
    package let spans: [TimestampSpan]
    package init(_ spans: [TimestampSpan]) { self.spans = spans }
    package var count: Int { spans.count }
    package subscript(i: Int) -> (Int, Int) {
        if spans.indices.contains(i) { return (spans[i].startMs, spans[i].endMs) }
        let end = spans.last?.endMs ?? 0
        return (end, end)
    }
}
