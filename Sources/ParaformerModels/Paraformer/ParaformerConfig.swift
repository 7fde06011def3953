import ParaformerCore

/// Every metadata key the engine reads from a model file (see Weights/FORMAT.md).
package enum MetadataKey: String, CaseIterable {
    case architecture = "general.architecture"
    case encoderInputSize = "paraformer.encoder.input_size"
    case encoderOutputSize = "paraformer.encoder.output_size"
    case encoderHeads = "paraformer.encoder.attention_heads"
    case encoderLinearUnits = "paraformer.encoder.linear_units"
    case encoderBlocks = "paraformer.encoder.num_blocks"
    case encoderKernelSize = "paraformer.encoder.kernel_size"
    case encoderSanmShift = "paraformer.encoder.sanm_shift"
    case decoderHeads = "paraformer.decoder.attention_heads"
    case decoderLinearUnits = "paraformer.decoder.linear_units"
    case decoderBlocks = "paraformer.decoder.num_blocks"
    case decoderAttLayers = "paraformer.decoder.att_layer_num"
    case decoderKernelSize = "paraformer.decoder.kernel_size"
    case decoderSanmShift = "paraformer.decoder.sanm_shift"
    case predictorThreshold = "paraformer.predictor.threshold"
    case predictorLOrder = "paraformer.predictor.l_order"
    case predictorROrder = "paraformer.predictor.r_order"
    case predictorTailThreshold = "paraformer.predictor.tail_threshold"
    case predictorSmoothFactor = "paraformer.predictor.smooth_factor"
    case predictorNoiseThreshold = "paraformer.predictor.noise_threshold"
    case sampleRate = "paraformer.frontend.sample_rate"
    case nMels = "paraformer.frontend.n_mels"
    case frameLengthMs = "paraformer.frontend.frame_length_ms"
    case frameShiftMs = "paraformer.frontend.frame_shift_ms"
    case lfrM = "paraformer.frontend.lfr_m"
    case lfrN = "paraformer.frontend.lfr_n"
    case vocabSize = "paraformer.vocab_size"
    case blankId = "paraformer.blank_id"
    case sosId = "paraformer.sos_id"
    case eosId = "paraformer.eos_id"
    case cmvnShift = "paraformer.cmvn.shift"
    case cmvnScale = "paraformer.cmvn.scale"
    case tokens = "tokenizer.ggml.tokens"
    case linearLayout = "paraformer.linear_layout"
}

