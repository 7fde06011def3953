import ParaformerCore
import ParaformerModels
import Foundation

/// Options of a `Recognizer`.
public struct RecognizerOptions: Sendable, Equatable {
    /// Threads for matrix products and kernels of this recognizer's calls (its own: another
    /// recognizer's count does not change it). `nil` keeps the default: OPENBLAS_NUM_THREADS
    /// when set, else the number of cores.
    public var threads: Int?
    /// Utterances decoded together in one padded forward pass by `transcribe(batch:)`
    /// (1...1024). A pass also holds at most `maxDuration` seconds of padded audio (its count
    /// times its longest utterance), so a batch never needs more memory than the longest
    /// utterance allowed alone: longer utterances go through in smaller batches (results are
    /// the same as one by one, whatever the grouping).
    public var batchSize: Int
    /// How multi-channel audio becomes mono.
    public var channel: ChannelSelection
    /// Which CIF arrays feed the timestamp predictor. `.intended` (the default) is FunASR's
    /// fixed behaviour (issue #3723, PR #3716); `.funasr1416` reproduces FunASR 1.4.16, which
    /// passes them swapped, bit for bit.
    public var timestampOrder: TimestampPredictor.ArgumentOrder
    /// Longest audio, in seconds, decoded offline in one piece. Self-attention grows with the
    /// square of the length (FunASR runs long audio through VAD first); longer input is
    /// refused with `.invalidAudio` rather than exhausting time and memory.
    public var maxDuration: Double
    /// Map every weight page at load (`GGUFFile.preload`) instead of on first use: load takes
    /// longer (paraformer-large: +0.08 s with the file cached) and the first decode or
    /// streaming chunk does not (live streaming: the first chunk's latency).
    public var preload: Bool

    public init(
        threads: Int? = nil, batchSize: Int = 1, channel: ChannelSelection = .mix,
        timestampOrder: TimestampPredictor.ArgumentOrder = .intended, maxDuration: Double = 1200,
        preload: Bool = false
    ) {
        self.threads = threads
        self.batchSize = batchSize
        self.channel = channel
        self.timestampOrder = timestampOrder
        self.maxDuration = maxDuration
        self.preload = preload
    }
}

/// Speech recognition with a Paraformer model converted to GGUF.
///
/// Offline models (`paraformer`) decode whole utterances; streaming models
/// (`paraformer-streaming`) decode through `makeStream(options:)`, and `transcribe` runs them
/// over whole audio as FunASR's fake streaming does.
///
/// A `Recognizer` is read-only after `init` and safe to share across threads and tasks: each
/// call takes its own scratch memory from a pool, and the weights are one shared read-only mmap.
/// ```swift
/// let recognizer = try Recognizer(model: URL(fileURLWithPath: "paraformer-zh-small.gguf"))
/// let result = try recognizer.transcribe(.file(URL(fileURLWithPath: "sample.wav")))
/// print(result.text)
/// // In async code: `try await recognizer.transcribe(.file(url))` runs off the caller's thread.
/// ```
public final class Recognizer: Sendable {
    public let options: RecognizerOptions
    /// The model's configuration.
    package var hyperparameters: Hyperparameters { model.hparams }
    /// The model's vocabulary.
    public let tokens: TokenTable
    let model: ParaformerModel
    /// The hotword network (SeACo or Contextual) when the model is one; `model` is then its
    /// Paraformer part.
    let hotwordModel: HotwordModel?
    let file: GGUFFile
    let frontend: OfflineFrontend
    private let pool = WorkspacePool()

    /// The kernel that runs the model's Linear layers: `int8 avx512-vnni` / `int8 avx2` /
    /// `int8 portable` for a `paraformer-quantize` file, else `fp32 sgemm <BLAS core>`.
    public var linearKernel: String {
        file.tensorInfos.contains { $0.type == .i8 }
            ? "int8 \(Int8GEMM.variantName)" : "fp32 sgemm \(BLAS.coreName)"
    }

