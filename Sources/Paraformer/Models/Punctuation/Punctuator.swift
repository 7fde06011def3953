import Foundation

/// Options of a `Punctuator`.
public struct PunctuatorOptions: Sendable, Equatable {
    /// Words per mini-sentence window (FunASR's `split_size`, default 20; at least 2).
    public var splitSize: Int
    /// Threads for matrix products and kernels (process-wide, as `RecognizerOptions.threads`).
    public var threads: Int?
    /// Map every weight page at load instead of on first use.
    public var preload: Bool

    public init(splitSize: Int = 20, threads: Int? = nil, preload: Bool = false) {
        self.splitSize = splitSize
        self.threads = threads
        self.preload = preload
    }
}

/// Punctuated text, as FunASR's punctuation model returns it.
public struct PunctuationResult: Sendable, Equatable, Codable {
    /// The punctuated text (FunASR's `text`).
    public var text: String
    /// FunASR's `punc_array`: one class id (an index into `Punctuator.punctuationList`) per
    /// input word, in order (for `PunctuationStream`, FunASR's value: the classes of the last
    /// window only). Empty for empty input.
    public var puncArray: [Int]

    public init(text: String, puncArray: [Int]) {
        self.text = text
        self.puncArray = puncArray
    }
}

/// Punctuation restoration with a CT-Transformer model converted to GGUF
/// (`ct-transformer`, FunASR's `ct-punc-c`; `ct-transformer-streaming` through `makeStream()`).
///
/// Read-only after `init` and safe to share across threads: each call takes its own scratch.
/// ```swift
/// let punctuator = try Punctuator(modelPath: "ct-punc.gguf")
/// print(punctuator.punctuate("你好世界 hello world").text)
/// ```
public final class Punctuator: @unchecked Sendable {
    public let options: PunctuatorOptions
    public let config: PunctuationConfig
    /// Class names in id order (`punc_list`), the meaning of `PunctuationResult.puncArray`.
    public var punctuationList: [String] { config.punctuationList }
    /// The model's vocabulary.
    public let tokens: TokenTable
    let network: CTTransformerNetwork
    let file: GGUFFile
    let classNames: [Scalars]
    let unkId: Int
    private let pool = WorkspacePool()

    /// Loads (memory-maps) `modelPath` and validates every tensor.
    /// - Throws: `ParaformerError` naming what is wrong with the file or options.
    public init(modelPath: String, options: PunctuatorOptions = PunctuatorOptions()) throws {
        guard options.splitSize >= 2 && options.splitSize <= 100_000 else {
            throw ParaformerError.invalidOption(
                name: "splitSize", reason: "\(options.splitSize) is not between 2 and 100000")
        }
        if let t = options.threads {
            guard t >= 1 && t <= 1024 else {
                throw ParaformerError.invalidOption(name: "threads", reason: "\(t) is not between 1 and 1024")
            }
            BLAS.setThreads(t)
        }
        self.options = options
        file = try GGUFFile(path: modelPath)
        if options.preload { file.preload() }
        config = try PunctuationConfig(file)
        let weights = WeightStore(file, linearLayout: .outIn)
        network = try CTTransformerNetwork(weights, config)
        try weights.checkAllUsed()
        tokens = try TokenTable(file: file, vocabSize: config.vocabSize)
        guard let unk = tokens.id(of: config.unkSymbol) else {
            throw ParaformerError.invalidMetadata(
                key: PunctuationMetadataKey.unkSymbol.rawValue,
                reason: "\(config.unkSymbol) is not in the vocabulary")
        }
        unkId = unk
        classNames = config.punctuationList.map(PythonText.scalars)
    }

    /// Punctuates `text` as FunASR's `CTTransformer.inference` does (offline model).
    ///
    /// Words are split as FunASR splits them (every CJK character, every run of ASCII); words
    /// not in the vocabulary are read as `<unk>` and printed as written. Empty or blank text
    /// gives an empty result.
    /// A `ct-transformer-streaming` model punctuates `text` as the first call of a fresh
    /// `PunctuationStream` (FunASR's `generate` without a cache).
    public func punctuate(_ text: String) -> PunctuationResult {
        if config.architecture == .streaming { return PunctuationStream(self).accept(text) }
        let words = PunctuationText.splitWords(PythonText.scalars(text))
        guard !words.isEmpty else { return PunctuationResult(text: "", puncArray: []) }
        let ids = words.map { tokens.id(of: PythonText.string($0)) ?? unkId }
        let ws = pool.take()
        defer { pool.put(ws) }

        let windows = PunctuationText.miniSentences(count: words.count, size: options.splitSize)
        var cacheWords: [Scalars] = []
        var cacheIds: [Int] = []
        var out = Scalars()
        var puncArray: [Int] = []
        for (w, range) in windows.enumerated() {
            var windowWords = cacheWords + words[range]
            var windowIds = cacheIds + ids[range]
            var classes = network.classify(windowIds, ws)  // [N]
            if w < windows.count - 1 {
                let end = PunctuationText.sentenceEnd(
                    &classes, classNames, sentenceEndId: config.sentenceEndId,
                    windowLength: windowWords.count)
                cacheWords = Array(windowWords[(end + 1)...])
                cacheIds = Array(windowIds[(end + 1)...])
                windowWords.removeSubrange((end + 1)...)
                windowIds.removeSubrange((end + 1)...)
                classes.removeSubrange((end + 1)...)
            }
            out += PunctuationText.assembleOffline(windowWords[...], classes[...], classNames)
            if w == windows.count - 1 {
                // Where FunASR changes the end of the text, the last word's class becomes
                // sentence_end_id.
                if PunctuationText.finishOffline(&out) != .kept && !classes.isEmpty {
                    classes[classes.count - 1] = config.sentenceEndId
                }
            }
            puncArray += classes
        }
        return PunctuationResult(text: PythonText.string(out), puncArray: puncArray)
    }
}
