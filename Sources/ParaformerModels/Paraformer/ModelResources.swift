import ParaformerCore
/// Builds the pieces of a model that live in GGUF metadata (vocabulary, CMVN, frontend options).
extension TokenTable {
    /// The vocabulary in `tokenizer.ggml.tokens`, which must have `vocabSize` entries.
    package init(file: GGUFFile, vocabSize: Int) throws {
        let key = MetadataKey.tokens.rawValue
        guard let value = file.metadata[key] else { throw ParaformerError.missingMetadata(key) }
        guard let items = value.arrayValue else {
            throw ParaformerError.invalidMetadata(key: key, reason: "not an array")
        }
        let strings = items.compactMap(\.stringValue)
        guard strings.count == items.count else {
            throw ParaformerError.invalidMetadata(key: key, reason: "not an array of strings")
        }
        guard strings.count == vocabSize else {
            throw ParaformerError.invalidMetadata(
                key: key, reason: "\(strings.count) tokens, but the model's vocabulary has \(vocabSize)")
        }
        self.init(tokens: strings)
    }
}

extension OfflineFrontend {
    /// The frontend a model was trained with: its CMVN, LFR and fbank settings.
    package init(file: GGUFFile, hparams hp: Hyperparameters) throws {
        func floats(_ key: MetadataKey) throws -> [Float] {
            guard let value = file.metadata[key.rawValue] else { throw ParaformerError.missingMetadata(key.rawValue) }
            guard let items = value.arrayValue else {
                throw ParaformerError.invalidMetadata(key: key.rawValue, reason: "not an array")
            }
            let numbers = items.compactMap(\.doubleValue).map(Float.init)
            guard numbers.count == items.count else {
                throw ParaformerError.invalidMetadata(key: key.rawValue, reason: "not an array of numbers")
            }
            return numbers
        }
        try self.init(
            cmvnShift: try floats(.cmvnShift), cmvnScale: try floats(.cmvnScale), lfrM: hp.lfrM,
            lfrN: hp.lfrN,
            fbank: FbankOptions(
                sampleRate: hp.sampleRate, numMelBins: hp.nMels,
                frameLengthMs: Double(hp.frameLengthMs), frameShiftMs: Double(hp.frameShiftMs)),
            cmvnKey: MetadataKey.cmvnShift.rawValue)
    }
}
