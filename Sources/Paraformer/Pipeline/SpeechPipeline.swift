import Foundation
#if canImport(Glibc)
    /// glibc's `malloc_trim` (malloc.h is not in Swift's Glibc module).
    @_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
import ParaformerCore
import ParaformerModels

/// One VAD segment and its transcript, FunASR's per-segment result inside
/// `AutoModel.inference_with_vad`.
public struct TranscribedSegment: Sendable, Equatable {
    /// The segment, in ms from the start of the audio.
    public var segment: SpeechSegment
    /// The recogniser's result on the segment's samples (times relative to the segment).
    public var result: RecognitionResult
    /// FunASR's segment text as `generate(output_timestamp=True)` gives it (words joined by
    /// spaces); "" when nothing was recognised.
    public var text: String { result.timestampText }
    /// Word spans offset by the segment's start: `[start_ms, end_ms]` in the whole audio.
    public var timestamps: [[Int]] { result.timestamps.map { [$0[0] + segment.startMs, $0[1] + segment.startMs] } }
}

/// The transcript of a whole recording, FunASR's `AutoModel(model, vad_model).generate(...)`
/// result: segment texts joined with single spaces, timestamps offset by each segment's start.
public struct PipelineResult: Sendable, Equatable {
    /// FunASR's `text`: the segments' texts joined with " " (in time order); with a punctuation
    /// model, the punctuated text.
    public var text: String
    /// FunASR's `timestamp`: every word's `[start_ms, end_ms]` in the whole audio.
    public var timestamps: [[Int]]
    /// The segments and their transcripts, in time order.
    public var segments: [TranscribedSegment]
    /// Seconds of audio (at the model rate).
    public var duration: Double
    /// FunASR's `raw_text` (the space-joined ASR text) when punctuation was applied.
    public var rawText: String?
    /// The punctuation model's input and its `punc_array`, when punctuation was applied.
    public var punctuationInput: String?
    public var puncArray: [Int]?
    /// CPU seconds (of the calling thread) spent in each stage.
    public var timings = PipelineTimings()

    /// Joins per-segment transcripts exactly as `AutoModel.inference_with_vad` does.
    public init(segments: [TranscribedSegment], duration: Double) {
        self.segments = segments
        self.duration = duration
        text = segments.map(\.text).joined(separator: " ")
        timestamps = segments.flatMap(\.timestamps)
    }

    /// FunASR drops an utterance whose joined text is blank from its result list.
    public var isBlank: Bool { text.trimmingCharacters(in: .whitespaces).isEmpty }

    /// Punctuates the joined text as `inference_with_vad` does (input: `joinForPunctuation`
    /// of the segment texts; `text` becomes the punctuated text, `rawText` the unpunctuated).
    public mutating func punctuate(with punctuator: Punctuator) {
        guard !isBlank else { return }
        let input = Self.joinForPunctuation(segments.map(\.text))
        let t0 = PipelineTimings.threadCPUTime()
        let r = punctuator.punctuate(input)
        timings.punctuation += PipelineTimings.threadCPUTime() - t0
        rawText = text
        punctuationInput = input
        puncArray = r.puncArray
        text = r.text
    }

    /// FunASR's `sentence_info` (`generate(..., sentence_timestamp=True)`): with punctuation,
    /// `timestamp_sentence` over the punctuation array (or the per-segment sentences when the
    /// array does not align with the timestamps, as FunASR falls back); without punctuation
    /// FunASR gives none, and this returns one sentence per segment (what subtitles need).
    public var sentences: [Sentence] {
        if isBlank { return [] }
        guard let puncArray, let input = punctuationInput else { return Self.segmentSentences(segments) }
        if puncArray.count != timestamps.count { return Self.segmentSentences(segments) }
        return Self.timestampSentences(puncArray: puncArray, timestamps: timestamps, text: input)
    }
}

/// CPU seconds of the calling thread spent in each stage of the pipeline (the engine's
/// matrix products run on that thread with one thread configured).
public struct PipelineTimings: Sendable, Equatable {
    /// Reading and decoding the audio file.
    public var read = 0.0
    /// FSMN-VAD: frontend, network, state machine.
    public var vad = 0.0
    /// Recognition of the segments.
    public var asr = 0.0
    public var punctuation = 0.0
    public init() {}

    /// CPU seconds the calling thread has used.
    public static func threadCPUTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// Options of a `SpeechPipeline`.
public struct PipelineOptions: Sendable, Equatable {
    /// How the VAD cuts (FunASR's defaults: the dynamic silence schedule, 60 s chunks).
    public var vad: VADOptions
    /// Samples read from a file per block (bounded-memory decoding), at the file's rate.
    public var readBlockFrames: Int

