import ParaformerCore

/// Every metadata key a CT-Transformer punctuation model file holds (Weights/FORMAT.md,
/// "Punctuation models").
package enum PunctuationMetadataKey: String, CaseIterable {
    case architecture = "general.architecture"
    case vocabSize = "ct_punc.vocab_size"
    case embedUnit = "ct_punc.embed_unit"
    case encoderInputSize = "ct_punc.encoder.input_size"
    case encoderOutputSize = "ct_punc.encoder.output_size"
    case encoderHeads = "ct_punc.encoder.attention_heads"
    case encoderLinearUnits = "ct_punc.encoder.linear_units"
    case encoderBlocks = "ct_punc.encoder.num_blocks"
    case encoderKernelSize = "ct_punc.encoder.kernel_size"
    case encoderSanmShift = "ct_punc.encoder.sanm_shift"
    case punctuationList = "ct_punc.punc_list"
    case sentenceEndId = "ct_punc.sentence_end_id"
    case unkSymbol = "ct_punc.unk_symbol"
    case tokens = "tokenizer.ggml.tokens"
    case jiebaWords = "ct_punc.jieba.words"
    case jiebaCounts = "ct_punc.jieba.counts"
    case jiebaTotal = "ct_punc.jieba.total"
}

/// The configuration of a CT-Transformer punctuation model, read only from GGUF metadata
/// (written by Tools/convert.py from FunASR's config.yaml and tokens.json).
package struct PunctuationConfig: Sendable, Equatable {
    /// `ct-transformer` (model `CTTransformer`, encoder `SANMEncoder`) or
    /// `ct-transformer-streaming` (`CTTransformerStreaming`, encoder `SANMVadEncoder`).
    package enum Architecture: String, Sendable, CaseIterable {
        case offline = "ct-transformer"
        case streaming = "ct-transformer-streaming"
    }

    package var architecture: Architecture
    /// Vocabulary size V (`len(tokens.json)`).
    package var vocabSize: Int
    /// `model_conf.embed_unit`, E: the embedding width, equal to `encoder_conf.input_size`.
    package var embedUnit: Int
    /// `encoder_conf.output_size` (= `model_conf.att_unit`), the model dimension D.
    package var modelDim: Int
    /// `encoder_conf.attention_heads`.
    package var heads: Int
    /// `encoder_conf.linear_units`.
    package var linearUnits: Int
    /// `encoder_conf.num_blocks` (`encoders0` plus `num_blocks − 1` `encoders.*`).
    package var blocks: Int
    /// `encoder_conf.kernel_size` of the FSMN memory block.
    package var kernelSize: Int
    /// `encoder_conf.sanm_shfit` (0 offline; the streaming model's FSMN is causal with 5).
    package var sanmShift: Int
    /// `model_conf.punc_list`: the class names, in id order (`<unk>`, `_`, `，`, `。`, `？`, `、`).
    package var punctuationList: [String]
    /// The encoder's shape (`encoder_conf`).
    package var encoder: EncoderConfig
    /// `model_conf.sentence_end_id` (3): the id FunASR writes where it cuts a long sentence.
    package var sentenceEndId: Int
    /// `tokenizer_conf.unk_symbol` (`<unk>`): out-of-vocabulary words map to its id.
    package var unkSymbol: String

    /// Reads and validates every field.
    package init(_ file: GGUFFile) throws {
        typealias Key = PunctuationMetadataKey
        func value(_ key: Key) throws -> GGUFFile.Value {
            guard let v = file.metadata[key.rawValue] else {
                throw ParaformerError.missingMetadata(key.rawValue)
            }
            return v
        }
        func int(_ key: Key) throws -> Int {
            let v = try value(key)
            guard let i = v.intValue else {
                throw ParaformerError.invalidMetadata(key: key.rawValue, reason: "not an integer")
            }
            return i
        }
        func string(_ key: Key) throws -> String {
            let v = try value(key)
            guard let s = v.stringValue else {
                throw ParaformerError.invalidMetadata(key: key.rawValue, reason: "not a string")
            }
            return s
        }
        let archName = try string(.architecture)
        guard let arch = Architecture(rawValue: archName) else {
            throw ParaformerError.unsupportedArchitecture(archName)
        }
        architecture = arch
        vocabSize = try int(.vocabSize)
        embedUnit = try int(.embedUnit)
        let inputSize = try int(.encoderInputSize)
        modelDim = try int(.encoderOutputSize)
        heads = try int(.encoderHeads)
        linearUnits = try int(.encoderLinearUnits)
        blocks = try int(.encoderBlocks)
        kernelSize = try int(.encoderKernelSize)
        sanmShift = try int(.encoderSanmShift)
        sentenceEndId = try int(.sentenceEndId)
        unkSymbol = try string(.unkSymbol)
        guard let items = try value(.punctuationList).arrayValue else {
            throw ParaformerError.invalidMetadata(key: Key.punctuationList.rawValue, reason: "not an array")
        }
        punctuationList = items.compactMap(\.stringValue)

        func check(_ ok: Bool, _ key: Key, _ reason: String) throws {
            if !ok { throw ParaformerError.invalidMetadata(key: key.rawValue, reason: reason) }
        }
        try check(punctuationList.count == items.count, .punctuationList, "not an array of strings")
        try check(
            punctuationList.count >= 2 && punctuationList.count <= 64, .punctuationList,
            "\(punctuationList.count) classes is out of range")
        try check(vocabSize > 0, .vocabSize, "must be positive")
        try check(embedUnit > 0 && embedUnit <= 8192, .embedUnit, "\(embedUnit) is out of range")
        try check(inputSize == embedUnit, .encoderInputSize, "\(inputSize) is not embed_unit \(embedUnit)")
        try check(modelDim > 0 && modelDim <= 8192, .encoderOutputSize, "\(modelDim) is out of range")
        try check(heads > 0 && modelDim % heads == 0, .encoderHeads, "must divide the model dimension")
        try check(blocks >= 1 && blocks <= 256, .encoderBlocks, "\(blocks) is out of range")
        try check(kernelSize >= 1 && kernelSize <= 255, .encoderKernelSize, "out of range")
        try check(sanmShift >= 0 && sanmShift < kernelSize, .encoderSanmShift, "out of range")
        try check(linearUnits > 0, .encoderLinearUnits, "must be positive")
        encoder = EncoderConfig(
            inputSize: inputSize, dim: modelDim, heads: heads, linearUnits: linearUnits,
            blocks: blocks, kernelSize: kernelSize, sanmShift: sanmShift)
        try check(
            sentenceEndId >= 0 && sentenceEndId < punctuationList.count, .sentenceEndId,
            "\(sentenceEndId) is not a class id")
    }
}
