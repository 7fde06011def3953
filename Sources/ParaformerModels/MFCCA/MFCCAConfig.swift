import ParaformerCore

/// The configuration of an MFCCA model (`general.architecture` = `mfcca`), read from the GGUF
/// metadata under `mfcca.*` (Weights/FORMAT.md). Each field names its FunASR 0.8.8 source.
public struct MFCCAConfig: Sendable, Equatable {
    /// The metadata keys (the only place their strings appear).
    package enum Key: String {
        case sampleRate = "mfcca.frontend.sample_rate"  // frontend_conf.fs
        case nFFT = "mfcca.frontend.n_fft"  // frontend_conf.n_fft
        case winLength = "mfcca.frontend.win_length"  // frame_length · 16
        case hopLength = "mfcca.frontend.hop_length"  // frame_shift · 16
        case nMels = "mfcca.frontend.n_mels"  // frontend_conf.n_mels
        case modelDim = "mfcca.encoder.output_size"  // encoder_conf.output_size
        case encoderHeads = "mfcca.encoder.attention_heads"
        case encoderLinearUnits = "mfcca.encoder.linear_units"
        case encoderBlocks = "mfcca.encoder.num_blocks"
        case cnnKernel = "mfcca.encoder.cnn_module_kernel"
        case fusionChannels = "mfcca.encoder.fusion_channels"  // conv1's input channels (8)
        case decoderHeads = "mfcca.decoder.attention_heads"
        case decoderLinearUnits = "mfcca.decoder.linear_units"
        case decoderBlocks = "mfcca.decoder.num_blocks"
        case vocabSize = "mfcca.vocab_size"
        case blankId = "mfcca.blank_id"
        case sosId = "mfcca.sos_id"
        case eosId = "mfcca.eos_id"
        case beamSize = "mfcca.search.beam_size"  // decoding.yaml beam_size
        case ctcWeight = "mfcca.search.ctc_weight"  // decoding.yaml ctc_weight
        case penalty = "mfcca.search.penalty"
        case maxLenRatio = "mfcca.search.maxlenratio"
        case minLenRatio = "mfcca.search.minlenratio"
        case nbest = "mfcca.search.nbest"
    }

    public var sampleRate: Int
    public var nFFT: Int
    public var winLength: Int
    public var hopLength: Int
    public var nMels: Int
    /// D, the encoder and decoder width.
    public var modelDim: Int
    public var encoderHeads: Int
    public var encoderLinearUnits: Int
    public var encoderBlocks: Int
    /// The conformer convolution module's depthwise kernel.
    public var cnnKernel: Int
    /// Channels the fusion CNN takes (FunASR hard-codes 8); more input channels are refused.
    public var fusionChannels: Int
    public var decoderHeads: Int
    public var decoderLinearUnits: Int
    public var decoderBlocks: Int
    /// V.
    public var vocabSize: Int
    public var blankId: Int
    public var sosId: Int
    public var eosId: Int
    /// The search defaults from decoding.yaml.
    public var search: MFCCASearchOptions

    package init(file: GGUFFile) throws {
        func int(_ k: Key) throws -> Int {
            guard let v = file.metadata[k.rawValue] else { throw ParaformerError.missingMetadata(k.rawValue) }
            guard let i = v.intValue else {
                throw ParaformerError.invalidMetadata(key: k.rawValue, reason: "not an integer")
            }
            return i
        }
        func double(_ k: Key) throws -> Double {
            guard let v = file.metadata[k.rawValue] else { throw ParaformerError.missingMetadata(k.rawValue) }
            guard let d = v.doubleValue, d.isFinite else {
                throw ParaformerError.invalidMetadata(key: k.rawValue, reason: "not a finite number")
            }
            return d
        }
        sampleRate = try int(.sampleRate)
        nFFT = try int(.nFFT)
        winLength = try int(.winLength)
        hopLength = try int(.hopLength)
        nMels = try int(.nMels)
        modelDim = try int(.modelDim)
        encoderHeads = try int(.encoderHeads)
        encoderLinearUnits = try int(.encoderLinearUnits)
        encoderBlocks = try int(.encoderBlocks)
        cnnKernel = try int(.cnnKernel)
        fusionChannels = try int(.fusionChannels)
        decoderHeads = try int(.decoderHeads)
        decoderLinearUnits = try int(.decoderLinearUnits)
        decoderBlocks = try int(.decoderBlocks)
        vocabSize = try int(.vocabSize)
        blankId = try int(.blankId)
        sosId = try int(.sosId)
        eosId = try int(.eosId)
        search = MFCCASearchOptions(
            beamSize: try int(.beamSize), ctcWeight: Float(try double(.ctcWeight)),
            penalty: Float(try double(.penalty)), maxLenRatio: try double(.maxLenRatio),
            minLenRatio: try double(.minLenRatio), nbest: try int(.nbest))
        try validate()
    }