    /// Loads (memory-maps) the GGUF file at `model`, validates every tensor, and prepares the
    /// frontend.
    /// - Throws: `ParaformerError` naming what is wrong with the file or options.
    public init(model url: URL, options: RecognizerOptions = RecognizerOptions()) throws {
        guard options.maxDuration > 0 && options.maxDuration.isFinite else {
            throw ParaformerError.invalidOption(name: "maxDuration", reason: "\(options.maxDuration) is not a positive number of seconds")
        }
        guard options.batchSize >= 1 && options.batchSize <= 1024 else {
            throw ParaformerError.invalidOption(name: "batchSize", reason: "\(options.batchSize) is not between 1 and 1024")
        }
        if let t = options.threads {
            guard t >= 1 && t <= 1024 else {
                throw ParaformerError.invalidOption(name: "threads", reason: "\(t) is not between 1 and 1024")
            }
        }
        self.options = options
        file = try GGUFFile(path: url.path)
        if options.preload { file.preload() }
        let (family, loaded) = try ModelRegistry.load(file)
        let network = loaded as? any HotwordNetwork
        guard let model = (loaded as? ParaformerModel) ?? network?.base else {
            throw ParaformerError.invalidOption(
                name: "model", reason: "a \(family.name) model (\(family.kind.rawValue)) is not a speech recognizer this facade runs")
        }
        self.model = model
        let hp = model.hparams
        let tokens = try TokenTable(file: file, vocabSize: hp.vocabSize)
        self.tokens = tokens
        hotwordModel = try network.map { [file] in try HotwordModel(network: $0, file: file, tokens: tokens) }
        frontend = try OfflineFrontend(file: file, hparams: hp)
    }

    // MARK: - Transcription

    /// Transcribes one utterance: a file, samples, PCM bytes or sound-file bytes at any rate.
    /// A streaming model runs over the whole audio as FunASR's fake streaming does.
    /// - Throws: `ParaformerError` for audio that cannot be decoded, is empty, has a NaN or
    ///   infinite sample, or lasts longer than `options.maxDuration`.
    public func transcribe(_ input: AudioInput) throws -> RecognitionResult {
        let audio = try input.decoded(channel: options.channel)
        return try recognize([(audio.samples, audio.sampleRate)], source: audio.source)[0]
    }

    /// Transcribes several inputs, `options.batchSize` at a time through one padded forward
    /// pass. Results are the same as one by one.
    public func transcribe(batch inputs: [AudioInput]) throws -> [RecognitionResult] {
        try transcribe(batch: inputs.map {
            let audio = try $0.decoded(channel: options.channel)
            return AudioBuffer(unchecked: audio.samples, sampleRate: audio.sampleRate)
        })
    }

    /// Transcribes decoded buffers, `options.batchSize` at a time through one padded forward
    /// pass. Results are the same as one by one.
    public func transcribe(batch inputs: [AudioBuffer]) throws -> [RecognitionResult] {
        var results: [RecognitionResult] = []
        for range in batchRanges(inputs) {
            results += try recognize(inputs[range].map { ($0.samples, $0.sampleRate) }, source: "batch")
        }
        return results
    }

    /// Consecutive groups of `inputs` for one forward pass each: at most `options.batchSize`
    /// utterances and at most `options.maxDuration` seconds of padded audio (count × longest);
    /// an utterance longer than that alone is a group of its own (and refused by `recognize`).
    func batchRanges(_ inputs: [AudioBuffer]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        while start < inputs.count {
            var end = start
            var longest = 0.0
            while end < inputs.count && end - start < options.batchSize {
                let seconds = Double(inputs[end].samples.count) / Double(max(inputs[end].sampleRate, 1))
                let padded = max(longest, seconds) * Double(end - start + 1)
                if end > start && padded > options.maxDuration { break }
                longest = max(longest, seconds)
                end += 1
            }
            ranges.append(start..<end)
            start = end
        }
        return ranges
    }

