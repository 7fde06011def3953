import Foundation
import ParaformerCore
import ParaformerModels

/// FSMN-VAD (FunASR's `FsmnVADStreaming`): finds the speech segments of audio, offline or
/// chunk by chunk, exactly as FunASR 1.4.16 does.
///
/// Read-only after `init` and safe to share: every `detect` call and every `VADStream` has its
/// own state.
/// ```swift
/// let vad = try VoiceActivityDetector(modelPath: "fsmn-vad.gguf")
/// for s in try vad.detect(file: URL(fileURLWithPath: "talk.wav")) { print(s.startMs, s.endMs) }
/// ```
public final class VoiceActivityDetector: Sendable {
    let model: FSMNVADModel
    /// The model's configuration.
    public var configuration: FSMNVADConfiguration { model.configuration }

    /// Loads (memory-maps) an FSMN-VAD GGUF file and binds every tensor.
    /// - Throws: `ParaformerError` naming what is wrong with the file (or `.invalidOption` for
    ///   a model of another kind).
    public init(modelPath: String) throws {
        let file = try GGUFFile(path: modelPath)
        let (family, loaded) = try ModelRegistry.load(file)
        guard let model = loaded as? FSMNVADModel else {
            throw ParaformerError.invalidOption(
                name: "model", reason: "a \(family.name) model (\(family.kind.rawValue)) is not a voice activity detector")
        }
        self.model = model
    }

    /// The rate the detector analyses (16000 for the released model).
    public var sampleRate: Int { model.sampleRate }

    /// The segments of mono samples in [-1, 1] at `sampleRate` (resampled to the model's rate),
    /// FunASR's offline `generate(input=...)[0]["value"]`.
    public func detect(samples: [Float], sampleRate rate: Int, options: VADOptions = VADOptions()) throws
        -> [SpeechSegment]
    {
        try options.validate()
        if samples.isEmpty { return [] }
        let wave = try model.frontend.waveform(samples: samples, sampleRate: rate)
        let session = try FSMNVADSession(detector: model, options: options, streamingEvents: false)
        return try session.segments(wave, isFinal: true)
    }

    /// The segments of a sound file (any format libsndfile reads, any rate; channels averaged).
    public func detect(file url: URL, options: VADOptions = VADOptions()) throws -> [SpeechSegment] {
        let audio = try AudioDecoder.load(contentsOf: url, channel: .mix)
        return try detect(samples: audio.samples, sampleRate: audio.sampleRate, options: options)
    }

    /// A stream for chunked input at the model's rate (FunASR's `generate(..., cache=, is_final=)`
    /// with `chunk_size = options.chunkSizeMs`); events come out as segments open and close.
    public func makeStream(options: VADOptions = VADOptions(chunkSizeMs: 200)) throws -> VADStream {
        VADStream(try FSMNVADSession(detector: model, options: options, streamingEvents: true))
    }
}

/// Chunked input through the VAD (FunASR's `generate(..., cache=, is_final=)` with
/// `chunk_size = options.chunkSizeMs`): each `accept` behaves as one FunASR call with that cache;
/// the samples are appended to the leftover of the previous call and cut into `chunkSizeMs`
/// pieces (a partial piece waits unless `isFinal`). One per audio stream; not thread-safe.
public final class VADStream {
    let session: FSMNVADSession
    init(_ session: FSMNVADSession) { self.session = session }

    /// The options it runs with.
    public var options: VADOptions { session.options }

    /// Feeds samples (mono, [-1, 1], at the detector's `sampleRate`).
    /// - Parameter isFinal: the last call; it flushes everything and closes an open segment.
    /// - Returns: FunASR's events of this call, in order.
    /// - Throws: `.invalidAudio` for NaN or infinite samples, `.streamFinished` after a final call.
    public func accept(samples: [Float], isFinal: Bool = false) throws -> [VADEvent] {
        try session.accept(samples: samples, isFinal: isFinal)
    }

    /// Flushes the stream (FunASR would ignore a final call without samples; this closes it).
    public func finish() throws -> [VADEvent] { try session.finish() }
}

