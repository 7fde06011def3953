import ParaformerCore

/// Every metadata key of an FSMN-VAD model file (`general.architecture` = `fsmn-vad`;
/// Weights/FORMAT.md, written by Tools/convert.py from the model's config.yaml and am.mvn).
enum FSMNVADKey: String, CaseIterable {
    case architecture = "general.architecture"
    // encoder_conf (FunASR `FSMN`)
    case inputDim = "fsmn_vad.encoder.input_dim"
    case inputAffineDim = "fsmn_vad.encoder.input_affine_dim"
    case fsmnLayers = "fsmn_vad.encoder.fsmn_layers"
    case linearDim = "fsmn_vad.encoder.linear_dim"
    case projDim = "fsmn_vad.encoder.proj_dim"
    case lorder = "fsmn_vad.encoder.lorder"
    case rorder = "fsmn_vad.encoder.rorder"
    case lstride = "fsmn_vad.encoder.lstride"
    case rstride = "fsmn_vad.encoder.rstride"
    case outputAffineDim = "fsmn_vad.encoder.output_affine_dim"
    case outputDim = "fsmn_vad.encoder.output_dim"
    // frontend_conf (`WavFrontendOnline`) and am.mvn
    case sampleRate = "fsmn_vad.frontend.sample_rate"
    case nMels = "fsmn_vad.frontend.n_mels"
    case frameLengthMs = "fsmn_vad.frontend.frame_length_ms"
    case frameShiftMs = "fsmn_vad.frontend.frame_shift_ms"
    case lfrM = "fsmn_vad.frontend.lfr_m"
    case lfrN = "fsmn_vad.frontend.lfr_n"
    case cmvnShift = "fsmn_vad.cmvn.shift"
    case cmvnScale = "fsmn_vad.cmvn.scale"
    // model_conf (`VADXOptions`)
    case vadSampleRate = "fsmn_vad.sample_rate"
    case detectMode = "fsmn_vad.detect_mode"
    case maxEndSilenceTime = "fsmn_vad.max_end_silence_time"
    case maxStartSilenceTime = "fsmn_vad.max_start_silence_time"
    case windowSizeMs = "fsmn_vad.window_size_ms"
    case silToSpeechTimeThres = "fsmn_vad.sil_to_speech_time_thres"
    case speechToSilTimeThres = "fsmn_vad.speech_to_sil_time_thres"
    case speech2NoiseRatio = "fsmn_vad.speech_2_noise_ratio"
    case doExtend = "fsmn_vad.do_extend"
    case lookbackTimeStartPoint = "fsmn_vad.lookback_time_start_point"
    case lookaheadTimeEndPoint = "fsmn_vad.lookahead_time_end_point"
    case maxSingleSegmentTime = "fsmn_vad.max_single_segment_time"
    case snrThres = "fsmn_vad.snr_thres"
    case noiseFrameNumUsedForSnr = "fsmn_vad.noise_frame_num_used_for_snr"
    case decibelThres = "fsmn_vad.decibel_thres"
    case speechNoiseThres = "fsmn_vad.speech_noise_thres"
    case silPdfIds = "fsmn_vad.sil_pdf_ids"
    case frameInMs = "fsmn_vad.frame_in_ms"
    case vadFrameLengthMs = "fsmn_vad.frame_length_ms"
}

/// The FSMN-VAD model's configuration, read only from GGUF metadata: the network's sizes
/// (`encoder_conf`), the frontend (`frontend_conf`, am.mvn) and the detector's options
/// (`model_conf`, FunASR's `VADXOptions`). Times are in milliseconds, as in config.yaml.
public struct FSMNVADConfiguration: Sendable, Equatable {
    /// The value of `general.architecture` for this family.
    public static let architecture = "fsmn-vad"

    // MARK: Network (encoder_conf)
    /// `input_dim`: n_mels · lfr_m (400).
    public var inputDim: Int
    /// `input_affine_dim` (140), `linear_dim` (250), `proj_dim` (128).
    public var inputAffineDim: Int
    public var linearDim: Int
    public var projDim: Int
    /// `fsmn_layers` (4).
    public var fsmnLayers: Int
    /// `lorder` (20) and `lstride` (1): the causal memory spans (lorder − 1)·lstride past frames.
    public var lorder: Int
    public var lstride: Int
    /// `output_affine_dim` (140) and `output_dim` (248, the softmax classes).
    public var outputAffineDim: Int
    public var outputDim: Int

    // MARK: Frontend (frontend_conf)
    public var sampleRate: Int
    public var nMels: Int
    public var frameLengthMs: Int
    public var frameShiftMs: Int
    /// LFR 5/1 for the released model: one VAD frame per 10 ms fbank frame.
    public var lfrM: Int
    public var lfrN: Int
    public var cmvnShift: [Float]
    public var cmvnScale: [Float]

