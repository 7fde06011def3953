import ParaformerCore

/// A loaded CT-Transformer punctuation model: the network, its vocabulary and (word-level
/// models) its jieba dictionary, plus FunASR's inference loops around the network.
/// Read-only after init; every call brings its own `Workspace`.
///
/// FunASR: ct_transformer/model.py `CTTransformer.inference`;
/// ct_transformer_streaming/model.py `CTTransformerStreaming.inference`.
package final class CTTransformerModel: LoadedModel, @unchecked Sendable {
    package let config: PunctuationConfig
    package let network: CTTransformerNetwork
    package let tokens: TokenTable
    /// The word segmenter of word-level models (`ct-punc`); nil for character models.
    package let jieba: JiebaSegmenter?
    package let file: GGUFFile
    /// `punc_list` as code points.
    package let classNames: [Scalars]
    /// The id of `unk_symbol`.
    package let unkId: Int

    package init(file: GGUFFile) throws {
        self.file = file
        config = try PunctuationConfig(file)
        let store = WeightStore(file, linearLayout: .outIn)
        network = try CTTransformerNetwork(store, config)
        try store.checkAllUsed()
        tokens = try TokenTable(file: file, vocabSize: config.vocabSize)
        guard let unk = tokens.id(of: config.unkSymbol) else {
            throw ParaformerError.invalidMetadata(
                key: PunctuationMetadataKey.unkSymbol.rawValue,
                reason: "\(config.unkSymbol) is not in the vocabulary")
        }
        unkId = unk
        classNames = config.punctuationList.map(PythonText.scalars)
        jieba = try Self.loadJieba(file)
        if jieba != nil && config.architecture == .streaming {
            throw ParaformerError.invalidMetadata(
                key: PunctuationMetadataKey.jiebaWords.rawValue,
                reason: "FunASR's streaming punctuation model does not segment with jieba")
        }
    }

    /// The registry entry.
    package static let family = ModelFamily(
        name: "CT-Transformer", architectures: PunctuationConfig.Architecture.allCases.map(\.rawValue),
        kind: .punctuation, load: { try CTTransformerModel(file: $0) })

    /// The jieba dictionary of a word-level model (`ct_punc.jieba.*`), if the file has one.
    private static func loadJieba(_ file: GGUFFile) throws -> JiebaSegmenter? {
        typealias Key = PunctuationMetadataKey
        guard let wordsValue = file.metadata[Key.jiebaWords.rawValue] else { return nil }
        func invalid(_ key: Key, _ reason: String) -> ParaformerError {
            .invalidMetadata(key: key.rawValue, reason: reason)
        }
        guard let items = wordsValue.arrayValue else { throw invalid(.jiebaWords, "not an array") }
        let words = items.compactMap(\.stringValue)
        guard words.count == items.count else { throw invalid(.jiebaWords, "not an array of strings") }
        guard let countItems = file.metadata[Key.jiebaCounts.rawValue]?.arrayValue else {
            throw ParaformerError.missingMetadata(Key.jiebaCounts.rawValue)
        }
        let counts = countItems.compactMap(\.intValue)
        guard counts.count == countItems.count, counts.count == words.count, counts.allSatisfy({ $0 >= 0 }) else {
            throw invalid(.jiebaCounts, "expected \(words.count) non-negative integers")
        }
        guard let total = file.metadata[Key.jiebaTotal.rawValue]?.intValue, total > 0 else {
            throw invalid(.jiebaTotal, "missing or not a positive integer")
        }
        return JiebaSegmenter(words: words, counts: counts, total: total)
    }

    /// FunASR's words of `text` (jieba words for a word-level model).
    package func words(_ text: Scalars) -> [Scalars] {
        jieba?.splitWords(text) ?? PunctuationText.splitWords(text)
    }

    private func ids(_ words: [Scalars]) -> [Int] {
        words.map { tokens.id(of: PythonText.string($0)) ?? unkId }
    }

    /// Runs the windows of FunASR's loop: each window is the words carried over plus the next
    /// `splitSize` words; a window that is not the last is cut after its last sentence end and
    /// the rest carried over. Returns each window's emitted words and classes.
    private func windows(
        _ words: [Scalars], splitSize: Int, vadPosition: Int, _ ws: Workspace
    ) -> [(words: [Scalars], classes: [Int])] {
        let ids = ids(words)
        let ranges = PunctuationText.miniSentences(count: words.count, size: splitSize)
        var cacheWords: [Scalars] = []
        var cacheIds: [Int] = []
        var out: [(words: [Scalars], classes: [Int])] = []
        for (w, range) in ranges.enumerated() {
            var windowWords = cacheWords + words[range]
            var windowIds = cacheIds + ids[range]
            var classes = network.classify(windowIds, vadPosition: vadPosition, ws)  // [N]
            if w < ranges.count - 1 {
                let end = PunctuationText.sentenceEnd(
                    &classes, classNames, sentenceEndId: config.sentenceEndId,
                    windowLength: windowWords.count)
                cacheWords = Array(windowWords[(end + 1)...])
                cacheIds = Array(windowIds[(end + 1)...])
                windowWords.removeSubrange((end + 1)...)
                windowIds.removeSubrange((end + 1)...)
                classes.removeSubrange((end + 1)...)
            }
            out.append((windowWords, classes))
        }
        return out
    }

    /// The offline model on `text`: FunASR's `text` and `punc_array`.
    package func punctuate(_ text: String, splitSize: Int, _ ws: Workspace) -> (text: String, puncArray: [Int]) {
        let words = words(PythonText.scalars(text))
        guard !words.isEmpty else { return ("", []) }
        let pieces = windows(words, splitSize: splitSize, vadPosition: 0, ws)
        var out = Scalars()
        var puncArray: [Int] = []
        for (i, piece) in pieces.enumerated() {
            var classes = piece.classes
            out += PunctuationText.assembleOffline(piece.words[...], classes[...], classNames)
            // Where FunASR changes the end of the text, the last word's class becomes
            // sentence_end_id.
            if i == pieces.count - 1 && PunctuationText.finishOffline(&out) != .kept && !classes.isEmpty {
                classes[classes.count - 1] = config.sentenceEndId
            }
            puncArray += classes
        }
        if jieba != nil { puncArray = JiebaSegmenter.expandPerCharacter(puncArray, words: words) }
        return (PythonText.string(out), puncArray)
    }

    /// One call of the streaming model; `carried` is FunASR's `cache["pre_text"]`, updated.
    package func punctuateStreaming(
        _ text: String, carried: inout [Scalars], splitSize: Int, _ ws: Workspace
    ) -> (text: String, puncArray: [Int]) {
        // text = "".join(pre_text) + " " + text
        var full = Scalars(carried.joined())
        full.append(" ")
        full += PythonText.scalars(text)
        let pieces = windows(words(full), splitSize: splitSize, vadPosition: carried.count, ws)
        var sentenceWords = pieces.flatMap(\.words)
        let sentenceClasses = pieces.flatMap(\.classes)

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
                let q = classNames[sentenceClasses[i]]
                if q != PunctuationText.none { out += q }
            }
        }
        var end = -1
        var i = sentenceClasses.count - 2
        while i > 1 {
            let q = classNames[sentenceClasses[i]]
            if q == PunctuationText.fullPeriod || q == PunctuationText.fullQuestion {
                end = i
                break
            }
            i -= 1
        }
        carried = Array(sentenceWords[(end + 1)...])
        // A final punctuation mark is withheld (the next call prints it first).
        if let last = out.last, classNames.contains([last]) { out.removeLast() }
        return (PythonText.string(out), pieces.last?.classes ?? [])
    }
}
