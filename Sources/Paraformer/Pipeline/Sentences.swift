import Foundation

/// One sentence of a transcript with its time span, FunASR's `sentence_info` entry.
public struct Sentence: Sendable, Equatable, Codable {
    public var text: String
    public var startMs: Int
    public var endMs: Int
    /// The words' `[start_ms, end_ms]`.
    public var timestamps: [[Int]]
    public init(text: String, startMs: Int, endMs: Int, timestamps: [[Int]]) {
        self.text = text
        self.startMs = startMs
        self.endMs = endMs
        self.timestamps = timestamps
    }
}

extension PipelineResult {
    /// FunASR's `_join_vad_texts` (auto/auto_model.py): `<|…|>` tags removed, texts trimmed,
    /// empty ones dropped, joined with "" between two CJK characters (U+3400–U+9FFF) and " "
    /// otherwise. This is the punctuation model's input.
    public static func joinForPunctuation(_ texts: [String]) -> String {
        // A constant, valid pattern: cannot throw.
        let tag = try! NSRegularExpression(pattern: "<\\|[^|]*\\|>")
        func isCJK(_ c: Character) -> Bool {
            guard let u = c.unicodeScalars.first, c.unicodeScalars.count == 1 else { return false }
            return u.value >= 0x3400 && u.value <= 0x9FFF
        }
        let cleaned = texts.map { text -> String in
            let range = NSRange(text.startIndex..., in: text)
            return tag.stringByReplacingMatches(in: text, range: range, withTemplate: "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }.filter { !$0.isEmpty }
        guard var joined = cleaned.first else { return "" }
        for text in cleaned.dropFirst() {
            // Both non-empty: empty texts were filtered out above.
            let glue = isCJK(joined.last!) && isCJK(text.first!)
            joined += (glue ? "" : " ") + text
        }
        return joined
    }

    /// FunASR's `utils/timestamp_tools.py timestamp_sentence`: words (the punctuation input
    /// split on whitespace) gathered into sentences that end at every punctuation id > 1
    /// (`，。？、`, hard-coded as FunASR does); English words get a space before them; words
    /// after the last punctuation mark are dropped, as in FunASR.
    static func timestampSentences(puncArray: [Int], timestamps: [[Int]], text: String) -> [Sentence] {
        let marks = ["，", "。", "？", "、"]
        guard !timestamps.isEmpty, !text.isEmpty else { return [] }
        let words = text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        if puncArray.isEmpty {
            return [Sentence(text: words.joined(), startMs: timestamps[0][0], endMs: timestamps[timestamps.count - 1][1],
                             timestamps: timestamps)]
        }
        func isLatin(_ c: Character?) -> Bool {
            guard let c else { return false }
            return ("a"..."z").contains(c) || ("A"..."Z").contains(c)
        }
        var out: [Sentence] = []
        var sentence = ""
        var spans: [[Int]] = []
        var start: Int? = timestamps[0][0]
        var end = timestamps[0][1]
        for i in 0..<max(puncArray.count, timestamps.count, words.count) {
            let ts = i < timestamps.count ? timestamps[i] : nil
            if start == nil, let ts { start = ts[0] }
            if i < words.count {
                let w = words[i]
                if isLatin(w.first) || isLatin(sentence.last) { sentence += " " + w } else { sentence += w }
            }
            if let ts { spans.append(ts) }
            let id = i < puncArray.count ? puncArray[i] : 1
            if let ts { end = ts[1] }
            if id > 1 {
                if id - 2 < marks.count { sentence += marks[id - 2] }
                out.append(Sentence(text: sentence, startMs: start ?? end, endMs: end, timestamps: spans))
                sentence = ""
                spans = []
                start = nil
            }
        }
        return out
    }

    /// FunASR's `_vad_segment_sentences`: one sentence per segment with text, spanning its
    /// words (or the segment when it has none).
    static func segmentSentences(_ segments: [TranscribedSegment]) -> [Sentence] {
        segments.compactMap { s in
            let text = s.text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { return nil }
            let ts = s.timestamps
            return Sentence(text: text, startMs: ts.first?[0] ?? s.segment.startMs,
                            endMs: ts.last?[1] ?? s.segment.endMs, timestamps: ts)
        }
    }
}
