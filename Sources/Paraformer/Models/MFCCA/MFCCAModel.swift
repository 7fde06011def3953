import Foundation

/// An MFCCA model (FunASR 0.8.8 `models/e2e_asr_mfcca.py MFCCA`): multi-channel features,
/// the MFCCA encoder, a CTC layer and an attention decoder, decoded by the attention + CTC
/// beam search. Read-only after `init`.
struct MFCCAModel {
    static let architecture = "mfcca"
    let config: MFCCAConfig
    let frontend: MFCCAFrontend
    let encoder: MFCCAEncoder
    let decoder: TransformerDecoder
    /// ctc.ctc_lo: [V, D]
    let ctc: Linear

    init(file: GGUFFile) throws {
        guard let arch = file.metadata["general.architecture"]?.stringValue else {
            throw ParaformerError.missingMetadata("general.architecture")
        }
        guard arch == MFCCAModel.architecture else { throw ParaformerError.unsupportedArchitecture(arch) }
        let config = try MFCCAConfig(file: file)
        self.config = config
        let w = WeightStore(file, linearLayout: .outIn)
        frontend = try MFCCAFrontend(w, config)
        encoder = try MFCCAEncoder(w, config)
        decoder = try TransformerDecoder(w, config)
        ctc = try Linear(w, "ctc.ctc_lo", in: config.modelDim, out: config.vocabSize)
        try w.checkAllUsed()
    }

    /// Features of each channel, [T, n_mels] each.
    func features(_ audio: MultiChannelAudio, source: String) throws -> [Tensor] {
        guard audio.channels.count <= config.fusionChannels else {
            throw ParaformerError.invalidAudio(
                source: source,
                reason: "\(audio.channels.count) channels; MFCCA takes 1 to \(config.fusionChannels)")
        }
        let feats = try audio.channels.map { ch in
            try ch.withUnsafeBufferPointer { try frontend($0, source: source) }
        }
        guard MFCCAEncoder.subsampledFrames(feats[0].rows) > 0 else {
            throw ParaformerError.invalidAudio(
                source: source, reason: "\(feats[0].rows) frames is too short for the subsampling (it needs 7)")
        }
        return feats
    }

    /// The CTC log-probabilities [T', V] of the encoder output.
    func ctcLogProbs(_ enc: Tensor) -> Tensor {
        let logits = Tensor(zeros: [enc.rows, config.vocabSize])
        ctc(enc, into: logits)
        let out = Tensor(zeros: logits.shape)
        for t in 0..<enc.rows {
            let lp = logSoftmax(logits.row(t), logits.cols)
            out.row(t).update(from: lp, count: lp.count)
        }
        return out
    }

    /// The beam search of FunASR 0.8.8's `Speech2TextMFCCA` on one encoder output [T', D]:
    /// the decoder (weight 1 − ctc_weight), the CTC prefix scorer on the pre-beam (weight
    /// ctc_weight) and a length bonus (weight penalty).
    func search(_ enc: Tensor, _ options: MFCCASearchOptions) -> [MFCCAHypothesisScores] {
        let v = config.vocabSize
        // ESPnet drops a scorer of weight 0; the indices say where each one's score lands.
        var full: [(scorer: FullScorer, weight: Float)] = []
        var partial: [(scorer: PartialScorer, weight: Float)] = []
        let decoderWeight = 1 - options.ctcWeight
        if decoderWeight != 0 { full.append((TransformerDecoderScorer(decoder, memory: enc), decoderWeight)) }
        if options.penalty != 0 { full.append((LengthBonus(vocabSize: v), options.penalty)) }
        if options.ctcWeight != 0 {
            partial.append((CTCPrefixScorer(logp: ctcLogProbs(enc), blank: config.blankId, eos: config.eosId), options.ctcWeight))
        }
        let search = BeamSearch(
            full: full, partial: partial, beamSize: options.beamSize, vocabSize: v,
            sos: config.sosId, eos: config.eosId, preBeam: options.ctcWeight != 1)
        let ctcIndex = options.ctcWeight != 0 ? full.count : nil
        return search.search(inputLength: enc.rows, maxLenRatio: options.maxLenRatio).map { h in
            MFCCAHypothesisScores(
                sequence: h.tokens, score: h.score, decoder: decoderWeight != 0 ? h.scores[0] : 0,
                ctc: ctcIndex.map { h.scores[$0] } ?? 0)
        }
    }
}

/// A finished hypothesis: its sequence and scores.
struct MFCCAHypothesisScores {
    let sequence: [Int]
    let score: Float
    let decoder: Float
    let ctc: Float
}

/// ESPnet `LengthBonus`: +1 for every token.
final class LengthBonus: FullScorer {
    let vocabSize: Int
    init(vocabSize: Int) { self.vocabSize = vocabSize }
    func initialState() -> ScorerState? { nil }
    func score(_ hyps: [(prefix: [Int], state: ScorerState?)]) -> [(scores: [Float], state: ScorerState?)] {
        hyps.map { _ in ([Float](repeating: 1, count: vocabSize), nil) }
    }
}

/// One hypothesis of an MFCCA search, as FunASR 0.8.8 reports it.
public struct MFCCAHypothesis: Sendable, Equatable, Codable {
    /// The output ids: the search's sequence without `<sos>` and its last token, id 0 removed.
    public var tokenIds: [Int]
    public var tokens: [String]
    /// The text (`sentence_postprocess(tokens)[0]`).
    public var text: String
    /// The weighted total score, and the decoder's and CTC's own scores.
    public var score: Float
    public var decoderScore: Float
    public var ctcScore: Float
    /// The whole sequence, `<sos>` … `<eos>`.
    public var sequence: [Int]
}

