import Foundation
import ParaformerCore
import ParaformerModels

/// Speech recognition with a UniASR model (`general.architecture` = `uniasr`): whole
/// utterances decoded by beam search in one of three `UniASRDecodingMode`s.
///
/// The mode is an argument of every call: FunASR builds its beam search on a model's first
/// call and keeps that call's mode for the model's lifetime; here one loaded model serves all
/// three modes. Read-only after `init` and safe to share across threads.
/// ```swift
/// let recognizer = try UniASRRecognizer(modelPath: "uniasr.gguf")
/// let r = try recognizer.transcribe(.file(URL(fileURLWithPath: "a.wav")), decodingMode: .offline)
/// ```
public final class UniASRRecognizer: Sendable {
    public let options: RecognizerOptions
    /// The model's vocabulary.
    public let tokens: TokenTable
    let model: UniASRModel
    let frontend: OfflineFrontend
    private let pool = WorkspacePool()

    /// Every mode a UniASR model decodes in.
    public var decodingModes: [UniASRDecodingMode] { UniASRDecodingMode.allCases }
    /// The mode of a call that names none: the file's (FunASR's default, "normal").
    public var defaultDecodingMode: UniASRDecodingMode { model.config.defaultMode }
    /// The sample rate the model's frontend runs at (Hz).
    public var sampleRate: Int { model.config.sampleRate }

    /// Whether `path` is a UniASR model file.
    public static func isUniASRModel(path: String) -> Bool {
        guard let file = try? GGUFFile(path: path) else { return false }
        return (try? ModelRegistry.architecture(of: file)) == UniASRModel.architecture
    }

    /// Loads (memory-maps) and validates a UniASR GGUF file.
    public init(modelPath: String, options: RecognizerOptions = RecognizerOptions()) throws {
        if let t = options.threads, !(1...1024).contains(t) {
            throw ParaformerError.invalidOption(name: "threads", reason: "\(t) is not between 1 and 1024")
        }
        guard options.maxDuration > 0 && options.maxDuration.isFinite else {
            throw ParaformerError.invalidOption(
                name: "maxDuration", reason: "\(options.maxDuration) is not a positive number of seconds")
        }
        self.options = options
        let file = try GGUFFile(path: modelPath)
        if options.preload { file.preload() }
        let (family, loaded) = try ModelRegistry.load(file)
        guard let model = loaded as? UniASRModel else {
            throw ParaformerError.invalidOption(
                name: "model", reason: "a \(family.name) model is not a UniASR model (use Recognizer)")
        }
        self.model = model
        tokens = try TokenTable(file: file, vocabSize: model.config.vocabSize)
        frontend = try OfflineFrontend(uniasr: file, model.config)
    }

    /// Transcribes one utterance in `decodingMode` (nil: `defaultDecodingMode`). Below one
    /// predicted token (Σα < 1, about 0.1 s of noise) the result is empty, where FunASR fails.
    public func transcribe(_ input: AudioInput, decodingMode: UniASRDecodingMode? = nil) throws
        -> RecognitionResult
    {
        let audio = try input.decoded(channel: options.channel)
        return try recognize(audio.samples, audio.sampleRate, source: audio.source, mode: decodingMode)
    }

    /// Transcribes decoded buffers one by one (FunASR decodes UniASR with batch 1).
    public func transcribe(batch inputs: [AudioBuffer], decodingMode: UniASRDecodingMode? = nil) throws
        -> [RecognitionResult]
    {
        try inputs.map { try recognize($0.samples, $0.sampleRate, source: "batch", mode: decodingMode) }
    }

    private func recognize(_ samples: [Float], _ rate: Int, source: String, mode: UniASRDecodingMode?) throws
        -> RecognitionResult
    {
        try Parallel.withThreads(options.threads) {
            let seconds = Double(samples.count) / Double(max(rate, 1))
            if seconds > options.maxDuration {
                throw ParaformerError.invalidAudio(
                    source: source,
                    reason: String(
                        format: "it lasts %.0f s, longer than the %.0f s decoded in one piece; split it (for example with VAD) or raise maxDuration",
                        seconds, options.maxDuration))
            }
            let clock = ContinuousClock()
            let t0 = clock.now
            let wave = try frontend.waveform(samples: samples, sampleRate: rate, source: source)
            let duration = Double(wave.count) / Double(model.config.sampleRate)
            let features = try frontend.features(samples: wave)
            let frontendSeconds = (clock.now - t0).seconds
            let ws = pool.take()
            defer { pool.put(ws) }
            let out = model.run(features, mode: mode ?? model.config.defaultMode, ws)
            var timings = out.timings
            timings.frontend = frontendSeconds
            guard !out.tokenIds.isEmpty else {
                var r = RecognitionResult.empty(duration: duration)
                r.timings = timings
                return r
            }
            // FunASR's UniASR returns no timestamps.
            let pieces = out.tokenIds.map { tokens[$0] }
            let (text, words) = TextPostprocessor.postprocess(tokens: pieces)
            let list = zip(out.tokenIds, pieces).map { Token(id: $0, text: $1, startMs: 0, endMs: 0) }
            return RecognitionResult(
                text: text, timestampText: text, words: words, timestamps: [], tokens: list,
                duration: duration, timings: timings)
        }
    }
}