    // MARK: Detector (model_conf, VADXOptions)
    /// 1: several utterances (released); 0: stop after the first end point.
    public var detectMode: Int
    /// The fixed end silence (800) used when the dynamic schedule is off.
    public var maxEndSilenceTime: Int
    /// Single-utterance mode only: give up after this much leading silence (3000).
    public var maxStartSilenceTime: Int
    /// Window detector: 200 ms window, 150 ms of speech to start, ≤ 150 ms to stop.
    public var windowSizeMs: Int
    public var silToSpeechTimeThres: Int
    public var speechToSilTimeThres: Int
    /// Weight of log p_sil (1.0).
    public var speech2NoiseRatio: Double
    /// Extend segments by the look-back (start) and look-ahead (end) below (1 = on).
    public var doExtend: Bool
    public var lookbackTimeStartPoint: Int
    public var lookaheadTimeEndPoint: Int
    /// Longest segment before a forced cut (60000).
    public var maxSingleSegmentTime: Int
    /// Frame SNR and level floors (−100: inert) and the noise-average length (100).
    public var snrThres: Double
    public var noiseFrameNumUsedForSnr: Int
    public var decibelThres: Double
    /// A frame is speech when 1 − p_sil ≥ p_sil + this (0.6; the dynamic schedule uses 0.5).
    public var speechNoiseThres: Double
    /// Softmax classes that sum to p_sil ([0]).
    public var silPdfIds: [Int]
    /// VAD frame shift (10) and length (25) in ms, for frame ↔ sample arithmetic.
    public var frameInMs: Int
    public var vadFrameLengthMs: Int
    /// `sample_rate` of model_conf (16000), the rate of the frame ↔ sample arithmetic.
    public var vadSampleRate: Int

    /// Samples per VAD frame hop (160).
    package var frameShiftSamples: Int { frameInMs * vadSampleRate / 1000 }
    /// Samples per frame window (400), the span of one frame's level.
    package var frameLengthSamples: Int { vadFrameLengthMs * vadSampleRate / 1000 }

    /// Reads and validates every key.
    package init(_ file: GGUFFile) throws {
        let m = file.metadata
        func value(_ key: FSMNVADKey) throws -> GGUFFile.Value {
            guard let v = m[key.rawValue] else { throw ParaformerError.missingMetadata(key.rawValue) }
            return v
        }
        func int(_ key: FSMNVADKey) throws -> Int {
            guard let i = try value(key).intValue else {
                throw ParaformerError.invalidMetadata(key: key.rawValue, reason: "not an integer")
            }
            return i
        }
        func double(_ key: FSMNVADKey) throws -> Double {
            guard let d = try value(key).doubleValue, d.isFinite else {
                throw ParaformerError.invalidMetadata(key: key.rawValue, reason: "not a finite number")
            }
            return d
        }
        func numbers(_ key: FSMNVADKey) throws -> [Double] {
            guard let items = try value(key).arrayValue else {
                throw ParaformerError.invalidMetadata(key: key.rawValue, reason: "not an array")
            }
            let values = items.compactMap(\.doubleValue)
            guard values.count == items.count, values.allSatisfy(\.isFinite) else {
                throw ParaformerError.invalidMetadata(key: key.rawValue, reason: "not an array of finite numbers")
            }
            return values
        }
        guard let arch = try value(.architecture).stringValue else {
            throw ParaformerError.invalidMetadata(key: FSMNVADKey.architecture.rawValue, reason: "not a string")
        }
        guard arch == Self.architecture else { throw ParaformerError.unsupportedArchitecture(arch) }

        inputDim = try int(.inputDim)
        inputAffineDim = try int(.inputAffineDim)
        fsmnLayers = try int(.fsmnLayers)
        linearDim = try int(.linearDim)
        projDim = try int(.projDim)
        lorder = try int(.lorder)
        lstride = try int(.lstride)
        outputAffineDim = try int(.outputAffineDim)
        outputDim = try int(.outputDim)
        let rorder = try int(.rorder)
        guard rorder == 0 else {
            throw ParaformerError.invalidMetadata(
                key: FSMNVADKey.rorder.rawValue,
                reason: "\(rorder): only causal FSMN (rorder 0, as every released FSMN-VAD) is supported")
        }
        _ = try int(.rstride)

        sampleRate = try int(.sampleRate)
        nMels = try int(.nMels)
        frameLengthMs = try int(.frameLengthMs)
        frameShiftMs = try int(.frameShiftMs)
        lfrM = try int(.lfrM)
        lfrN = try int(.lfrN)
        cmvnShift = try numbers(.cmvnShift).map { Float($0) }
        cmvnScale = try numbers(.cmvnScale).map { Float($0) }

        vadSampleRate = try int(.vadSampleRate)
        detectMode = try int(.detectMode)
        maxEndSilenceTime = try int(.maxEndSilenceTime)
        maxStartSilenceTime = try int(.maxStartSilenceTime)
        windowSizeMs = try int(.windowSizeMs)
        silToSpeechTimeThres = try int(.silToSpeechTimeThres)
        speechToSilTimeThres = try int(.speechToSilTimeThres)
        speech2NoiseRatio = try double(.speech2NoiseRatio)
        doExtend = try int(.doExtend) != 0
        lookbackTimeStartPoint = try int(.lookbackTimeStartPoint)
        lookaheadTimeEndPoint = try int(.lookaheadTimeEndPoint)
        maxSingleSegmentTime = try int(.maxSingleSegmentTime)
        snrThres = try double(.snrThres)
        noiseFrameNumUsedForSnr = try int(.noiseFrameNumUsedForSnr)
        decibelThres = try double(.decibelThres)
        speechNoiseThres = try double(.speechNoiseThres)
        // Whole, in range before the conversion (Int(1e30) would trap); validate() bounds them
        // by output_dim.
        let silIds = try numbers(.silPdfIds)
        guard silIds.allSatisfy({ $0 >= 0 && $0 <= 1e9 && $0 == $0.rounded() }) else {
            throw ParaformerError.invalidMetadata(key: FSMNVADKey.silPdfIds.rawValue, reason: "not an array of class ids")
        }
        silPdfIds = silIds.map { Int($0) }
        frameInMs = try int(.frameInMs)
        vadFrameLengthMs = try int(.vadFrameLengthMs)
        try validate()
    }

