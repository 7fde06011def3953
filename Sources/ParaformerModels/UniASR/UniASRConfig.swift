import ParaformerCore

/// UniASR's configuration, read only from the `uniasr.*` GGUF metadata that Tools/convert.py
/// writes from FunASR's config.yaml (Weights/FORMAT.md). FunASR: uniasr/model.py `UniASR.__init__`.
package struct UniASRConfig: Sendable, Equatable {
    /// `SANMEncoderChunkOpt`: a SAN-M encoder run over overlapping chunks.
    package struct Encoder: Sendable, Equatable {
        /// Input width (560 for encoder, 560 + D for encoder2).
        package var inputSize: Int
        /// `output_size` D.
        package var dim: Int
        package var heads: Int
        package var linearUnits: Int
        package var blocks: Int
        package var kernelSize: Int
        package var sanmShift: Int
        /// Per chunk setting (index 0: fast/normal, 1: offline): `chunk_size`, `stride`, `pad_left`.
        package var chunkSize: [Int]
        package var stride: [Int]
        package var padLeft: [Int]
        /// FSMN shift F = (kernel − 1) / 2: the zero rows in front of every chunk.
        package var fsmnShift: Int { (kernelSize - 1) / 2 }
        /// The shape of its SAN-M layers.
        package var layers: EncoderConfig {
            EncoderConfig(
                inputSize: inputSize, dim: dim, heads: heads, linearUnits: linearUnits, blocks: blocks,
                kernelSize: kernelSize, sanmShift: sanmShift)
        }
    }

    /// `FsmnDecoderSCAMAOpt`.
    package struct Decoder: Sendable, Equatable {
        /// `attention_dim` A.
        package var dim: Int
        /// The memory width E (the encoder's output size).
        package var memoryDim: Int
        package var heads: Int
        package var linearUnits: Int
        package var blocks: Int
        package var attLayers: Int
        package var kernelSize: Int
        package var sanmShift: Int
        package var concatEmbeds: Bool
    }

    /// `CifPredictorV2`.
    package struct Predictor: Sendable, Equatable {
        package var threshold: Float
        package var lOrder: Int
        package var rOrder: Int
        package var tailThreshold: Float
        package var smoothFactor: Float
        package var noiseThreshold: Float
    }

    package var encoder: Encoder
    package var encoder2: Encoder
    package var decoder: Decoder
    package var decoder2: Decoder
    package var predictor: Predictor
    package var predictor2: Predictor
    /// `stride_conv_conf`: Conv1d kernel, stride and (left, right) zero padding.
    package var strideKernel: Int
    package var strideStep: Int
    package var stridePad: [Int]
    package var sampleRate: Int
    package var nMels: Int
    package var frameLengthMs: Int
    package var frameShiftMs: Int
    package var lfrM: Int
    package var lfrN: Int
    package var vocabSize: Int
    package var blankId: Int
    package var sosId: Int
    package var eosId: Int
    /// FunASR's inference defaults: `decoding_model`, `beam_size`, `token_num_relax`.
    package var defaultMode: UniASRDecodingMode
    package var beamSize: Int
    package var tokenNumRelax: Int
    package var linearLayout: LinearLayout

    package init(_ file: GGUFFile) throws {
        let m = file.metadata
        func value(_ key: String) throws -> GGUFFile.Value {
            guard let v = m["uniasr." + key] else { throw ParaformerError.missingMetadata("uniasr." + key) }
            return v
        }
        func int(_ key: String, default d: Int? = nil) throws -> Int {
            if m["uniasr." + key] == nil, let d { return d }
            guard let i = try value(key).intValue else {
                throw ParaformerError.invalidMetadata(key: "uniasr." + key, reason: "not an integer")
            }
            return i
        }
        func float(_ key: String, default d: Float? = nil) throws -> Float {
            if m["uniasr." + key] == nil, let d { return d }
            guard let x = try value(key).doubleValue else {
                throw ParaformerError.invalidMetadata(key: "uniasr." + key, reason: "not a number")
            }
            return Float(x)
        }
        func ints(_ key: String) throws -> [Int] {
            guard let a = try value(key).arrayValue else {
                throw ParaformerError.invalidMetadata(key: "uniasr." + key, reason: "not an array")
            }
            let v = a.compactMap(\.intValue)
            guard v.count == a.count, !v.isEmpty else {
                throw ParaformerError.invalidMetadata(
                    key: "uniasr." + key, reason: "not an array of integers")
            }
            return v
        }
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ParaformerError.invalidMetadata(key: "uniasr." + key, reason: reason) }
        }
        func readEncoder(_ p: String) throws -> Encoder {
            let e = Encoder(
                inputSize: try int("\(p).input_size"), dim: try int("\(p).output_size"),
                heads: try int("\(p).attention_heads"), linearUnits: try int("\(p).linear_units"),
                blocks: try int("\(p).num_blocks"), kernelSize: try int("\(p).kernel_size"),
                sanmShift: try int("\(p).sanm_shift", default: 0), chunkSize: try ints("\(p).chunk_size"),
                stride: try ints("\(p).stride"), padLeft: try ints("\(p).pad_left"))
            try check(
                e.dim > 0 && e.dim <= 8192 && e.dim % 2 == 0, "\(p).output_size", "\(e.dim) is out of range")
            try check(
                e.inputSize > 1 && e.inputSize <= 65536 && e.inputSize % 2 == 0, "\(p).input_size",
                "out of range")
            try check(
                e.heads > 0 && e.dim % e.heads == 0, "\(p).attention_heads", "must divide the model dimension"
            )
            try check(e.blocks >= 1 && e.blocks <= 256, "\(p).num_blocks", "out of range")
            try check(e.linearUnits > 0 && e.linearUnits <= 65536, "\(p).linear_units", "out of range")
            try check(e.kernelSize >= 1 && e.kernelSize <= 255, "\(p).kernel_size", "out of range")
            try check(e.sanmShift == 0, "\(p).sanm_shift", "only 0 is supported (FunASR's UniASR releases)")
            try check(
                e.chunkSize.count == 2 && e.stride.count == 2 && e.padLeft.count == 2,
                "\(p).chunk_size", "UniASR needs two chunk settings (fast/normal and offline)")
            for i in 0..<2 {
                try check(
                    e.stride[i] >= 1 && e.padLeft[i] >= 0 && e.chunkSize[i] <= 4096
                        && e.stride[i] + e.padLeft[i] <= e.chunkSize[i],
                    "\(p).chunk_size",
                    "chunk \(e.chunkSize[i]) must hold stride \(e.stride[i]) + pad_left \(e.padLeft[i])")
            }
            for key in ["encoder_att_look_back_factor", "decoder_att_look_back_factor"] {
                if m["uniasr.\(p).\(key)"] != nil {
                    try check(
                        try ints("\(p).\(key)").allSatisfy { $0 == 0 }, "\(p).\(key)",
                        "only 0 is supported (the released UniASR models)")
                }
            }
            return e
        }
        func readDecoder(_ p: String) throws -> Decoder {
            let d = Decoder(
                dim: try int("\(p).attention_dim"), memoryDim: try int("\(p).encoder_output_size"),
                heads: try int("\(p).attention_heads"), linearUnits: try int("\(p).linear_units"),
                blocks: try int("\(p).num_blocks"), attLayers: try int("\(p).att_layer_num"),
                kernelSize: try int("\(p).kernel_size"), sanmShift: try int("\(p).sanm_shift"),
                concatEmbeds: try int("\(p).concat_embeds", default: 0) != 0)
            try check(d.dim > 0 && d.dim <= 8192, "\(p).attention_dim", "out of range")
            try check(
                d.heads > 0 && d.dim % d.heads == 0, "\(p).attention_heads", "must divide attention_dim")
            try check(d.blocks >= 1 && d.blocks <= 256, "\(p).num_blocks", "out of range")
            try check(
                d.attLayers >= 0 && d.attLayers <= d.blocks, "\(p).att_layer_num",
                "must be between 0 and num_blocks")
            try check(d.linearUnits > 0 && d.linearUnits <= 65536, "\(p).linear_units", "out of range")
            try check(d.kernelSize >= 1 && d.kernelSize <= 255, "\(p).kernel_size", "out of range")
            try check(
                d.sanmShift >= 0 && (d.kernelSize - 1) / 2 + d.sanmShift < d.kernelSize, "\(p).sanm_shift",
                "out of range")
            return d
        }
        func readPredictor(_ p: String) throws -> Predictor {
            let q = Predictor(
                threshold: try float("\(p).threshold"), lOrder: try int("\(p).l_order"),
                rOrder: try int("\(p).r_order"), tailThreshold: try float("\(p).tail_threshold", default: 0),
                smoothFactor: try float("\(p).smooth_factor", default: 1),
                noiseThreshold: try float("\(p).noise_threshold", default: 0))
            try check(q.threshold == 1, "\(p).threshold", "only 1.0 is supported")
            try check(
                q.lOrder >= 0 && q.rOrder >= 0 && q.lOrder + q.rOrder < 64, "\(p).l_order", "out of range")
            try check(q.tailThreshold == 0, "\(p).tail_threshold", "UniASR's predictors have no tail")
            return q
        }
        let arch = try ModelRegistry.architecture(of: file)
        guard arch == UniASRModel.architecture else { throw ParaformerError.unsupportedArchitecture(arch) }
        encoder = try readEncoder("encoder")
        encoder2 = try readEncoder("encoder2")
        decoder = try readDecoder("decoder")
        decoder2 = try readDecoder("decoder2")
        predictor = try readPredictor("predictor")
        predictor2 = try readPredictor("predictor2")
        strideKernel = try int("stride_conv.kernel_size")
        strideStep = try int("stride_conv.stride")
        stridePad = try ints("stride_conv.pad")
        sampleRate = try int("frontend.sample_rate")
        nMels = try int("frontend.n_mels")
        frameLengthMs = try int("frontend.frame_length_ms", default: 25)
        frameShiftMs = try int("frontend.frame_shift_ms", default: 10)
        lfrM = try int("frontend.lfr_m")
        lfrN = try int("frontend.lfr_n")
        vocabSize = try int("vocab_size")
        blankId = try int("blank_id", default: 0)
        sosId = try int("sos_id", default: 1)
        eosId = try int("eos_id", default: 2)
        let modeName = m["uniasr.decoding.mode"]?.stringValue ?? "normal"
        defaultMode = UniASRDecodingMode(funasrName: modeName)
        beamSize = try int("decoding.beam_size", default: 5)
        tokenNumRelax = try int("decoding.token_num_relax", default: 5)
        if let v = m["uniasr.linear_layout"] {
            guard let name = v.stringValue, let layout = LinearLayout(rawValue: name) else {
                throw ParaformerError.invalidMetadata(
                    key: "uniasr.linear_layout", reason: "not \"out_in\" or \"in_out\"")
            }
            linearLayout = layout
        } else {
            linearLayout = .outIn
        }
        try check(encoder.inputSize == nMels * lfrM, "encoder.input_size", "is not n_mels · lfr_m")
        try check(
            encoder2.inputSize == encoder.inputSize + encoder.dim, "encoder2.input_size",
            "is not the features' width plus encoder.output_size")
        try check(
            decoder.memoryDim == encoder.dim && decoder2.memoryDim == encoder2.dim,
            "decoder.encoder_output_size", "does not match the encoders")
        try check(
            strideKernel >= 1 && strideKernel <= 16 && strideStep >= 1 && strideStep <= 16,
            "stride_conv.kernel_size", "out of range")
        try check(
            stridePad.count == 2 && stridePad.allSatisfy { $0 >= 0 && $0 < 16 }, "stride_conv.pad",
            "needs two paddings")
        // FunASR gives encoder2 (T − 1) // s + 1 frames; the conv yields as many only then.
        try check(
            stridePad[0] + stridePad[1] == strideKernel - 1, "stride_conv.pad",
            "must add up to kernel_size − 1")
        try check(sampleRate >= 1000 && sampleRate <= 384_000, "frontend.sample_rate", "out of range")
        try check(
            nMels > 0 && nMels <= 512 && lfrM >= 1 && lfrN >= 1 && lfrM <= 32 && lfrN <= 32, "frontend.lfr_m",
            "out of range")
        try check(vocabSize > 2, "vocab_size", "must be above 2")
        try check(
            [blankId, sosId, eosId].allSatisfy { $0 >= 0 && $0 < vocabSize }, "sos_id",
            "outside the vocabulary")
        try check(beamSize >= 1 && beamSize <= 64, "decoding.beam_size", "out of range")
        try check(tokenNumRelax >= 0 && tokenNumRelax <= 1000, "decoding.token_num_relax", "out of range")
    }
}

