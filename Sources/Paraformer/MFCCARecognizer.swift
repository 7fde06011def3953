import Foundation
import ParaformerCore
import ParaformerModels

/// One hypothesis of an MFCCA search, as FunASR 0.8.8 reports it.
public struct MFCCAHypothesis: Sendable, Equatable, Codable {
    /// The output ids: the search's sequence without `<sos>` and its last token, id 0 removed.
    public var tokenIds: [Int]
    public var tokens: [String]
    /// The text (`sentence_postprocess(tokens)[0]`).
    public var text: String
    /// The weighted total score.
    public var score: Float
    /// The whole sequence, `<sos>` … `<eos>`.
    public var sequence: [Int]
}

/// The result of recognizing one multi-channel recording.
public struct MFCCAResult: Sendable, Equatable, Codable {
    /// The best hypothesis's text ("" when the search ended no hypothesis).
    public var text: String
    /// The best hypotheses, best first (`nbest` of them).
    public var nbest: [MFCCAHypothesis]
    /// Audio duration in seconds, and channels used.
    public var duration: Double
    public var channels: Int
    /// Seconds spent in the features, the encoder and the beam search.
    public var timings: MFCCATimings
}

extension MFCCAResult {
    /// The result in the engine's common shape (no timestamps: MFCCA has none; token times 0).
    public var recognitionResult: RecognitionResult {
        let best = nbest.first
        var stages = StageTimings()
        stages.frontend = timings.frontend
        stages.encoder = timings.encoder
        stages.decoder = timings.search
        let tokens = zip(best?.tokenIds ?? [], best?.tokens ?? []).map { Token(id: $0, text: $1, startMs: 0, endMs: 0) }
        return RecognitionResult(
            text: text, timestampText: text, words: [], timestamps: [], tokens: tokens, duration: duration,
            timings: stages)
    }
}

public struct MFCCATimings: Sendable, Equatable, Codable {
    public var frontend: Double = 0
    public var encoder: Double = 0
    public var search: Double = 0
    public var total: Double { frontend + encoder + search }
}

/// Multi-channel speech recognition with an MFCCA model (`general.architecture` = `mfcca`),
/// token-identical to FunASR 0.8.8. Read-only after `init`, safe to share across threads.
/// ```swift
/// let recognizer = try MFCCARecognizer(modelPath: "mfcca.gguf")
/// let result = try recognizer.transcribe(file: URL(fileURLWithPath: "meeting-8ch.wav"))
/// print(result.text)
/// ```
public final class MFCCARecognizer: Sendable {
    /// The model's configuration; `config.search` holds its decoding.yaml defaults.
    public var config: MFCCAConfig { model.config }
    public var tokens: TokenTable { model.tokens }
    let model: MFCCAModel
    /// Threads for matrix products (nil: the process default).
    let threads: Int?
    private let pool = WorkspacePool()

    /// Whether the file at `path` is an MFCCA model (false for anything unreadable).
    public static func isMFCCAModel(path: String) -> Bool {
        guard let file = try? GGUFFile(path: path) else { return false }
        return (try? ModelRegistry.architecture(of: file)) == MFCCAModel.architecture
    }

    /// Loads (memory-maps) and validates an MFCCA GGUF file.
    public init(modelPath: String, threads: Int? = nil) throws {
        if let threads {
            guard threads >= 1 && threads <= 1024 else {
                throw ParaformerError.invalidOption(name: "threads", reason: "\(threads) is not between 1 and 1024")
            }
        }
        self.threads = threads
        let (_, loaded) = try ModelRegistry.load(try GGUFFile(path: modelPath))
        guard let model = loaded as? MFCCAModel else {
            throw ParaformerError.unsupportedArchitecture((try? ModelRegistry.architecture(of: loaded.file)) ?? "?")
        }
        self.model = model
    }

    /// Transcribes a sound file, keeping its channels (1 to 8).
    public func transcribe(file url: URL, search: MFCCASearchOptions? = nil) throws -> MFCCAResult {
        try transcribe(try MultiChannelAudio.load(contentsOf: url), search: search, source: url.path)
    }

    /// Transcribes `[channels][samples]` in [−1, 1].
    public func transcribe(channels: [[Float]], sampleRate: Int, search: MFCCASearchOptions? = nil) throws -> MFCCAResult {
        try transcribe(try MultiChannelAudio(channels: channels, sampleRate: sampleRate), search: search, source: "samples")
    }

    /// Transcribes interleaved samples of `channelCount` channels.
    public func transcribe(
        interleaved: [Float], channelCount: Int, sampleRate: Int, search: MFCCASearchOptions? = nil
    ) throws -> MFCCAResult {
        try transcribe(
            try MultiChannelAudio(interleaved: interleaved, channelCount: channelCount, sampleRate: sampleRate),
            search: search, source: "samples")
    }

    public func transcribe(_ audio: MultiChannelAudio, search: MFCCASearchOptions? = nil, source: String = "samples")
        throws -> MFCCAResult
    {
        let options = search ?? model.config.search
        try options.validate()
        return try Parallel.withThreads(threads) { try run(audio, options, source) }
    }

    private func run(_ input: MultiChannelAudio, _ options: MFCCASearchOptions, _ source: String) throws -> MFCCAResult {
        var audio = input
        if audio.sampleRate != model.config.sampleRate {
            audio = try MultiChannelAudio(
                channels: audio.channels.map {
                    try AudioBuffer(samples: $0, sampleRate: audio.sampleRate, source: source)
                        .resampled(to: model.config.sampleRate).samples
                }, sampleRate: model.config.sampleRate, source: source)
        }
        let clock = ContinuousClock()
        var timings = MFCCATimings()
        let t0 = clock.now
        let feats = try model.features(audio, source: source)
        let t1 = clock.now
        let ws = pool.take()
        defer { pool.put(ws) }
        let enc = model.encoder(feats, ws)
        let t2 = clock.now
        let hyps = model.search(enc, options, ws)
        let t3 = clock.now
        timings.frontend = (t1 - t0).seconds
        timings.encoder = (t2 - t1).seconds
        timings.search = (t3 - t2).seconds
        let nbest = hyps.prefix(options.nbest).map { h -> MFCCAHypothesis in
            // Speech2TextMFCCA: yseq[1:-1], id 0 removed, then sentence_postprocess.
            let ids = Array(h.tokens.dropFirst().dropLast()).filter { $0 != 0 }
            let toks = ids.map { model.tokens[$0] }
            return MFCCAHypothesis(
                tokenIds: ids, tokens: toks, text: TextPostprocessor.postprocess(tokens: toks).text,
                score: h.score, sequence: h.tokens)
        }
        return MFCCAResult(
            text: nbest.first?.text ?? "", nbest: nbest,
            duration: Double(audio.channels[0].count) / Double(audio.sampleRate), channels: audio.channels.count,
            timings: timings)
    }
}