    private func validate() throws {
        func check(_ ok: Bool, _ key: FSMNVADKey, _ reason: String) throws {
            if !ok { throw ParaformerError.invalidMetadata(key: key.rawValue, reason: reason) }
        }
        let dims: [(Int, FSMNVADKey)] = [
            (inputAffineDim, .inputAffineDim), (linearDim, .linearDim), (projDim, .projDim),
            (outputAffineDim, .outputAffineDim), (outputDim, .outputDim),
        ]
        for (d, key) in dims { try check(d >= 1 && d <= 65536, key, "\(d) is out of range") }
        try check(fsmnLayers >= 0 && fsmnLayers <= 64, .fsmnLayers, "\(fsmnLayers) is out of range")
        try check(lorder >= 1 && lorder <= 1024, .lorder, "\(lorder) is out of range")
        try check(lstride >= 1 && lstride <= 64, .lstride, "\(lstride) is out of range")
        try check(sampleRate >= 1000 && sampleRate <= 384_000, .sampleRate, "\(sampleRate) Hz is out of range")
        try check(nMels > 3 && nMels <= 512, .nMels, "\(nMels) is out of range")
        try check(frameShiftMs >= 1 && frameShiftMs <= 1000, .frameShiftMs, "\(frameShiftMs) is out of range")
        try check(frameLengthMs >= frameShiftMs && frameLengthMs <= 1000, .frameLengthMs, "\(frameLengthMs) is out of range")
        try check(lfrM >= 1 && lfrM <= 32, .lfrM, "\(lfrM) is out of range")
        try check(lfrN == 1, .lfrN, "\(lfrN): the detector needs one feature frame per fbank frame (lfr_n 1)")
        try check(inputDim == nMels * lfrM, .inputDim, "\(inputDim) is not n_mels · lfr_m = \(nMels * lfrM)")
        try check(cmvnShift.count == inputDim && cmvnScale.count == inputDim, .cmvnShift,
                  "\(cmvnShift.count) shift and \(cmvnScale.count) scale values, expected \(inputDim)")
        try check(vadSampleRate == sampleRate, .vadSampleRate, "\(vadSampleRate) differs from the frontend's \(sampleRate) Hz")
        try check(frameInMs == frameShiftMs, .frameInMs, "\(frameInMs) differs from the frontend's frame shift \(frameShiftMs) ms")
        try check(vadFrameLengthMs == frameLengthMs, .vadFrameLengthMs, "\(vadFrameLengthMs) differs from the frontend's frame length \(frameLengthMs) ms")
        try check(frameShiftSamples >= 1, .frameInMs, "less than one sample per frame")
        try check(detectMode == 0 || detectMode == 1, .detectMode, "\(detectMode) is not 0 or 1")
        try check(windowSizeMs >= frameInMs && windowSizeMs <= 100_000, .windowSizeMs, "\(windowSizeMs) is out of range")
        try check(silToSpeechTimeThres >= 0, .silToSpeechTimeThres, "must not be negative")
        try check(speechToSilTimeThres >= 0, .speechToSilTimeThres, "must not be negative")
        try check(maxEndSilenceTime >= 0 && maxEndSilenceTime <= 10_000_000, .maxEndSilenceTime, "out of range")
        try check(maxSingleSegmentTime >= frameInMs && maxSingleSegmentTime <= 100_000_000, .maxSingleSegmentTime, "out of range")
        try check(lookbackTimeStartPoint >= 0, .lookbackTimeStartPoint, "must not be negative")
        try check(lookaheadTimeEndPoint >= 0, .lookaheadTimeEndPoint, "must not be negative")
        try check(noiseFrameNumUsedForSnr >= 1, .noiseFrameNumUsedForSnr, "must be positive")
        try check(!silPdfIds.isEmpty && silPdfIds.allSatisfy { $0 >= 0 && $0 < outputDim }, .silPdfIds,
                  "must name at least one of the \(outputDim) output classes")
    }
}