    // MARK: - Pipeline

    /// Runs `body` with this recognizer's thread count (`options.threads`), leaving every
    /// other recognizer's and the process default alone.
    package func withOwnThreads<R>(_ body: () throws -> R) rethrows -> R {
        try Parallel.withThreads(options.threads, body)
    }

    /// Decodes utterances (biased towards `hotwords` for a SeACo or Contextual model).
    func recognize(
        _ inputs: [([Float], Int)], source: String, hotwords: HotwordList? = nil
    ) throws -> [RecognitionResult] {
        try withOwnThreads { try recognizeInScope(inputs, source: source, hotwords: hotwords) }
    }

    private func recognizeInScope(
        _ inputs: [([Float], Int)], source: String, hotwords: HotwordList?
    ) throws -> [RecognitionResult] {
        if model.hparams.architecture == .streaming {
            // FunASR runs a paraformer-online model over whole audio as fake streaming.
            return try inputs.map {
                try fakeStreaming(samples: $0.0, sampleRate: $0.1, source: source, options: StreamingOptions())
            }
        }
        let clock = ContinuousClock()
        var timings = StageTimings()
        var features: [Tensor] = []
        var durations: [Double] = []
        let t0 = clock.now
        for (samples, rate) in inputs {
            let seconds = Double(samples.count) / Double(max(rate, 1))
            if seconds > options.maxDuration {
                throw ParaformerError.invalidAudio(
                    source: source,
                    reason: String(format: "it lasts %.0f s, longer than the %.0f s decoded in one piece; split it (for example with VAD) or raise maxDuration", seconds, options.maxDuration))
            }
            let wave = try frontend.waveform(samples: samples, sampleRate: rate, source: source)
            durations.append(Double(wave.count) / Double(model.hparams.sampleRate))
            features.append(try frontend.features(samples: wave))
        }
        timings.frontend = (clock.now - t0).seconds

        let ws = pool.take()
        defer { pool.put(ws) }
        if let hotwordModel {
            return try hotwordModel.results(
                self, features: features, durations: durations, hotwords: hotwords, ws, timings: timings)
        }
        let outputs = model.run(features, ws, timings: &timings)
        var results: [RecognitionResult] = []
        for (b, out) in outputs.enumerated() {
            var r = makeResult(out, duration: durations[b])
            r.timings = timings
            results.append(r)
        }
        return results
    }

    /// Ids → FunASR's text, words and timestamps (paraformer/model.py `inference`, the tail).
    func makeResult(_ out: ParaformerModel.Output, duration: Double) -> RecognitionResult {
        let hp = model.hparams
        let kept = out.tokenIds.filter { $0 != hp.blankId && $0 != hp.sosId && $0 != hp.eosId }
        guard !kept.isEmpty else { return .empty(duration: duration) }
        let pieces = kept.map { tokens[$0] }
        let text = TextPostprocessor.text(from: pieces)
        let tokenTimes = TimestampPredictor.paraformerTimestamps(
            alphas: out.firing.alphas, tokens: pieces, order: options.timestampOrder)
        let (tsText, words, spans) = TextPostprocessor.postprocess(tokens: pieces, timestamps: tokenTimes)
        var tokenList: [Token] = []
        for (i, id) in kept.enumerated() {
            let span = i < tokenTimes.count ? tokenTimes[i] : TimestampSpan(startMs: 0, endMs: 0)
            tokenList.append(Token(id: id, text: pieces[i], startMs: span.startMs, endMs: span.endMs))
        }
        return RecognitionResult(
            text: text, timestampText: tsText, words: words,
            timestamps: spans.map { [$0.startMs, $0.endMs] }, tokens: tokenList,
            duration: duration, timings: StageTimings())
    }
}
