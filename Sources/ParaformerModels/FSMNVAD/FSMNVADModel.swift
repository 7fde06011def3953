import Foundation
import ParaformerCore

/// One speech segment, in milliseconds from the start of the audio: FunASR's `[start, end]`.
public struct SpeechSegment: Sendable, Codable, Equatable, Hashable {
    public var startMs: Int
    public var endMs: Int
    public init(startMs: Int, endMs: Int) {
        self.startMs = startMs
        self.endMs = endMs
    }
    /// Length in milliseconds.
    public var durationMs: Int { endMs - startMs }
}

/// A streaming VAD event, FunASR's `[beg, -1]` (a segment opened), `[-1, end]` (it closed) or
/// `[beg, end]` (both within one call).
public struct VADEvent: Sendable, Codable, Equatable, Hashable {
    /// Start of the segment in ms when this event opens it.
    public var startMs: Int?
    /// End of the segment in ms when this event closes it.
    public var endMs: Int?
    public init(startMs: Int?, endMs: Int?) {
        self.startMs = startMs
        self.endMs = endMs
    }
    /// FunASR's pair, −1 for a side not in this event.
    public var pair: [Int] { [startMs ?? -1, endMs ?? -1] }
}

/// How segments are cut. The defaults are FunASR 1.4.16's: the dynamic silence schedule is on
/// unless `maxEndSilenceTime` is given.
public struct VADOptions: Sendable, Equatable {
    /// One step of the dynamic schedule: while the accumulated speech is at most `upToMs`,
    /// `silenceMs` of silence ends a segment.
    public struct SilenceStep: Sendable, Equatable {
        public var upToMs: Double
        public var silenceMs: Int
        public init(upToMs: Double, silenceMs: Int) {
            self.upToMs = upToMs
            self.silenceMs = silenceMs
        }
    }

    /// FunASR 1.4.16's `DEFAULT_SILENCE_SCHEDULE` (used offline and streaming).
    public static let funasrSchedule: [SilenceStep] = [
        .init(upToMs: 10000, silenceMs: 2000), .init(upToMs: 20000, silenceMs: 1000),
        .init(upToMs: 30000, silenceMs: 800), .init(upToMs: 40000, silenceMs: 600),
        .init(upToMs: 50000, silenceMs: 400), .init(upToMs: 60000, silenceMs: 200),
        .init(upToMs: .infinity, silenceMs: 100),
    ]

    /// FunASR's `max_end_silence_time` (ms): the silence that ends a segment. Giving it turns the
    /// dynamic schedule off (as in FunASR); `nil` keeps the model's value and the schedule.
    public var maxEndSilenceTime: Int?
    /// FunASR's `dynamic_silence`; `nil` means "on unless `maxEndSilenceTime` is given".
    public var dynamicSilence: Bool?
    /// The schedule when dynamic silence is on.
    public var silenceSchedule: [SilenceStep]
    /// FunASR's `speech_noise_thres` override (the schedule sets 0.5 whenever it is active).
    public var speechNoiseThreshold: Double?
    /// FunASR's `chunk_size` (ms): audio is analysed in pieces of this length, and the schedule
    /// advances once per piece. 60000 offline (FunASR's default); streaming callers use
    /// FunASR's streaming value (200 in its examples).
    public var chunkSizeMs: Int

    public init(maxEndSilenceTime: Int? = nil, dynamicSilence: Bool? = nil,
                silenceSchedule: [SilenceStep] = VADOptions.funasrSchedule,
                speechNoiseThreshold: Double? = nil, chunkSizeMs: Int = 60000) {
        self.maxEndSilenceTime = maxEndSilenceTime
        self.dynamicSilence = dynamicSilence
        self.silenceSchedule = silenceSchedule
        self.speechNoiseThreshold = speechNoiseThreshold
        self.chunkSizeMs = chunkSizeMs
    }

    /// Whether the dynamic schedule runs.
    public var usesDynamicSilence: Bool { dynamicSilence ?? (maxEndSilenceTime == nil) }

    package func validate() throws {
        guard chunkSizeMs >= 1 && chunkSizeMs <= 3_600_000 else {
            throw ParaformerError.invalidOption(name: "chunkSizeMs", reason: "\(chunkSizeMs) is not between 1 and 3600000 ms")
        }
        if let m = maxEndSilenceTime, m < 0 || m > 10_000_000 {
            throw ParaformerError.invalidOption(name: "maxEndSilenceTime", reason: "\(m) is not between 0 and 10000000 ms")
        }
        if let t = speechNoiseThreshold, !t.isFinite {
            throw ParaformerError.invalidOption(name: "speechNoiseThreshold", reason: "\(t) is not a finite number")
        }
        if usesDynamicSilence && silenceSchedule.isEmpty {
            throw ParaformerError.invalidOption(name: "silenceSchedule", reason: "it is empty")
        }
    }
}

