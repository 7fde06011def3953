import Foundation
import ParaformerCore
import ParaformerModels

/// The hotword network of a `Recognizer` whose model is `seaco-paraformer` or
/// `contextual-paraformer`: the network, its hotword tokeniser and bias encoder.
final class HotwordModel: Sendable {
    enum Network {
        case seaco(SeacoParaformerModel)
        case contextual(ContextualParaformerModel)
    }

    let network: Network
    let tokenizer: HotwordTokenizer
    /// The Paraformer part (encoder, predictor, decoder).
    let base: ParaformerModel
    let biasEncoder: BiasEncoder

    /// The facade's view of a loaded hotword network.
    init(network loaded: any HotwordNetwork, file: GGUFFile, tokens: TokenTable) throws {
        if let m = loaded as? SeacoParaformerModel {
            network = .seaco(m)
        } else if let m = loaded as? ContextualParaformerModel {
            network = .contextual(m)
        } else {
            throw ParaformerError.unsupportedArchitecture(String(describing: type(of: loaded)))
        }
        base = loaded.base
        biasEncoder = loaded.biasEncoder
        tokenizer = try HotwordTokenizer(file: file, tokens: tokens)
    }

    /// Tokenises `hotwords` (each a list of words), appends the `<s>` entry and runs the bias
    /// encoder once.
    func prepare(_ hotwords: [[String]]) -> HotwordList {
        var ids = hotwords.map { tokenizer.ids($0) }
        ids.append([base.hparams.sosId])
        // An empty id list (a hotword of no pieces, e.g. a seg_dict entry with no value) has
        // no last LSTM step; FunASR fails on it. Such a hotword becomes <unk>.
        ids = ids.map { $0.isEmpty ? [tokenizer.unkId] : $0 }
        return HotwordList(
            words: hotwords.map { $0.joined(separator: " ") }, tokenIds: ids, vectors: biasEncoder(ids),
            owner: self)
    }

    /// Results for utterances' features, one by one (FunASR's ASF filter would score a whole
    /// batch with its first utterance; one by one, every utterance gets its own filter).
    func results(
        _ recognizer: Recognizer, features: [Tensor], durations: [Double], hotwords: HotwordList?,
        _ ws: Workspace, timings: StageTimings
    ) throws -> [RecognitionResult] {
        if let hotwords, hotwords.owner !== self {
            throw ParaformerError.invalidHotwords(
                source: hotwords.words.joined(separator: " "), reason: "the list was prepared by another recognizer")
        }
        var timings = timings
        var results: [RecognitionResult] = []
        for (b, f) in features.enumerated() {
            var r: RecognitionResult
            switch network {
            case .seaco(let m):
                let out = m.run(f, hotwords: hotwords?.vectors, ws, timings: &timings)
                r = seacoResult(recognizer, out, duration: durations[b])
            case .contextual(let m):
                let out = m.run(
                    f, hotwords: hotwords?.vectors, clasScale: hotwords?.clasScale ?? 1, ws, timings: &timings)
                r = contextualResult(recognizer, ids: out.tokenIds, duration: durations[b])
            }
            results.append(r)
        }
        return results.map {
            var r = $0
            r.timings = timings
            return r
        }
    }

    private func kept(_ ids: [Int]) -> [Int] {
        let hp = base.hparams
        return ids.filter { $0 != hp.blankId && $0 != hp.sosId && $0 != hp.eosId }
    }

    /// SeACo's result: BiCif timestamps, text from `sentence_postprocess(token, timestamp)`
    /// (units joined by spaces). FunASR: seaco_paraformer/model.py `inference`, the tail.
    func seacoResult(_ recognizer: Recognizer, _ out: SeacoParaformerModel.Output, duration: Double) -> RecognitionResult {
        let ids = kept(out.tokenIds)
        guard !ids.isEmpty else { return .empty(duration: duration) }
        let pieces = ids.map { recognizer.tokens[$0] }
        let finite = out.usAlphas.allSatisfy(\.isFinite) && out.usPeaks.allSatisfy(\.isFinite)
        let spans = finite
            ? TimestampPredictor.timestamps(weights: out.usAlphas, peaks: out.usPeaks, tokens: pieces, upsampleRate: 3)
            : []
        let (text, words, wordSpans) = TextPostprocessor.postprocess(tokens: pieces, timestamps: spans)
        let tokens = ids.enumerated().map { i, id in
            let s = i < spans.count ? spans[i] : TimestampSpan(startMs: 0, endMs: 0)
            return Token(id: id, text: pieces[i], startMs: s.startMs, endMs: s.endMs)
        }
        return RecognitionResult(
            text: text, timestampText: text, words: words, timestamps: wordSpans.map { [$0.startMs, $0.endMs] },
            tokens: tokens, duration: duration, timings: StageTimings())
    }