/// UniASR's three decoding modes (FunASR's `decoding_model` argument).
///
/// | mode      | chunk setting | path                                                       |
/// |-----------|---------------|------------------------------------------------------------|
/// | `fast`    | 0             | encoder → predictor → decoder                              |
/// | `normal`  | 0             | encoder → stride conv → encoder2 → predictor2 → decoder2   |
/// | `offline` | 1             | as normal with the larger (offline) chunks; still chunked  |
public enum UniASRDecodingMode: String, Sendable, CaseIterable, Codable {
    case fast, normal, offline

    /// FunASR treats any value other than "fast" and "offline" as "normal".
    init(funasrName name: String) { self = UniASRDecodingMode(rawValue: name) ?? .normal }

    /// Index into the encoders' chunk settings.
    package var chunkIndex: Int { self == .offline ? 1 : 0 }
}

extension OfflineFrontend {
    /// UniASR's frontend: its CMVN (`uniasr.cmvn.*`), LFR and fbank settings.
    package init(uniasr file: GGUFFile, _ c: UniASRConfig) throws {
        func floats(_ key: String) throws -> [Float] {
            guard let value = file.metadata[key] else { throw ParaformerError.missingMetadata(key) }
            guard let items = value.arrayValue else {
                throw ParaformerError.invalidMetadata(key: key, reason: "not an array")
            }
            let numbers = items.compactMap(\.doubleValue).map(Float.init)
            guard numbers.count == items.count else {
                throw ParaformerError.invalidMetadata(key: key, reason: "not an array of numbers")
            }
            return numbers
        }
        try self.init(
            cmvnShift: try floats("uniasr.cmvn.shift"), cmvnScale: try floats("uniasr.cmvn.scale"),
            lfrM: c.lfrM, lfrN: c.lfrN,
            fbank: FbankOptions(
                sampleRate: c.sampleRate, numMelBins: c.nMels, frameLengthMs: Double(c.frameLengthMs),
                frameShiftMs: Double(c.frameShiftMs)))
    }
}