    public init(vad: VADOptions = VADOptions(), readBlockFrames: Int = 1 << 16) {
        self.vad = vad
        self.readBlockFrames = readBlockFrames
    }
}

/// VAD → ASR, FunASR's `AutoModel(model=..., vad_model=...)`: the VAD cuts the audio into
/// segments, each segment is recognised on its own (FunASR on CPU decodes one segment per
/// batch), and the transcripts are joined. Files are read and analysed incrementally: each
/// segment is decoded as soon as the VAD closes it, so memory does not grow with the length
/// of the recording (at most one VAD chunk and one segment of audio are held).
///
/// Read-only after `init`; share it across threads.
public final class SpeechPipeline: Sendable {
    public let recognizer: Recognizer
    public let vad: VoiceActivityDetector
    /// Restores punctuation in the joined text (FunASR's `punc_model`), when given.
    public let punctuator: Punctuator?
    public let options: PipelineOptions

    public init(recognizer: Recognizer, vad: VoiceActivityDetector, punctuator: Punctuator? = nil,
                options: PipelineOptions = PipelineOptions()) throws {
        try options.vad.validate()
        guard options.readBlockFrames >= 1 && options.readBlockFrames <= 1 << 26 else {
            throw ParaformerError.invalidOption(name: "readBlockFrames", reason: "\(options.readBlockFrames) is out of range")
        }
        guard recognizer.hyperparameters.sampleRate == vad.sampleRate else {
            throw ParaformerError.invalidOption(
                name: "vad", reason: "the VAD runs at \(vad.sampleRate) Hz and the recogniser at \(recognizer.hyperparameters.sampleRate) Hz")
        }
        self.recognizer = recognizer
        self.vad = vad
        self.punctuator = punctuator
        self.options = options
    }

    /// Loads the models: ASR, VAD and (optionally) punctuation.
    public convenience init(modelPath: String, vadModelPath: String, puncModelPath: String? = nil,
                            recognizerOptions: RecognizerOptions = RecognizerOptions(),
                            options: PipelineOptions = PipelineOptions()) throws {
        try self.init(recognizer: Recognizer(modelPath: modelPath, options: recognizerOptions),
                      vad: VoiceActivityDetector(modelPath: vadModelPath),
                      punctuator: puncModelPath.map { try Punctuator(modelPath: $0) }, options: options)
    }

    private func finish(_ segments: [TranscribedSegment], duration: Double, timings: PipelineTimings) -> PipelineResult {
        var r = PipelineResult(segments: segments, duration: duration)
        r.timings = timings
        if let punctuator { r.punctuate(with: punctuator) }
        return r
    }

    /// Transcribes mono samples in [-1, 1] at `sampleRate`.
    public func transcribe(samples: [Float], sampleRate: Int) throws -> PipelineResult {
        let wave = try vad.model.frontend.waveform(samples: samples, sampleRate: sampleRate)
        let session = try PipelineSession(pipeline: self)
        var segments = try session.feed(wave, isFinal: false)
        segments += try session.feed([], isFinal: true)
        return finish(segments, duration: Double(wave.count) / Double(vad.sampleRate), timings: session.timings)
    }

    /// Transcribes a sound file in bounded memory.
    /// - Parameters:
    ///   - onSegment: called with each segment as soon as it is decoded.
    ///   - progress: called after each block with (seconds read, seconds declared by the header).
    public func transcribe(file url: URL, channel: ChannelSelection = .mix,
                           onSegment: ((TranscribedSegment) throws -> Void)? = nil,
                           progress: ((Double, Double) -> Void)? = nil) throws -> PipelineResult {
        var all: [TranscribedSegment] = []
        var timings = PipelineTimings()
        let duration = try forEachSegment(file: url, channel: channel, progress: progress, timings: &timings) {
            all.append($0)
            try onSegment?($0)
        }
        return finish(all, duration: duration, timings: timings)
    }

    /// Decodes `url` block by block, calling `body` with each segment in time order.
    /// - Returns: the audio's duration in seconds.
    @discardableResult
    public func forEachSegment(file url: URL, channel: ChannelSelection = .mix,
                               progress: ((Double, Double) -> Void)? = nil,
                               _ body: (TranscribedSegment) throws -> Void) throws -> Double {
        var timings = PipelineTimings()
        return try forEachSegment(file: url, channel: channel, progress: progress, timings: &timings, body)
    }