/// The model's configuration, read only from GGUF metadata (written by Tools/convert.py from
/// FunASR's config.yaml, am.mvn and tokens.json).
package struct Hyperparameters: Sendable, Equatable {
    /// `paraformer` (offline) or `paraformer-streaming` (paraformer-online).
    package enum Architecture: String, Sendable, CaseIterable {
        case offline = "paraformer", streaming = "paraformer-streaming"
        /// SeACo-Paraformer (FunASR's `SeacoParaformer`, `paraformer-zh`) and Contextual
        /// Paraformer: offline Paraformers with hotword biasing (ParaformerModels/Hotword), whose
        /// Paraformer part reads these same keys.
        case seaco = "seaco-paraformer", contextual = "contextual-paraformer"
    }

    package var architecture: Architecture
    /// `n_mels · lfr_m` (560 for paraformer-large).
    package var inputSize: Int
    /// `encoder_conf.output_size`, the model dimension D.
    package var modelDim: Int
    /// `encoder_conf.attention_heads`.
    package var encoderHeads: Int
    /// `encoder_conf.linear_units`.
    package var encoderLinearUnits: Int
    /// `encoder_conf.num_blocks` (the first is `encoders0`, the rest `encoders.*`).
    package var encoderBlocks: Int
    /// `encoder_conf.kernel_size` of the FSMN memory block.
    package var encoderKernelSize: Int
    /// `encoder_conf.sanm_shfit`.
    package var encoderSanmShift: Int
    /// `decoder_conf.attention_heads`.
    package var decoderHeads: Int
    /// `decoder_conf.linear_units`.
    package var decoderLinearUnits: Int
    /// `decoder_conf.num_blocks`.
    package var decoderBlocks: Int
    /// `decoder_conf.att_layer_num`: blocks with source attention (`decoders.*`); the remaining
    /// `num_blocks − att_layer_num` are FSMN-only (`decoders2.*`).
    package var decoderAttLayers: Int
    /// `decoder_conf.kernel_size`.
    package var decoderKernelSize: Int
    /// `decoder_conf.sanm_shfit` (0 offline, 5 for paraformer-online).
    package var decoderSanmShift: Int
    /// `predictor_conf.threshold` (1.0).
    package var predictorThreshold: Float
    /// `predictor_conf.l_order` / `r_order`: the CIF conv pads.
    package var predictorLOrder: Int
    package var predictorROrder: Int
    /// `predictor_conf.tail_threshold` (0.45): the weight of the appended tail frame.
    package var predictorTailThreshold: Float
    /// `predictor_conf.smooth_factor` and `noise_threshold`: alpha = relu(σ·smooth − noise).
    package var predictorSmoothFactor: Float
    package var predictorNoiseThreshold: Float
    /// `frontend_conf.fs`.
    package var sampleRate: Int
    /// `frontend_conf.n_mels`, `frame_length`, `frame_shift` (ms), `lfr_m`, `lfr_n`.
    package var nMels: Int
    package var frameLengthMs: Int
    package var frameShiftMs: Int
    package var lfrM: Int
    package var lfrN: Int
    /// Output vocabulary size V.
    package var vocabSize: Int
    package var blankId: Int
    package var sosId: Int
    package var eosId: Int
    /// How the files stores the Linear layers' weight matrices (`paraformer.linear_layout`).
    package var linearLayout: LinearLayout

    package typealias LinearLayout = ParaformerCore.LinearLayout

    /// The encoder stack's shape.
    package var encoder: EncoderConfig {
        EncoderConfig(
            inputSize: inputSize, dim: modelDim, heads: encoderHeads, linearUnits: encoderLinearUnits,
            blocks: encoderBlocks, kernelSize: encoderKernelSize, sanmShift: encoderSanmShift)
    }

    /// The CIF predictor's shape.
    package var predictor: PredictorConfig {
        PredictorConfig(
            dim: modelDim, threshold: predictorThreshold, lOrder: predictorLOrder, rOrder: predictorROrder,
            tailThreshold: predictorTailThreshold, smoothFactor: predictorSmoothFactor,
            noiseThreshold: predictorNoiseThreshold)
    }

    /// The decoder stack's shape.
    package var decoder: DecoderConfig {
        DecoderConfig(
            dim: modelDim, heads: decoderHeads, linearUnits: decoderLinearUnits, blocks: decoderBlocks,
            attLayers: decoderAttLayers, kernelSize: decoderKernelSize, sanmShift: decoderSanmShift,
            vocabSize: vocabSize)
    }

    /// Reads and validates every field.
    package init(_ file: GGUFFile) throws {
        func int(_ key: MetadataKey, default value: Int? = nil) throws -> Int {
            guard let v = file.metadata[key.rawValue] else {
                if let value { return value }
                throw ParaformerError.missingMetadata(key.rawValue)
            }
            guard let i = v.intValue else {
                throw ParaformerError.invalidMetadata(key: key.rawValue, reason: "not an integer")
            }
            return i
        }
        func float(_ key: MetadataKey, default value: Float? = nil) throws -> Float {
            guard let v = file.metadata[key.rawValue] else {
                if let value { return value }
                throw ParaformerError.missingMetadata(key.rawValue)
            }
            guard let d = v.doubleValue else {
                throw ParaformerError.invalidMetadata(key: key.rawValue, reason: "not a number")
            }
            return Float(d)
        }
        guard let archValue = file.metadata[MetadataKey.architecture.rawValue] else {
            throw ParaformerError.missingMetadata(MetadataKey.architecture.rawValue)
        }
        guard let archName = archValue.stringValue else {
            throw ParaformerError.invalidMetadata(key: MetadataKey.architecture.rawValue, reason: "not a string")
        }
        guard let arch = Architecture(rawValue: archName) else {
            throw ParaformerError.unsupportedArchitecture(archName)
        }
        architecture = arch
        inputSize = try int(.encoderInputSize)
        modelDim = try int(.encoderOutputSize)
        encoderHeads = try int(.encoderHeads)
        encoderLinearUnits = try int(.encoderLinearUnits)
        encoderBlocks = try int(.encoderBlocks)
        encoderKernelSize = try int(.encoderKernelSize)
        encoderSanmShift = try int(.encoderSanmShift, default: 0)
        decoderHeads = try int(.decoderHeads)
        decoderLinearUnits = try int(.decoderLinearUnits)
        decoderBlocks = try int(.decoderBlocks)
        decoderAttLayers = try int(.decoderAttLayers)
        decoderKernelSize = try int(.decoderKernelSize)
        decoderSanmShift = try int(.decoderSanmShift, default: 0)
        predictorThreshold = try float(.predictorThreshold)
        predictorLOrder = try int(.predictorLOrder)
        predictorROrder = try int(.predictorROrder)
        predictorTailThreshold = try float(.predictorTailThreshold, default: 0)
        predictorSmoothFactor = try float(.predictorSmoothFactor, default: 1)
        predictorNoiseThreshold = try float(.predictorNoiseThreshold, default: 0)
        sampleRate = try int(.sampleRate)
        nMels = try int(.nMels)
        frameLengthMs = try int(.frameLengthMs, default: 25)
        frameShiftMs = try int(.frameShiftMs, default: 10)
        lfrM = try int(.lfrM)
        lfrN = try int(.lfrN)
        vocabSize = try int(.vocabSize)
        blankId = try int(.blankId, default: 0)
        sosId = try int(.sosId, default: 1)
        eosId = try int(.eosId, default: 2)
        if let v = file.metadata[MetadataKey.linearLayout.rawValue] {
            guard let name = v.stringValue, let layout = LinearLayout(rawValue: name) else {
                throw ParaformerError.invalidMetadata(
                    key: MetadataKey.linearLayout.rawValue, reason: "not \"out_in\" or \"in_out\"")
            }
            linearLayout = layout
        } else {
            linearLayout = .outIn
        }
        try validate()
    }

    private func validate() throws {
        func check(_ ok: Bool, _ key: MetadataKey, _ reason: String) throws {
            if !ok { throw ParaformerError.invalidMetadata(key: key.rawValue, reason: reason) }
        }
        try check(modelDim > 0 && modelDim <= 8192, .encoderOutputSize, "\(modelDim) is out of range")
        try check(encoderHeads > 0 && modelDim % encoderHeads == 0, .encoderHeads, "must divide the model dimension")
        try check(decoderHeads > 0 && modelDim % decoderHeads == 0, .decoderHeads, "must divide the model dimension")
        try check(encoderBlocks >= 1 && encoderBlocks <= 256, .encoderBlocks, "\(encoderBlocks) is out of range")
        try check(decoderBlocks >= 0 && decoderBlocks <= 256, .decoderBlocks, "\(decoderBlocks) is out of range")
        try check(decoderAttLayers >= 0 && decoderAttLayers <= decoderBlocks, .decoderAttLayers, "must be between 0 and num_blocks")
        try check(encoderKernelSize >= 1 && encoderKernelSize <= 255, .encoderKernelSize, "out of range")
        try check(decoderKernelSize >= 1 && decoderKernelSize <= 255, .decoderKernelSize, "out of range")
        try check(encoderSanmShift >= 0 && encoderSanmShift < encoderKernelSize, .encoderSanmShift, "out of range")
        try check(decoderSanmShift >= 0 && decoderSanmShift < decoderKernelSize, .decoderSanmShift, "out of range")
        try check(encoderLinearUnits > 0, .encoderLinearUnits, "must be positive")
        try check(decoderLinearUnits > 0, .decoderLinearUnits, "must be positive")
        try check(predictorThreshold > 0, .predictorThreshold, "must be positive")
        try check(predictorLOrder >= 0 && predictorROrder >= 0 && predictorLOrder + predictorROrder < 64, .predictorLOrder, "out of range")
        try check(sampleRate >= 1000 && sampleRate <= 384_000, .sampleRate, "\(sampleRate) Hz is out of range")
        try check(nMels > 0 && nMels <= 512, .nMels, "out of range")
        try check(lfrM >= 1 && lfrN >= 1 && lfrM <= 32 && lfrN <= 32, .lfrM, "out of range")
        try check(inputSize == nMels * lfrM, .encoderInputSize, "\(inputSize) is not n_mels · lfr_m = \(nMels * lfrM)")
        try check(vocabSize > 0, .vocabSize, "must be positive")
        for (key, id) in [(MetadataKey.blankId, blankId), (.sosId, sosId), (.eosId, eosId)] {
            try check(id >= 0 && id < vocabSize, key, "\(id) is outside the vocabulary")
        }
    }
}
