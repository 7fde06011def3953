import Foundation
import ParaformerCore
import ParaformerModels

/// Options of a `Punctuator`.
public struct PunctuatorOptions: Sendable, Equatable {
    /// Words per mini-sentence window (FunASR's `split_size`, default 20; at least 2).
    public var splitSize: Int
    /// Threads for matrix products and kernels of this punctuator's calls (its own, as
    /// `RecognizerOptions.threads`); `nil` keeps the process default.
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
    /// input word, in order: per character for the CJK words of a word-level (jieba) model;
    /// for `PunctuationStream`, FunASR's value: the classes of the last window only. Empty for
    /// empty input.
    public var puncArray: [Int]

    public init(text: String, puncArray: [Int]) {
        self.text = text
        self.puncArray = puncArray
    }
}

/// Punctuation restoration with a CT-Transformer model converted to GGUF: `ct-transformer`
/// (FunASR's `ct-punc-c`, and the word-level `ct-punc` with its jieba dictionary) or
/// `ct-transformer-streaming` (through `makeStream()`).
///
/// Read-only after `init` and safe to share across threads: each call takes its own scratch.
/// ```swift
/// let punctuator = try Punctuator(model: URL(fileURLWithPath: "ct-punc.gguf"))
/// print(punctuator.punctuate("你好世界 hello world").text)
/// ```
public final class Punctuator: @unchecked Sendable {
    public let options: PunctuatorOptions
    let model: CTTransformerModel
    let pool = WorkspacePool()

    /// Class names in id order (`punc_list`): the meaning of `PunctuationResult.puncArray`.
    public var punctuationList: [String] { model.config.punctuationList }
    /// `sentence_end_id`: the class FunASR treats as a sentence end when it cuts text.
    public var sentenceEndId: Int { model.config.sentenceEndId }
    /// Whether this is a streaming (`ct-transformer-streaming`) model.
    public var isStreaming: Bool { model.config.architecture == .streaming }
    /// The model's vocabulary.
    public var tokens: TokenTable { model.tokens }

    /// Loads (memory-maps) the model file at `url` and validates every tensor.
    /// - Throws: `ParaformerError` naming what is wrong with the file or options.
    public convenience init(model url: URL, options: PunctuatorOptions = PunctuatorOptions()) throws {
        try self.init(modelPath: url.path, options: options)
    }

    /// Loads (memory-maps) the model file at `modelPath` and validates every tensor.
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
        }
        self.options = options
        let file = try GGUFFile(path: modelPath)
        if options.preload { file.preload() }
        let (family, loaded) = try ModelRegistry.load(file)
        guard let model = loaded as? CTTransformerModel else {
            throw ParaformerError.invalidOption(
                name: "model", reason: "a \(family.name) model (\(family.kind.rawValue)) is not a punctuation model")
        }
        self.model = model
    }

    /// Punctuates `text` as FunASR's `CTTransformer.inference` does.
    ///
    /// Words are split as FunASR splits them (every CJK character and every run of ASCII; jieba
    /// words for a word-level model); words not in the vocabulary are read as `<unk>` and
    /// printed as written. Empty or blank text gives an empty result. A streaming model
    /// punctuates `text` as the first call of a fresh `PunctuationStream` (FunASR's `generate`
    /// without a cache).
    public func punctuate(_ text: String) -> PunctuationResult {
        if isStreaming { return PunctuationStream(self).accept(text) }
        let ws = pool.take()
        defer { pool.put(ws) }
        let r = Parallel.withThreads(options.threads) { model.punctuate(text, splitSize: options.splitSize, ws) }
        return PunctuationResult(text: r.text, puncArray: r.puncArray)
    }

    /// A stream for a `ct-transformer-streaming` model.
    /// - Throws: `ParaformerError.invalidOption` for an offline model.
    public func makeStream() throws -> PunctuationStream {
        guard isStreaming else {
            throw ParaformerError.invalidOption(
                name: "model", reason: "\(model.config.architecture.rawValue) is not a streaming punctuation model")
        }
        return PunctuationStream(self)
    }
}