    func forEachSegment(file url: URL, channel: ChannelSelection, progress: ((Double, Double) -> Void)?,
                        timings: inout PipelineTimings, _ body: (TranscribedSegment) throws -> Void) throws -> Double {
        let reader = try AudioFileReader(url: url, channel: channel)
        let rate = vad.sampleRate
        if reader.sampleRate != rate {
            // The resampler works on whole signals (torchaudio's numerics): other rates are
            // read whole, then cut as usual.
            let audio = try AudioDecoder.load(contentsOf: url, channel: channel)
            let wave = try vad.model.frontend.waveform(samples: audio.samples, sampleRate: audio.sampleRate)
            let session = try PipelineSession(pipeline: self)
            for s in try session.feed(wave, isFinal: false) { try body(s) }
            for s in try session.feed([], isFinal: true) { try body(s) }
            timings = session.timings
            return Double(wave.count) / Double(rate)
        }
        let session = try PipelineSession(pipeline: self)
        var read = 0
        let total = Double(reader.declaredFrames) / Double(rate)
        defer { timings = session.timings }
        while true {
            let r0 = PipelineTimings.threadCPUTime()
            let block = try reader.read(frames: options.readBlockFrames)
            session.timings.read += PipelineTimings.threadCPUTime() - r0
            if block.isEmpty { break }
            read += block.count
            for s in try session.feed(block, isFinal: false) { try body(s) }
            progress?(Double(read) / Double(rate), total)
        }
        if read == 0 { throw ParaformerError.emptyAudio(source: url.path) }
        for s in try session.feed([], isFinal: true) { try body(s) }
        return Double(read) / Double(rate)
    }

    /// The segments of a file as an asynchronous sequence, decoded in the background as the
    /// file is read.
    public func segments(file url: URL, channel: ChannelSelection = .mix) -> AsyncThrowingStream<TranscribedSegment, Error> {
        AsyncThrowingStream { continuation in
            let task = Task.detached { [self] in
                do {
                    try self.forEachSegment(file: url, channel: channel) { s in
                        try Task.checkCancellation()
                        continuation.yield(s)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// One pass of the pipeline over one recording: the VAD stream (offline mode, FunASR's 60 s
/// chunks) and the audio not yet behind a closed segment.
final class PipelineSession {
    let pipeline: SpeechPipeline
    private let vadStream: FSMNVADSession
    /// Samples from absolute index `bufferStart` on.
    private var buffer: [Float] = []
    private var bufferStart = 0
    private var total = 0
    var timings = PipelineTimings()

    init(pipeline: SpeechPipeline) throws {
        self.pipeline = pipeline
        vadStream = try FSMNVADSession(detector: pipeline.vad.model, options: pipeline.options.vad, streamingEvents: false)
    }

    /// Appends samples (model rate) and returns the segments that closed, decoded.
    func feed(_ samples: [Float], isFinal: Bool) throws -> [TranscribedSegment] {
        buffer.append(contentsOf: samples)
        total += samples.count
        let t0 = PipelineTimings.threadCPUTime()
        let closed = try vadStream.segments(samples, isFinal: isFinal)
        let t1 = PipelineTimings.threadCPUTime()
        timings.vad += t1 - t0
        defer { timings.asr += PipelineTimings.threadCPUTime() - t1 }
        var out: [TranscribedSegment] = []
        for seg in closed {
            // FunASR: speech[int(start_ms · 16) : min(int(end_ms · 16), N)] (16 samples per ms,
            // hard-coded in slice_padding_audio_samples).
            let perMs = pipeline.vad.sampleRate / 1000
            let from = seg.startMs * perMs
            let to = min(seg.endMs * perMs, total)
            guard from >= bufferStart, to > from else {
                throw ParaformerError.invalidAudio(source: "pipeline", reason: "segment \(seg.startMs)–\(seg.endMs) ms is outside the buffered audio")
            }
            let piece = Array(buffer[(from - bufferStart)..<(to - bufferStart)])
            let result = try pipeline.recognizer.transcribe(.samples(piece, sampleRate: pipeline.vad.sampleRate))
            out.append(TranscribedSegment(segment: seg, result: result))
        }
        #if canImport(Glibc)
            // Segments of every length come and go for hours: give freed heap pages back to the
            // system, or glibc's heap keeps growing with fragments (peak RSS then grows with the
            // length of the recording).
            if !closed.isEmpty { _ = glibcMallocTrim(0) }
        #endif
        // Audio before the earliest sample a future segment can start at is no longer needed.
        let keepFrom = min(vadStream.earliestPendingSample, total)
        // (Dropped in large steps: removing from the front copies what stays.)
        if keepFrom - bufferStart > max(buffer.count / 2, 1 << 18) {
            buffer.removeFirst(keepFrom - bufferStart)
            bufferStart = keepFrom
        }
        return out
    }
}
