import Foundation
import ParaformerCore

/// FunASR's `WindowDetector`: a ring of the last `size` frame decisions (1 speech, 0 silence)
/// and their sum, switching Sil→Speech at `sum ≥ silToSpeech` and Speech→Sil at
/// `sum ≤ speechToSil` (asymmetric: with the released 20 / 15 / 15, five silent frames in the
/// window end a run of speech, fifteen speech frames start one).
struct VADWindowDetector {
    enum Change { case speechToSpeech, speechToSil, silToSil, silToSpeech }

    private var ring: [UInt8]
    private var position = 0
    private var sum = 0
    private var inSpeech = false
    let silToSpeechFrames: Int
    let speechToSilFrames: Int
    var size: Int { ring.count }

    init(config c: FSMNVADConfiguration) {
        // FunASR: int(ms / frame_ms) on floats, i.e. truncation.
        ring = [UInt8](repeating: 0, count: max(c.windowSizeMs / c.frameInMs, 1))
        silToSpeechFrames = c.silToSpeechTimeThres / c.frameInMs
        speechToSilFrames = c.speechToSilTimeThres / c.frameInMs
    }

    mutating func reset() {
        for i in ring.indices { ring[i] = 0 }
        position = 0
        sum = 0
        inSpeech = false
    }

    // FunASR: fsmn_vad_streaming/model.py WindowDetector.DetectOneFrame
    mutating func detect(isSpeech: Bool) -> Change {
        let v: UInt8 = isSpeech ? 1 : 0
        sum += Int(v) - Int(ring[position])
        ring[position] = v
        position = (position + 1) % ring.count
        if !inSpeech && sum >= silToSpeechFrames {
            inSpeech = true
            return .silToSpeech
        }
        if inSpeech && sum <= speechToSilFrames {
            inSpeech = false
            return .speechToSil
        }
        return inSpeech ? .speechToSpeech : .silToSil
    }
}

/// FunASR's frame-level VAD state machine (`FsmnVADStreaming.DetectOneFrame` with
/// `OnVoiceStart`, `OnVoiceDetected`, `OnVoiceEnd`, `PopDataToOutputBuf`, `ResetDetection`,
/// `GetFrameState`), frame for frame. Units are VAD frames (10 ms); a segment runs from
/// `start·10` to `(end + 1)·10` ms.
///
/// FunASR keeps the waveform of every undecided frame (`data_buf`); only its start index,
/// `data_buf_start_frame`, changes decisions (a new segment starts no earlier than it), so that
/// index is all this port keeps. Memory is bounded: decided segments are handed out and dropped.
struct VADStateMachine {
    enum State: Int { case startPointNotDetected = 1, inSpeechSegment = 2, endPointDetected = 3 }

    /// One entry of FunASR's `output_data_buf`.
    struct Segment: Equatable {
        var startMs: Int
        var endMs: Int
        var hasStart = false
        var hasEnd = false
    }

    let config: FSMNVADConfiguration
    private var window: VADWindowDetector

    // FunASR's Stats
    private(set) var state: State = .startPointNotDetected
    private var dataBufStartFrame = 0
    private var latestConfirmedSpeechFrame = 0
    private var latestConfirmedSilenceFrame = -1
    private var continuousSilenceFrames = 0
    private var confirmedStartFrame = -1
    private var confirmedEndFrame = -1
    private var numberEndTimeDetected = 0
    private var noiseAverageDecibel = -100.0
    /// `max_end_sil_frame_cnt_thresh`, in ms despite its name: end silence − 150.
    var maxEndSilenceThresholdMs: Int
    /// A frame is speech when 1 − p_sil ≥ p_sil + this.
    var speechNoiseThreshold: Double

    /// `output_data_buf` from `output_data_buf_offset` on (plus the last entry, which a
    /// continuing segment extends).
    private var buffer: [Segment] = []
    private var offset = 0
    /// `next_seg`: the next streaming event opens a segment.
    private var nextSegment = true

    /// Frames of look-back at a start point: the window plus `lookback_time_start_point` (40).
    let startLatency: Int

    init(config c: FSMNVADConfiguration, maxEndSilenceTime: Int, speechNoiseThreshold: Double) {
        config = c
        window = VADWindowDetector(config: c)
        maxEndSilenceThresholdMs = maxEndSilenceTime - c.speechToSilTimeThres
        self.speechNoiseThreshold = speechNoiseThreshold
        startLatency = window.size + (c.doExtend ? c.lookbackTimeStartPoint / c.frameInMs : 0)
    }