/// A loaded FSMN-VAD model (FunASR's `FsmnVADStreaming`): its configuration, network and
/// frontend. Read-only; every `FSMNVADSession` keeps its own state.
package final class FSMNVADModel: LoadedModel, @unchecked Sendable {
    package let file: GGUFFile
    package let configuration: FSMNVADConfiguration
    package let encoder: FSMNEncoder
    /// The frontend's configuration (fbank, LFR 5/1, the VAD's own CMVN); streams run it online.
    package let frontend: OfflineFrontend

    package static let family = ModelFamily(
        name: "FSMN-VAD", architectures: [FSMNVADConfiguration.architecture], kind: .voiceActivityDetection,
        load: { try FSMNVADModel(file: $0) })

    /// Binds every tensor of `file`.
    package init(file: GGUFFile) throws {
        self.file = file
        let c = try FSMNVADConfiguration(file)
        configuration = c
        let store = WeightStore(file, linearLayout: .outIn)
        encoder = try FSMNEncoder(store, config: c)
        try store.checkAllUsed()
        frontend = try OfflineFrontend(
            cmvnShift: c.cmvnShift, cmvnScale: c.cmvnScale, lfrM: c.lfrM, lfrN: c.lfrN,
            fbank: FbankOptions(sampleRate: c.sampleRate, numMelBins: c.nMels,
                                frameLengthMs: Double(c.frameLengthMs), frameShiftMs: Double(c.frameShiftMs)))
    }

    /// The rate the detector analyses (16000 for the released model).
    package var sampleRate: Int { configuration.sampleRate }
}

