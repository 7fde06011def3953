import ParaformerCore
import ParaformerModels
import Foundation

/// How a stream cuts audio into chunks, with FunASR's names and defaults
/// (`examples/industrial_data_pretraining/paraformer_streaming/demo.py`).
public struct StreamingOptions: Sendable, Equatable, Codable {
    /// `chunk_size = [left, chunk, right]` in LFR frames of 60 ms: each chunk consumes
    /// `chunk · 960` samples (`[0, 10, 5]`: 600 ms, `[0, 8, 4]`: 480 ms); `right` frames of
    /// look-ahead are encoded with it (and counted by the next chunk); `left` frames of
    /// context are re-encoded. `left + right` must be at least 1.
    public var chunkSize: [Int]
    /// `encoder_chunk_look_back`: chunks of keys/values each encoder layer keeps from
    /// earlier windows (−1: all of them, 0: none).
    public var encoderChunkLookBack: Int
    /// `decoder_chunk_look_back`: chunks of encoder output the decoder's source attention
    /// keeps from earlier windows (0 or −1: none).
    public var decoderChunkLookBack: Int

    public init(chunkSize: [Int] = [0, 10, 5], encoderChunkLookBack: Int = 4, decoderChunkLookBack: Int = 1) {
        self.chunkSize = chunkSize
        self.encoderChunkLookBack = encoderChunkLookBack
        self.decoderChunkLookBack = decoderChunkLookBack
    }

    /// The checked geometry.
    /// - Throws: `.invalidChunkSize` unless `chunkSize` is three numbers with left and right
    ///   in 0...1000, chunk in 1...1000 and left + right ≥ 1 (FunASR keeps the whole window as
    ///   overlap when left + right = 0, so the windows would grow without bound);
    ///   `.invalidOption` for a look-back below −1 or above 1000.
    func geometry() throws -> ChunkGeometry {
        guard chunkSize.count == 3, (1...1000).contains(chunkSize[1]),
            (0...1000).contains(chunkSize[0]), (0...1000).contains(chunkSize[2]),
            chunkSize[0] + chunkSize[2] >= 1
        else { throw ParaformerError.invalidChunkSize(chunkSize) }
        for (name, v) in [
            ("encoderChunkLookBack", encoderChunkLookBack), ("decoderChunkLookBack", decoderChunkLookBack),
        ] where !(-1...1000).contains(v) {
            throw ParaformerError.invalidOption(name: name, reason: "\(v) is not between -1 and 1000")
        }
        return ChunkGeometry(
            left: chunkSize[0], chunk: chunkSize[1], right: chunkSize[2],
            encoderLookBack: encoderChunkLookBack, decoderLookBack: decoderChunkLookBack)
    }
}

/// What a stream recognised in one `accept` call.
///
/// FunASR's streaming output is incremental: each call returns the text of the tokens its
/// completed chunks produced, and nothing is ever revised.
public struct PartialResult: Sendable, Equatable {
    /// Tokens of the chunks this call completed (blank, `<s>`, `</s>` removed), in order.
    /// Times are those of the CIF fires: `endMs` is the fire's LFR frame × 60 ms, `startMs`
    /// the previous fire's (FunASR's streaming output has no timestamps).
    public var tokens: [Token]
    /// FunASR's `text` for this call (`sentence_postprocess` of `tokens`), possibly empty.
    public var text: String
    /// The text of every token since the stream started (`sentence_postprocess` of all).
    public var textSoFar: String
    /// Chunks this call completed (`accept` with less than a chunk of audio completes none).
    public var chunks: Int

    /// Ids of `tokens`.
    public var tokenIds: [Int] { tokens.map(\.id) }
}

/// One utterance recognised live with a streaming (paraformer-online) model, the way
/// FunASR's `ParaformerStreaming` runs it: audio in any pieces, a partial result after each
/// completed chunk, and `finish()` to flush.
///
/// ```swift
/// let stream = try recognizer.makeStream(options: StreamingOptions(chunkSize: [0, 10, 5]))
/// for piece in microphone { print(try stream.accept(samples: piece).text, terminator: "") }
/// print(try stream.finish().text)
/// ```
/// The stream holds every cache (online frontend, encoder look-back, CIF carry-over,
/// decoder FSMN memory and look-back) and its own scratch memory; the recognizer's weights
/// are shared read-only, so many streams can run at once on different threads. A stream
/// itself is used from one thread at a time. Feeding the same audio in different piece sizes
/// gives the same results.
public final class RecognitionStream {
    /// The options the stream was made with.
    public let options: StreamingOptions
    /// The rate `accept(samples:)` expects (the model's, 16000 Hz).
    public let sampleRate: Int
    /// Samples per chunk: chunk_size[1] · 960.
    public let chunkSamples: Int
    /// All tokens recognised since the stream started.
    public private(set) var tokens: [Token] = [] {
        didSet { textCache = nil }
    }
    /// The text of `tokens` (FunASR's `sentence_postprocess`).
    public var text: String {
        if let textCache { return textCache }
        let t = TextPostprocessor.text(from: tokens.map(\.text))
        textCache = t
        return t
    }
    private var textCache: String? = ""
    /// Chunks processed since the stream started.
    public private(set) var chunkCount = 0