    /// Contextual's result: FunASR returns text only (`sentence_postprocess(token)`).
    func contextualResult(_ recognizer: Recognizer, ids all: [Int], duration: Double) -> RecognitionResult {
        let ids = kept(all)
        guard !ids.isEmpty else { return .empty(duration: duration) }
        let pieces = ids.map { recognizer.tokens[$0] }
        let (text, words) = TextPostprocessor.postprocess(tokens: pieces)
        return RecognitionResult(
            text: text, timestampText: text, words: words, timestamps: [],
            tokens: ids.enumerated().map { Token(id: $1, text: pieces[$0], startMs: 0, endMs: 0) },
            duration: duration, timings: StageTimings())
    }
}

extension Recognizer {
    /// Whether the model biases towards hotwords (`seaco-paraformer`, `contextual-paraformer`).
    public var supportsHotwords: Bool { hotwordModel != nil }

    /// Whether results carry FunASR's `timestamp` (SeACo and plain Paraformer do; Contextual
    /// Paraformer's FunASR result has text only).
    public var reportsTimestamps: Bool { hyperparameters.architecture != .contextual }

    /// Prepares hotwords from a `hotword` value as FunASR's `generate(hotword=...)` takes it:
    /// a path ending in `.txt` (one hotword per line) or a space-separated string. The
    /// vectors are computed here, once; pass the list to any number of transcriptions.
    /// - Throws: `.invalidHotwords` for a missing or non-UTF-8 file, a URL, or a model without
    ///   hotword support.
    public func hotwords(_ value: String) throws -> HotwordList {
        try hotwords(words: HotwordReader.read(value))
    }

    /// Prepares hotwords given one by one, each as its words (FunASR: one line of a hotword
    /// file).
    public func hotwords(words: [[String]]) throws -> HotwordList {
        guard let hotwordModel else {
            throw ParaformerError.invalidHotwords(
                source: words.map { $0.joined(separator: " ") }.joined(separator: ", "),
                reason: "the model (\(hyperparameters.architecture.rawValue)) has no hotword biasing; use a seaco-paraformer or contextual-paraformer model")
        }
        return hotwordModel.prepare(words.filter { !$0.isEmpty })
    }

    /// Transcribes one utterance biased towards `hotwords` (nil: no hotwords, which for SeACo
    /// is plain BiCif decoding and for Contextual the `<s>`-only list, as in FunASR).
    /// - Throws: as `transcribe(_:)`, and `.invalidHotwords` for a list another recognizer
    ///   prepared.
    public func transcribe(_ input: AudioInput, hotwords: HotwordList?) throws -> RecognitionResult {
        let audio = try input.decoded(channel: options.channel)
        return try recognize([(audio.samples, audio.sampleRate)], source: audio.source, hotwords: hotwords)[0]
    }

    /// `transcribe(_:hotwords:)` off the caller's thread.
    public func transcribe(_ input: AudioInput, hotwords: HotwordList?) async throws -> RecognitionResult {
        try Task.checkCancellation()
        return try await Self.offload { try self.transcribe(input, hotwords: hotwords) }
    }

    /// Transcribes several inputs biased towards `hotwords`, `options.batchSize` at a time.
    public func transcribe(batch inputs: [AudioInput], hotwords: HotwordList?) throws -> [RecognitionResult] {
        try transcribe(
            batch: inputs.map {
                let audio = try $0.decoded(channel: options.channel)
                return AudioBuffer(unchecked: audio.samples, sampleRate: audio.sampleRate)
            }, hotwords: hotwords)
    }

    /// Transcribes decoded buffers biased towards `hotwords`.
    public func transcribe(batch inputs: [AudioBuffer], hotwords: HotwordList?) throws -> [RecognitionResult] {
        var results: [RecognitionResult] = []
        for range in batchRanges(inputs) {
            results += try recognize(inputs[range].map { ($0.samples, $0.sampleRate) }, source: "batch", hotwords: hotwords)
        }
        return results
    }

    /// Parity hooks: the SeACo / Contextual network of this recognizer.
    var seacoModel: SeacoParaformerModel? {
        if case .seaco(let m)? = hotwordModel?.network { return m }
        return nil
    }
    var contextualModel: ContextualParaformerModel? {
        if case .contextual(let m)? = hotwordModel?.network { return m }
        return nil
    }
}