    // MARK: - Per-frame decision

    /// FunASR's `GetFrameState`: speech when the model's speech probability beats its silence
    /// probability by `speechNoiseThreshold` and the frame's level passes the dB / SNR floors.
    /// Silent frames update the running noise level.
    ///
    /// `log` and `exp` are evaluated as FunASR does (in double precision, the same libm), so the
    /// decisions agree bit for bit. Where FunASR crashes (`math.log(0)` at p_sil = 1 or 0) the
    /// IEEE limits apply instead: p_sil = 1 is silence and p_sil = 0 is speech.
    mutating func frameIsSpeech(silenceProbability p: Double, decibel: Double) -> Bool {
        let snr = decibel - noiseAverageDecibel
        if decibel < config.decibelThres { return false }
        let noiseProb = Foundation.log(p) * config.speech2NoiseRatio
        let speechProb = Foundation.log(1.0 - p)
        if Foundation.exp(speechProb) >= Foundation.exp(noiseProb) + speechNoiseThreshold {
            return snr >= config.snrThres && decibel >= config.decibelThres
        }
        if noiseAverageDecibel < -99.9 {
            noiseAverageDecibel = decibel
        } else {
            let n = Double(config.noiseFrameNumUsedForSnr)
            noiseAverageDecibel = (decibel + noiseAverageDecibel * (n - 1)) / n
        }
        return false
    }

    // MARK: - State machine

    /// FunASR's `DetectOneFrame` for frame `t` (absolute index).
    mutating func detect(isSpeech: Bool, frame t: Int, isFinal: Bool) {
        let c = config
        let maxFrames = Double(c.maxSingleSegmentTime) / Double(c.frameInMs)
        func tooLong() -> Bool { Double(t - confirmedStartFrame + 1) > maxFrames }

        switch window.detect(isSpeech: isSpeech) {
        case .silToSpeech:
            continuousSilenceFrames = 0
            if state == .startPointNotDetected {
                let start = max(dataBufStartFrame, t - startLatency)
                onVoiceStart(start, fake: false)
                state = .inSpeechSegment
                if start + 1 <= t { for f in (start + 1)...t { onVoiceDetected(f) } }
            } else if state == .inSpeechSegment {
                fill(upTo: t)
                continueSpeech(t, isFinal: isFinal, tooLong: tooLong())
            }
        case .speechToSil, .speechToSpeech:
            continuousSilenceFrames = 0
            if state == .inSpeechSegment { continueSpeech(t, isFinal: isFinal, tooLong: tooLong()) }
        case .silToSil:
            continuousSilenceFrames += 1
            if state == .startPointNotDetected {
                let singleTimeout = c.detectMode == 0
                    && continuousSilenceFrames * c.frameInMs > c.maxStartSilenceTime
                if singleTimeout || (isFinal && numberEndTimeDetected == 0) {
                    // No segment at all: FunASR closes a zero-length "fake" one, outputs nothing.
                    if latestConfirmedSilenceFrame + 1 < t {
                        for f in (latestConfirmedSilenceFrame + 1)..<t { onSilenceDetected(f) }
                    }
                    onVoiceStart(0, fake: true)
                    onVoiceEnd(0, fake: true)
                    state = .endPointDetected
                } else if t >= startLatency {
                    onSilenceDetected(t - startLatency)
                }
            } else if state == .inSpeechSegment {
                let lookahead = c.lookaheadTimeEndPoint / c.frameInMs
                if continuousSilenceFrames * c.frameInMs >= maxEndSilenceThresholdMs {
                    var lookback = maxEndSilenceThresholdMs / c.frameInMs
                    if c.doExtend { lookback = max(0, lookback - lookahead - 1) }
                    onVoiceEnd(t - lookback, fake: false)
                    state = .endPointDetected
                } else if tooLong() {
                    onVoiceEnd(t, fake: false)
                    state = .endPointDetected
                } else if c.doExtend && !isFinal {
                    if continuousSilenceFrames <= lookahead { onVoiceDetected(t) }
                } else if isFinal {
                    onVoiceEnd(t, fake: false)
                    state = .endPointDetected
                }
            }
        }
        if state == .endPointDetected && c.detectMode == 1 { resetDetection() }
    }