    private let recognizer: Recognizer
    private let model: StreamingModel
    private let geometry: ChunkGeometry
    private let frontend: OnlineFrontend
    private let workspace = Workspace()
    private var state: StreamingModel.State
    private var pending: [Float] = []
    private var finished = false
    private var samplesSeen = 0
    private var timings = StageTimings()
    /// Stream LFR frame of the last fire (the next token's start).
    private var lastFireFrame = 0
    /// Per-chunk records for parity tests (`keepIntermediates`).
    var keepIntermediates = false
    private(set) var chunkOutputs: [StreamingModel.ChunkOutput] = []

    init(recognizer: Recognizer, options: StreamingOptions) throws {
        let hp = recognizer.hyperparameters
        guard hp.architecture == .streaming else {
            throw ParaformerError.invalidOption(
                name: "model", reason: "streaming needs a paraformer-streaming model, this one is \(hp.architecture.rawValue)")
        }
        geometry = try options.geometry()
        self.options = options
        self.recognizer = recognizer
        model = recognizer.streamingModel
        sampleRate = hp.sampleRate
        // FunASR: chunk_stride_samples = chunk_size[1] * 960 (60 ms LFR frames at 16 kHz).
        chunkSamples = geometry.chunk * Self.lfrFrameSamples(hp)
        frontend = OnlineFrontend(frontend: recognizer.frontend)
        state = model.makeState(geometry)
        pending.reserveCapacity(chunkSamples)
    }

    /// Samples per LFR frame: frame shift × lfr_n (960 at 16 kHz).
    static func lfrFrameSamples(_ hp: Hyperparameters) -> Int {
        hp.sampleRate * hp.frameShiftMs / 1000 * hp.lfrN
    }

    /// Feeds samples (mono, [-1, 1], at `sampleRate`; any count, 0 included) and runs every
    /// chunk they complete.
    /// - Returns: the tokens and text of the completed chunks (empty when none completed).
    /// - Throws: `.invalidAudio` for a NaN or infinite sample, `.streamFinished` after
    ///   `finish()` until `reset()`.
    public func accept(samples: [Float]) throws -> PartialResult {
        guard !finished else { throw ParaformerError.streamFinished }
        if let i = samples.firstIndex(where: { !$0.isFinite }) {
            throw ParaformerError.invalidAudio(
                source: "stream samples", reason: "sample \(samplesSeen + i) is \(samples[i]) (NaN or infinite)")
        }
        samplesSeen += samples.count
        let before = tokens.count
        var chunks = 0
        var offset = 0
        while offset < samples.count {
            let take = min(chunkSamples - pending.count, samples.count - offset)
            pending.append(contentsOf: samples[offset..<(offset + take)])
            offset += take
            if pending.count == chunkSamples {
                try runChunk(final: false)
                chunks += 1
            }
        }
        return partial(since: before, chunks: chunks)
    }

    /// Feeds 16-bit samples at `sampleRate`.
    public func accept(samples: [Int16]) throws -> PartialResult {
        try accept(samples: samples.map { Float($0) / 32768 })
    }

    /// Ends the utterance: the samples short of a chunk go through as FunASR's final chunk
    /// (`is_final=True`: the frontend flushes, the look-ahead counts, the CIF tail fires).
    /// After it, `accept` and `finish` throw `.streamFinished` until `reset()`.
    /// - Returns: the whole utterance: every token, and the text of all of them (FunASR's
    ///   text for the audio fed as one final call, e.g. its fake-streaming mode).
    public func finish() throws -> RecognitionResult {
        try finishPartial().result
    }

