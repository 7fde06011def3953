/// Punctuation of text arriving piece by piece (VAD segments, partial ASR results) with a
/// `ct-transformer-streaming` model (FunASR's `punc_ct-transformer_zh-cn-common-vad_realtime`).
///
/// Each call punctuates the words carried over from the previous call (after the last sentence
/// end) together with the new text, prints only the new words, and withholds a final
/// punctuation mark until the next call (which then starts with it). Holds the carried-over
/// words; not `Sendable` (one per text stream).
///
/// FunASR: ct_transformer_streaming/model.py `CTTransformerStreaming.inference` with its
/// `cache["pre_text"]`. As FunASR: no capitalisation, no ASCII forms of `，。？`, and
/// `puncArray` holds only the last window's classes.
public final class PunctuationStream {
    let punctuator: Punctuator
    /// FunASR's `cache["pre_text"]`: the words after the last sentence end, each as printed
    /// (a word may carry a leading space).
    public private(set) var carriedWords: [String] = []
    private var carried: [Scalars] = []
    private let ws = Workspace()

    init(_ punctuator: Punctuator) {
        self.punctuator = punctuator
    }

    /// Forgets the carried-over words (a new text stream).
    public func reset() {
        carried = []
        carriedWords = []
    }

    /// Punctuates the next piece of text.
    public func accept(_ text: String) -> PunctuationResult {
        let p = punctuator
        let list = p.classNames
        // text = "".join(pre_text) + " " + text
        var full = Scalars(carried.joined())
        full.append(" ")
        full += PythonText.scalars(text)
        let words = PunctuationText.splitWords(full)
        let ids = words.map { p.tokens.id(of: PythonText.string($0)) ?? p.unkId }
        let vadPosition = carried.count

        var sentenceWords: [Scalars] = []
        var sentenceClasses: [Int] = []
        var lastClasses: [Int] = []
        var cacheWords: [Scalars] = []
        var cacheIds: [Int] = []
        let windows = PunctuationText.miniSentences(count: words.count, size: p.options.splitSize)
        for (w, range) in windows.enumerated() {
            var windowWords = cacheWords + words[range]
            var windowIds = cacheIds + ids[range]
            var classes = p.network.classify(windowIds, vadPosition: vadPosition, ws)
            if w < windows.count - 1 {
                let end = PunctuationText.sentenceEnd(
                    &classes, list, sentenceEndId: p.config.sentenceEndId, windowLength: windowWords.count)
                cacheWords = Array(windowWords[(end + 1)...])
                cacheIds = Array(windowIds[(end + 1)...])
                windowWords.removeSubrange((end + 1)...)
                windowIds.removeSubrange((end + 1)...)
                classes.removeSubrange((end + 1)...)
            }
            sentenceWords += windowWords
            sentenceClasses += classes
            lastClasses = classes
        }

        // One pass over all words: a space between two words when the first ends and the second
        // starts with an ASCII character; the carried-over words are not printed again, but the
        // class of the last of them is (it was withheld).
        var out = Scalars()
        var skipped = 0
        for i in sentenceWords.indices {
            if i > 0, let first = sentenceWords[i].first, let last = sentenceWords[i - 1].last,
                PunctuationText.isOneByte(first) && PunctuationText.isOneByte(last)
            {
                sentenceWords[i] = [" "] + sentenceWords[i]
            }
            if skipped < carried.count {
                skipped += 1
            } else {
                out += sentenceWords[i]
            }
            if skipped >= carried.count {
                let q = list[sentenceClasses[i]]
                if q != PunctuationText.none { out += q }
            }
        }
        var end = -1
        var i = sentenceClasses.count - 2
        while i > 1 {
            let q = list[sentenceClasses[i]]
            if q == PunctuationText.fullPeriod || q == PunctuationText.fullQuestion {
                end = i
                break
            }
            i -= 1
        }
        carried = Array(sentenceWords[(end + 1)...])
        carriedWords = carried.map(PythonText.string)
        // A final punctuation mark is withheld (the next call prints it first).
        if let last = out.last, list.contains([last]) { out.removeLast() }
        return PunctuationResult(text: PythonText.string(out), puncArray: lastClasses)
    }
}

extension Punctuator {
    /// A stream for a `ct-transformer-streaming` model.
    /// - Throws: `ParaformerError.invalidOption` for an offline model.
    public func makeStream() throws -> PunctuationStream {
        guard config.architecture == .streaming else {
            throw ParaformerError.invalidOption(
                name: "model", reason: "\(config.architecture.rawValue) is not a streaming punctuation model")
        }
        return PunctuationStream(self)
    }
}