/// The result of recognizing one multi-channel recording.
public struct MFCCAResult: Sendable, Equatable, Codable {
    /// The best hypothesis's text ("" when the search ended no hypothesis).
    public var text: String
    /// The best hypotheses, best first (`nbest` of them).
    public var nbest: [MFCCAHypothesis]
    /// Audio duration in seconds, and channels used.
    public var duration: Double
    public var channels: Int
    /// Seconds spent in the features, the encoder and the beam search.
    public var timings: MFCCATimings
}

extension MFCCAResult {
    /// The result in the engine's common shape (no timestamps: MFCCA has none; token times 0).
    public var recognitionResult: RecognitionResult {
        let best = nbest.first
        var stages = StageTimings()
        stages.frontend = timings.frontend
        stages.encoder = timings.encoder
        stages.decoder = timings.search
        let tokens = zip(best?.tokenIds ?? [], best?.tokens ?? []).map { Token(id: $0, text: $1, startMs: 0, endMs: 0) }
        return RecognitionResult(
            text: text, timestampText: text, words: [], timestamps: [], tokens: tokens, duration: duration,
            timings: stages)
    }
}

public struct MFCCATimings: Sendable, Equatable, Codable {
    public var frontend: Double = 0
    public var encoder: Double = 0
    public var search: Double = 0
    public var total: Double { frontend + encoder + search }
}

/// Multi-channel speech recognition with an MFCCA model (`general.architecture` = `mfcca`),
/// token-identical to FunASR 0.8.8. Read-only after `init`, safe to share across threads.
/// ```swift
/// let recognizer = try MFCCARecognizer(modelPath: "mfcca.gguf")
/// let result = try recognizer.transcribe(file: URL(fileURLWithPath: "meeting-8ch.wav"))
/// print(result.text)
/// ```
public final class MFCCARecognizer: @unchecked Sendable {
    /// The model's configuration; `config.search` holds its decoding.yaml defaults.
    public var config: MFCCAConfig { model.config }
    public let tokens: TokenTable
    let model: MFCCAModel
    let file: GGUFFile
    private let pool = WorkspacePool()

    /// Loads (memory-maps) and validates an MFCCA GGUF file.
    public init(modelPath: String, threads: Int? = nil) throws {
        if let threads {
            guard threads >= 1 && threads <= 1024 else {
                throw ParaformerError.invalidOption(name: "threads", reason: "\(threads) is not between 1 and 1024")
            }
            BLAS.setThreads(threads)
        }
        file = try GGUFFile(path: modelPath)
        model = try MFCCAModel(file: file)
        tokens = try TokenTable(file: file, vocabSize: model.config.vocabSize)
    }

    /// Transcribes a sound file, keeping its channels (1 to 8).
    public func transcribe(file url: URL, search: MFCCASearchOptions? = nil) throws -> MFCCAResult {
        try transcribe(try MultiChannelAudio.load(contentsOf: url), search: search, source: url.path)
    }

    /// Transcribes `[channels][samples]` in [−1, 1].
    public func transcribe(channels: [[Float]], sampleRate: Int, search: MFCCASearchOptions? = nil) throws -> MFCCAResult {
        try transcribe(try MultiChannelAudio(channels: channels, sampleRate: sampleRate), search: search, source: "samples")
    }

    /// Transcribes interleaved samples of `channelCount` channels.
    public func transcribe(
        interleaved: [Float], channelCount: Int, sampleRate: Int, search: MFCCASearchOptions? = nil
    ) throws -> MFCCAResult {
        try transcribe(
            try MultiChannelAudio(interleaved: interleaved, channelCount: channelCount, sampleRate: sampleRate),
            search: search, source: "samples")
    }

    public func transcribe(_ audio: MultiChannelAudio, search: MFCCASearchOptions? = nil, source: String = "samples")
        throws -> MFCCAResult
    {
        let options = search ?? model.config.search
        try options.validate()
        var audio = audio
        if audio.sampleRate != model.config.sampleRate {
            audio = try MultiChannelAudio(
                channels: audio.channels.map {
                    try AudioBuffer(samples: $0, sampleRate: audio.sampleRate, source: source)
                        .resampled(to: model.config.sampleRate).samples
                }, sampleRate: model.config.sampleRate, source: source)
        }
        let clock = ContinuousClock()
        var timings = MFCCATimings()
        let t0 = clock.now
        let feats = try model.features(audio, source: source)
        let t1 = clock.now
        let ws = pool.take()
        defer { pool.put(ws) }
        let enc = model.encoder(feats, ws)
        let t2 = clock.now
        let hyps = model.search(enc, options)
        let t3 = clock.now
        timings.frontend = (t1 - t0).seconds
        timings.encoder = (t2 - t1).seconds
        timings.search = (t3 - t2).seconds
        let nbest = hyps.prefix(options.nbest).map { h -> MFCCAHypothesis in
            let ids = Array(h.sequence.dropFirst().dropLast()).filter { $0 != 0 }
            let toks = ids.map { tokens[$0] }
            return MFCCAHypothesis(
                tokenIds: ids, tokens: toks, text: TextPostprocessor.postprocess(tokens: toks).text,
                score: h.score, decoderScore: h.decoder, ctcScore: h.ctc, sequence: h.sequence)
        }
        return MFCCAResult(
            text: nbest.first?.text ?? "", nbest: nbest,
            duration: Double(audio.channels[0].count) / Double(audio.sampleRate), channels: audio.channels.count,
            timings: timings)
    }
}