    /// `finish()`, also returning the final call's partial result (the tokens the last chunk
    /// added and FunASR's text for them).
    public func finishPartial() throws -> (partial: PartialResult, result: RecognitionResult) {
        guard !finished else { throw ParaformerError.streamFinished }
        let before = tokens.count
        try runChunk(final: true)
        finished = true
        let partial = partial(since: before, chunks: 1)
        let pieces = tokens.map(\.text)
        let (text, words) = TextPostprocessor.postprocess(tokens: pieces)
        let result = RecognitionResult(
            text: text, timestampText: words.joined(separator: " "), words: words, timestamps: [],
            tokens: tokens, duration: Double(samplesSeen) / Double(sampleRate), timings: timings)
        return (partial, result)
    }

    /// Forgets the utterance (all caches), ready for a new one with the same options.
    public func reset() {
        frontend.reset()
        model.reset(&state)
        pending.removeAll(keepingCapacity: true)
        tokens = []
        chunkCount = 0
        finished = false
        samplesSeen = 0
        timings = StageTimings()
        lastFireFrame = 0
        chunkOutputs = []
    }

    // MARK: - One chunk

    /// FunASR `ParaformerStreaming.inference`, the body of its per-stride loop.
    private func runChunk(final: Bool) throws {
        try recognizer.withOwnThreads { try runChunkInScope(final: final) }
    }

    private func runChunkInScope(final: Bool) throws {
        let clock = ContinuousClock()
        let hp = recognizer.hyperparameters
        // A final stride shorter than one LFR frame of samples (960) skips the frontend and
        // re-encodes the cached overlap rows (FunASR's `tail_chunk`); its samples are dropped.
        let tail = final && pending.count < Self.lfrFrameSamples(hp)
        var features: Tensor? = nil
        if !tail {
            let t0 = clock.now
            features = try frontend.accept(samples: pending, isFinal: final)
            timings.frontend += (clock.now - t0).seconds
        }
        pending.removeAll(keepingCapacity: true)
        let firstRow = state.encoder.startIndex - geometry.overlap  // stream frame of window row 0
        let out = model.step(
            features: features, tail: tail, final: final, state: &state,
            keepIntermediates: keepIntermediates, workspace, timings: &timings)
        if keepIntermediates { chunkOutputs.append(out) }
        chunkCount += 1
        // FunASR: paraformer_streaming/model.py generate_chunk — drop eos, sos, blank.
        let frameMs = hp.frameShiftMs * hp.lfrN
        for (j, id) in out.tokenIds.enumerated() where id != hp.eosId && id != hp.sosId && id != hp.blankId {
            let frame = max(firstRow + out.fireRows[j], 0)
            tokens.append(
                Token(id: id, text: recognizer.tokens[id], startMs: lastFireFrame * frameMs, endMs: frame * frameMs))
            lastFireFrame = frame
        }
        if final { model.reset(&state) }  // FunASR re-initialises its caches
    }

    private func partial(since start: Int, chunks: Int) -> PartialResult {
        let new = Array(tokens[start...])
        return PartialResult(
            tokens: new, text: new.isEmpty ? "" : TextPostprocessor.text(from: new.map(\.text)),
            textSoFar: text, chunks: chunks)
    }
}

extension Recognizer {
    /// A new stream over this recognizer's (streaming) model. Streams share the weights and
    /// may run concurrently; each holds its own caches.
    /// - Throws: `.invalidChunkSize` / `.invalidOption` for bad options, `.invalidOption`
    ///   when the model is not a `paraformer-streaming` model.
    public func makeStream(options: StreamingOptions = StreamingOptions()) throws -> RecognitionStream {
        try RecognitionStream(recognizer: self, options: options)
    }

    /// FunASR's fake streaming (`paraformer_fake_streaming`): the streaming model run over
    /// whole audio in chunks, as `generate(input=file, is_final=True, chunk_size=…)` does.
    /// `text` is FunASR's text of all the tokens.
    public func transcribeStreaming(_ input: AudioInput, options: StreamingOptions = StreamingOptions()) throws
        -> RecognitionResult
    {
        let audio = try input.decoded(channel: self.options.channel)
        return try fakeStreaming(samples: audio.samples, sampleRate: audio.sampleRate, source: audio.source, options: options)
    }

    func fakeStreaming(samples: [Float], sampleRate: Int, source: String, options: StreamingOptions) throws
        -> RecognitionResult
    {
        let wave = try frontend.waveform(samples: samples, sampleRate: sampleRate, source: source)
        let stream = try makeStream(options: options)
        _ = try stream.accept(samples: wave)
        return try stream.finish()
    }

    /// The streaming view of the model (built per call; it holds only references).
    var streamingModel: StreamingModel { StreamingModel(model) }
}