    /// Speech continues at frame t: cut at the maximum length, extend, or close on the last frame.
    private mutating func continueSpeech(_ t: Int, isFinal: Bool, tooLong: Bool) {
        if tooLong {
            onVoiceEnd(t, fake: false)
            state = .endPointDetected
        } else if !isFinal {
            onVoiceDetected(t)
        } else {
            onVoiceEnd(t, fake: false)
            state = .endPointDetected
        }
    }

    /// Marks the frames skipped since the last confirmed speech frame, up to (not including) t.
    private mutating func fill(upTo t: Int) {
        if latestConfirmedSpeechFrame + 1 < t {
            for f in (latestConfirmedSpeechFrame + 1)..<t { onVoiceDetected(f) }
        }
    }

    private mutating func onSilenceDetected(_ f: Int) {
        latestConfirmedSilenceFrame = f
        if state == .startPointNotDetected { dataBufStartFrame = max(dataBufStartFrame, f) }
    }

    private mutating func onVoiceDetected(_ f: Int) {
        latestConfirmedSpeechFrame = f
        popFrame(f, opensSegment: false, closesSegment: false)
    }

    private mutating func onVoiceStart(_ f: Int, fake: Bool) {
        if confirmedStartFrame == -1 { confirmedStartFrame = f }
        if !fake && state == .startPointNotDetected {
            popFrame(confirmedStartFrame, opensSegment: true, closesSegment: false)
        }
    }

    private mutating func onVoiceEnd(_ f: Int, fake: Bool) {
        fill(upTo: f)
        if confirmedEndFrame == -1 { confirmedEndFrame = f }
        if !fake { popFrame(confirmedEndFrame, opensSegment: false, closesSegment: true) }
        numberEndTimeDetected += 1
    }

    /// FunASR's `PopDataToOutputBuf(f, 1, …)`: frame f joins the current segment (or opens one).
    private mutating func popFrame(_ f: Int, opensSegment: Bool, closesSegment: Bool) {
        dataBufStartFrame = max(dataBufStartFrame, f)
        if buffer.isEmpty || opensSegment {
            buffer.append(Segment(startMs: f * config.frameInMs, endMs: f * config.frameInMs))
        }
        dataBufStartFrame += 1
        buffer[buffer.count - 1].endMs = (f + 1) * config.frameInMs
        if opensSegment { buffer[buffer.count - 1].hasStart = true }
        if closesSegment { buffer[buffer.count - 1].hasEnd = true }
    }

    private mutating func resetDetection() {
        continuousSilenceFrames = 0
        latestConfirmedSpeechFrame = 0
        latestConfirmedSilenceFrame = -1
        confirmedStartFrame = -1
        confirmedEndFrame = -1
        state = .startPointNotDetected
        window.reset()
    }

    /// The earliest frame a segment not yet handed out can start at: the open segment's start,
    /// else `data_buf_start_frame` (a new segment never starts before it).
    var earliestPendingFrame: Int {
        var f = dataBufStartFrame
        if offset < buffer.count { f = min(f, buffer[offset].startMs / config.frameInMs) }
        return f
    }

    // MARK: - Output

    /// FunASR's offline output after a chunk (`is_streaming_input` false): every complete
    /// segment not yet returned; on the final chunk also the open one, ending where it got to.
    mutating func takeSegments(isFinal: Bool) -> [SpeechSegment] {
        var out: [SpeechSegment] = []
        for i in offset..<buffer.count {
            let s = buffer[i]
            if !isFinal && (!s.hasStart || !s.hasEnd) { continue }
            out.append(SpeechSegment(startMs: s.startMs, endMs: s.endMs))
            offset += 1
        }
        trim()
        return out
    }

    /// FunASR's streaming output after a chunk: `[beg, -1]` when a segment opens, `[-1, end]`
    /// when it closes, `[beg, end]` when both happen in one chunk.
    mutating func takeEvents() -> [VADEvent] {
        var out: [VADEvent] = []
        for i in offset..<buffer.count {
            let s = buffer[i]
            if !s.hasStart { continue }
            if !nextSegment && !s.hasEnd { continue }
            let start = nextSegment ? s.startMs : nil
            if s.hasEnd {
                out.append(VADEvent(startMs: start, endMs: s.endMs))
                nextSegment = true
                offset += 1
            } else {
                out.append(VADEvent(startMs: start, endMs: nil))
                nextSegment = false
            }
        }
        trim()
        return out
    }

    /// Drops returned segments, keeping the last (a continuing frame extends it).
    private mutating func trim() {
        let drop = min(offset, buffer.count - 1)
        guard drop > 0 else { return }
        buffer.removeFirst(drop)
        offset -= drop
    }
}