    private func validate() throws {
        func check(_ ok: Bool, _ k: Key, _ reason: String) throws {
            if !ok { throw ParaformerError.invalidMetadata(key: k.rawValue, reason: reason) }
        }
        try check(sampleRate >= 1000 && sampleRate <= 384_000, .sampleRate, "\(sampleRate) Hz is out of range")
        try check(nFFT >= 2 && nFFT % 2 == 0 && nFFT <= 65536, .nFFT, "must be even and at most 65536")
        try check(winLength >= 1 && winLength <= nFFT, .winLength, "must be between 1 and n_fft")
        try check(hopLength >= 1 && hopLength <= 65536, .hopLength, "out of range")
        try check(nMels >= 7 && nMels <= 1024, .nMels, "out of range (the subsampling needs at least 7)")
        try check(modelDim > 0 && modelDim <= 8192, .modelDim, "\(modelDim) is out of range")
        try check(encoderHeads > 0 && modelDim % encoderHeads == 0, .encoderHeads, "must divide the model dimension")
        try check(decoderHeads > 0 && modelDim % decoderHeads == 0, .decoderHeads, "must divide the model dimension")
        try check(encoderBlocks >= 1 && encoderBlocks <= 256, .encoderBlocks, "out of range")
        try check(decoderBlocks >= 1 && decoderBlocks <= 256, .decoderBlocks, "out of range")
        try check(encoderLinearUnits > 0 && encoderLinearUnits <= 65536, .encoderLinearUnits, "out of range")
        try check(decoderLinearUnits > 0 && decoderLinearUnits <= 65536, .decoderLinearUnits, "out of range")
        try check(cnnKernel >= 1 && cnnKernel % 2 == 1 && cnnKernel <= 255, .cnnKernel, "must be odd and at most 255")
        try check(fusionChannels >= 1 && fusionChannels <= 64, .fusionChannels, "out of range")
        try check(vocabSize >= 2 && vocabSize <= 1_000_000, .vocabSize, "out of range")
        try check(blankId >= 0 && blankId < vocabSize, .blankId, "outside the vocabulary")
        try check(sosId >= 0 && sosId < vocabSize, .sosId, "outside the vocabulary")
        try check(eosId >= 0 && eosId < vocabSize, .eosId, "outside the vocabulary")
        try search.validate()
    }
}

/// Settings of the attention + CTC beam search (FunASR 0.8.8 `Speech2TextMFCCA`).
public struct MFCCASearchOptions: Sendable, Equatable {
    /// Hypotheses kept per step.
    public var beamSize: Int
    /// Weight of the CTC prefix score; the decoder gets 1 − ctcWeight.
    public var ctcWeight: Float
    /// Length bonus per token (ESPnet `LengthBonus`, dropped when 0).
    public var penalty: Float
    /// 0: the search ends by end detection within T' steps; > 0: at most ratio · T' tokens;
    /// < 0: at most −ratio tokens.
    public var maxLenRatio: Double
    /// Shortest output as a ratio of T'.
    public var minLenRatio: Double
    /// Hypotheses returned.
    public var nbest: Int

    public init(
        beamSize: Int = 10, ctcWeight: Float = 0.5, penalty: Float = 0, maxLenRatio: Double = 0,
        minLenRatio: Double = 0, nbest: Int = 1
    ) {
        self.beamSize = beamSize
        self.ctcWeight = ctcWeight
        self.penalty = penalty
        self.maxLenRatio = maxLenRatio
        self.minLenRatio = minLenRatio
        self.nbest = nbest
    }

    package func validate() throws {
        guard beamSize >= 1 && beamSize <= 1000 else {
            throw ParaformerError.invalidOption(name: "beam-size", reason: "\(beamSize) is not between 1 and 1000")
        }
        guard ctcWeight.isFinite && ctcWeight >= 0 && ctcWeight <= 1 else {
            throw ParaformerError.invalidOption(name: "ctc-weight", reason: "\(ctcWeight) is not between 0 and 1")
        }
        guard penalty.isFinite, maxLenRatio.isFinite, minLenRatio.isFinite, minLenRatio >= 0 else {
            throw ParaformerError.invalidOption(name: "search", reason: "penalty and length ratios must be finite, minlenratio ≥ 0")
        }
        guard nbest >= 1 && nbest <= 1000 else {
            throw ParaformerError.invalidOption(name: "nbest", reason: "\(nbest) is not between 1 and 1000")
        }
    }
}
