import Foundation
import ParaformerCore

/// An MFCCA model (FunASR 0.8.8 `models/e2e_asr_mfcca.py MFCCA`): multi-channel features,
/// the MFCCA encoder, a CTC layer and an attention decoder, decoded by the attention + CTC
/// beam search. Read-only after `init`; every call brings its own `Workspace`.
package final class MFCCAModel: LoadedModel, Sendable {
    package static let architecture = "mfcca"
    package static let family = ModelFamily(
        name: "MFCCA", architectures: [architecture], kind: .speechRecognition, load: { try MFCCAModel(file: $0) })
    package let config: MFCCAConfig
    package let frontend: MFCCAFrontend
    package let encoder: MFCCAEncoder
    package let decoder: TransformerDecoder
    /// ctc.ctc_lo: [V, D]
    package let ctc: Linear
    package let tokens: TokenTable
    /// Keeps the mapping alive for the weight views.
    package let file: GGUFFile

    package init(file: GGUFFile) throws {
        self.file = file
        let arch = try ModelRegistry.architecture(of: file)
        guard arch == MFCCAModel.architecture else { throw ParaformerError.unsupportedArchitecture(arch) }
        let config = try MFCCAConfig(file: file)
        self.config = config
        let w = WeightStore(file, linearLayout: .outIn)
        frontend = try MFCCAFrontend(w, config)
        encoder = try MFCCAEncoder(w, config)
        decoder = try TransformerDecoder(w, config)
        ctc = try Linear(w, "ctc.ctc_lo", in: config.modelDim, out: config.vocabSize)
        try w.checkAllUsed()
        tokens = try TokenTable(file: file, vocabSize: config.vocabSize)
    }

    /// Features of each channel, [T, n_mels] each.
    package func features(_ audio: MultiChannelAudio, source: String) throws -> [Tensor] {
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
    package func ctcLogProbs(_ enc: Tensor) -> Tensor {
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
    /// the engine's one `BeamSearch` with `MFCCASearchScorer` (decoder, length bonus, CTC prefix
    /// scorer on the pre-beam). The ended hypotheses, best first.
    package func search(_ enc: Tensor, _ options: MFCCASearchOptions, _ ws: Workspace) -> [BeamHypothesis] {
        let scorer = MFCCASearchScorer(self, memory: enc, options)
        let maxLength: Int
        if options.maxLenRatio == 0 {
            maxLength = enc.rows
        } else if options.maxLenRatio < 0 {
            maxLength = Int(min(-options.maxLenRatio, 1e6))
        } else {
            maxLength = max(1, Int(min(options.maxLenRatio * Double(enc.rows), 1e6)))
        }
        let search = BeamSearch(scorer: scorer, beamSize: options.beamSize, sos: config.sosId, eos: config.eosId)
        return search(maxLength: maxLength, ws)
    }
}

/// ESPnet's weighted scorers as `Speech2TextMFCCA` sets them up, as one `BeamSearchScorer`:
/// ```
/// s(v) = (1 − λ)·decoder(v) + penalty·1                    every token (full scorers)
/// pre-beam = the ⌊1.5·beam⌋ best of s                        (pre_beam_score_key "full")
/// s(v) += λ·ctc_prefix(v) on the pre-beam, −∞ elsewhere       (partial scorer; ESPnet `beam`)
/// ```
/// λ = ctc_weight. A scorer of weight 0 is dropped (λ = 0: no CTC and no pre-beam); λ = 1
/// drops the decoder and scores the CTC on every token (no pre-beam, as 0.8.8 sets it).
/// The CTC state of a child is chosen from its parent's candidates by the token it took
/// (ESPnet `select_state`).
package final class MFCCASearchScorer: BeamSearchScorer {
    package struct State {
        var decoder: TransformerDecoderCache?
        /// The CTC state of the prefix; for a new child, its parent's prefix state and the
        /// candidates scored from it.
        var ctc: CTCPrefixScorer.State?
        var ctcCandidates: [Int: CTCPrefixScorer.State] = [:]
    }

    package let vocabularySize: Int
    let decoder: TransformerDecoderScorer?
    let ctc: CTCPrefixScorer?
    let decoderWeight: Float
    let ctcWeight: Float
    let penalty: Float
    let preBeamSize: Int?

    package init(_ model: MFCCAModel, memory enc: Tensor, _ options: MFCCASearchOptions) {
        vocabularySize = model.config.vocabSize
        decoderWeight = 1 - options.ctcWeight
        ctcWeight = options.ctcWeight
        penalty = options.penalty
        decoder = decoderWeight != 0 ? TransformerDecoderScorer(model.decoder, memory: enc) : nil
        ctc = ctcWeight != 0
            ? CTCPrefixScorer(logp: model.ctcLogProbs(enc), blank: model.config.blankId, eos: model.config.eosId) : nil
        let pre = Int(1.5 * Float(options.beamSize))
        preBeamSize = (ctc != nil && ctcWeight != 1 && pre < vocabularySize) ? pre : nil
    }

    package func initialState() -> State { State(decoder: nil, ctc: ctc?.initialState()) }

    package func score(prefixes: [[Int]], states: inout [State], step: Int, into scores: Tensor, _ ws: Workspace) {
        let v = vocabularySize
        let dec = decoder?.score(prefixes.indices.map { (prefixes[$0], states[$0].decoder) }, ws)
        var top: [Int] = []
        for h in prefixes.indices {
            var st = states[h]
            let prefix = prefixes[h]
            if let ctc, step > 0, let parent = st.ctc {
                // select_state: the candidate for the token this hypothesis took.
                let token = prefix[prefix.count - 1]
                st.ctc = st.ctcCandidates[token]
                    ?? ctc.score(prefix: Array(prefix.dropLast()), state: parent, ids: [token])[0].state
            }
            let row = scores.row(h)
            row.update(repeating: 0, count: v)
            if let dec {
                let logp = dec[h].logp
                for k in 0..<v { row[k] += decoderWeight * logp[k] }
                st.decoder = dec[h].cache
            }
            if penalty != 0 { for k in 0..<v { row[k] += penalty * 1 } }
            if let ctc, let current = st.ctc {
                let ids: [Int]
                if let preBeamSize {
                    BeamSearch<MFCCASearchScorer>.topK(row, count: v, k: preBeamSize, into: &top)
                    ids = top
                } else {
                    ids = Array(0..<v)
                }
                let r = ctc.score(prefix: prefix, state: current, ids: ids)
                var candidates: [Int: CTCPrefixScorer.State] = [:]
                for (j, id) in ids.enumerated() {
                    row[id] += ctcWeight * r[j].score
                    candidates[id] = r[j].state
                }
                if preBeamSize != nil {
                    for k in 0..<v where candidates[k] == nil { row[k] = -Float.infinity }
                }
                st.ctcCandidates = candidates
            }
            states[h] = st
        }
    }
}

/// log_softmax of n values: x − max − log Σ exp(x − max).
package func logSoftmax(_ p: UnsafePointer<Float>, _ n: Int) -> [Float] {
    var m = -Float.infinity
    for i in 0..<n { m = max(m, p[i]) }
    var s: Float = 0
    for i in 0..<n { s += expf(p[i] - m) }
    let ls = logf(s)
    return (0..<n).map { p[$0] - m - ls }
}