/// The state of one VAD run over one audio stream (FunASR's `cache`): frontend caches, the
/// FSMN memory, the state machine and the dynamic schedule. Not thread-safe; one per stream.
///
/// Each `accept` behaves as one FunASR `generate` call with that cache: the samples are
/// appended to the leftover of the previous call and cut into `chunkSizeMs` pieces; a partial
/// piece waits for the next call unless `isFinal`.
package final class FSMNVADSession {
    package let options: VADOptions
    let detector: FSMNVADModel
    /// FunASR's `is_streaming_input`: events ([beg,-1], [-1,end]) rather than whole segments.
    package let streamingEvents: Bool
    private let frontend: OnlineFrontend
    private var encoderState: FSMNEncoder.State
    private var machine: VADStateMachine
    private let ws = Workspace()
    /// `cache["prev_samples"]`: the partial piece waiting for more audio.
    private var pending: [Float] = []
    /// Samples from `levelStart` on, for the frame levels (dB) of frames not yet analysed.
    private var levelSamples: [Float] = []
    private var levelStart = 0
    /// VAD frames analysed so far (FunASR's `frm_cnt`).
    package private(set) var frameCount = 0
    /// The dynamic schedule's accumulated speech and whether it is counting.
    private var accumulatedMs = 0
    private var inSpeech = false
    private var finished = false
    /// Samples consumed so far (at the model rate).
    package private(set) var sampleCount = 0

    package init(detector: FSMNVADModel, options: VADOptions, streamingEvents: Bool) throws {
        try options.validate()
        self.detector = detector
        self.options = options
        self.streamingEvents = streamingEvents
        let c = detector.configuration
        frontend = OnlineFrontend(frontend: detector.frontend)
        encoderState = FSMNEncoder.State(config: c)
        machine = VADStateMachine(
            config: c, maxEndSilenceTime: options.maxEndSilenceTime ?? c.maxEndSilenceTime,
            speechNoiseThreshold: options.speechNoiseThreshold ?? c.speechNoiseThres)
    }

    /// Feeds samples (mono, [-1, 1], at the detector's `sampleRate`).
    /// - Parameter isFinal: the last call; it flushes everything and closes an open segment.
    /// - Returns: FunASR's events of this call, in order.
    /// - Throws: `.invalidAudio` for NaN or infinite samples, `.streamFinished` after a final call.
    package func accept(samples: [Float], isFinal: Bool = false) throws -> [VADEvent] {
        guard streamingEvents else { return try segments(samples, isFinal: isFinal).map { VADEvent(startMs: $0.startMs, endMs: $0.endMs) } }
        return try run(samples, isFinal: isFinal).events
    }

    /// Flushes the stream (`accept(samples: [], isFinal: true)`).
    package func finish() throws -> [VADEvent] { try accept(samples: [], isFinal: true) }

    /// The earliest sample (at the model rate, from the stream's start) that a segment not yet
    /// returned can start at: audio before it will not be asked for again.
    package var earliestPendingSample: Int { machine.earliestPendingFrame * detector.configuration.frameShiftSamples }

    /// Offline use: whole segments as they complete (all remaining ones when final).
    package func segments(_ samples: [Float], isFinal: Bool) throws -> [SpeechSegment] {
        try run(samples, isFinal: isFinal).segments
    }

    // FunASR: fsmn_vad_streaming/model.py FsmnVADStreaming.inference (the loop over pieces)
    private func run(_ samples: [Float], isFinal: Bool) throws -> (events: [VADEvent], segments: [SpeechSegment]) {
        guard !finished else { throw ParaformerError.streamFinished }
        if let i = samples.firstIndex(where: { !$0.isFinite }) {
            throw ParaformerError.invalidAudio(source: "VAD samples", reason: "sample \(i) is \(samples[i]) (NaN or infinite)")
        }
        finished = isFinal
        let stride = options.chunkSizeMs * detector.configuration.sampleRate / 1000
        // No copy of `samples` when nothing is pending (the whole-file case).
        let audio = pending.isEmpty ? samples : pending + samples
        // FunASR returns at once from a call without new samples, even a final one, and so
        // never flushes the stream; here a final call always flushes (and an empty stream
        // has nothing to flush).
        if audio.isEmpty { return ([], []) }
        let pieces = audio.count / stride + (isFinal ? 1 : 0)
        var events: [VADEvent] = []
        var segments: [SpeechSegment] = []
        for i in 0..<pieces {
            let last = isFinal && i == pieces - 1
            let piece = audio[(i * stride)..<min((i + 1) * stride, audio.count)]
            let (e, s) = try process(piece, isFinal: last)
            events += e
            segments += s
        }
        let consumed = isFinal ? audio.count : (audio.count / stride) * stride
        pending = Array(audio[consumed...])
        return (events, segments)
    }

    /// One piece: schedule, features, scores, frame decisions, output.
    private func process(_ piece: ArraySlice<Float>, isFinal: Bool) throws -> ([VADEvent], [SpeechSegment]) {
        let c = detector.configuration
        let hop = c.frameShiftSamples
        let win = c.frameLengthSamples
        let dynamic = options.usesDynamicSilence
        if dynamic {
            if machine.state == .inSpeechSegment || inSpeech {
                accumulatedMs += options.chunkSizeMs
                inSpeech = true
            }
            for step in options.silenceSchedule where Double(accumulatedMs) <= step.upToMs {
                machine.maxEndSilenceThresholdMs = max(step.silenceMs - c.speechToSilTimeThres, 0)
                machine.speechNoiseThreshold = 0.5
                break
            }
        }
        sampleCount += piece.count
        levelSamples.append(contentsOf: piece)
        // The piece's silence probabilities, computed in sub-pieces of at most `block` frames
        // (the frontend and the FSMN memory are chunking-exact), so that features and
        // activations stay a few MB however long the piece; decisions then run over all of them.
        let block = 1024
        let subPiece = block * hop
        var silence: [Double] = []
        silence.reserveCapacity(piece.count / hop + 1)
        let silencePdfs = c.silPdfIds
        var start = piece.startIndex
        repeat {
            let end = min(start + subPiece, piece.endIndex)
            let lastSub = end == piece.endIndex
            let feats = try frontend.accept(samples: Array(piece[start..<end]), isFinal: isFinal && lastSub)  // [n, 400]
            var from = 0
            while from < feats.rows {
                let n = min(block, feats.rows - from)
                let mark = ws.mark
                let scores = encoder(feats.slice(from..<(from + n)))  // [n, V]
                for j in 0..<n {
                    let row = scores.row(j)
                    var p = 0.0
                    for id in silencePdfs { p += Double(row[id]) }
                    silence.append(p)
                }
                ws.rewind(to: mark)
                from += n
            }
            start = end
        } while start < piece.endIndex
        let k = silence.count
        guard k > 0 else { return ([], []) }  // FunASR's forward returns early: no decisions

        let decibels = levelSamples.withUnsafeBufferPointer {
            Self.frameDecibels($0, firstFrameOffset: frameCount * hop - levelStart, frames: k, hop: hop, window: win)
        }
        for j in 0..<k {
            let speech = machine.frameIsSpeech(silenceProbability: silence[j], decibel: decibels[j])
            machine.detect(isSpeech: speech, frame: frameCount + j, isFinal: isFinal && j == k - 1)
        }
        frameCount += k
        // Keep only the samples from the next frame's window on.
        let keepFrom = frameCount * hop - levelStart
        if keepFrom > 0 {
            let drop = min(keepFrom, levelSamples.count)
            levelSamples.removeFirst(drop)
            levelStart += drop
        }
        var events: [VADEvent] = []
        var segments: [SpeechSegment] = []
        if streamingEvents {
            events = machine.takeEvents()
        } else {
            segments = machine.takeSegments(isFinal: isFinal)
        }
        if dynamic && !(events.isEmpty && segments.isEmpty) {
            accumulatedMs = 0
            inSpeech = false
        }
        return (events, segments)
    }

    /// Each frame's level, FunASR's `ComputeDecibel`: 10·log10(Σ x² + 1e-6) over the frame's
    /// window of the raw waveform ([-1, 1]), in float32 as NumPy computes it. Frame j starts at
    /// `firstFrameOffset + j·hop` in `samples`.
    package static func frameDecibels(_ samples: UnsafeBufferPointer<Float>, firstFrameOffset: Int, frames: Int,
                              hop: Int, window: Int) -> [Double] {
        (0..<frames).map { j in
            let start = firstFrameOffset + j * hop
            var sum: Float = 0
            if start >= 0 && start + window <= samples.count {
                for i in start..<(start + window) { sum += samples[i] * samples[i] }
            }
            return Double(10 * log10(sum + 0.000001))
        }
    }

    private func encoder(_ x: Tensor) -> Tensor {
        detector.encoder(x, state: &encoderState, ws)
    }
}
