import Foundation
import ParaformerCore

/// UniASR: a two-pass model with three decoding modes (`UniASRDecodingMode`), each an
/// autoregressive beam search over a chunked encoder's output.
///
/// ```
/// fast:     enc = encoder(feats, chunks₀)                              // [n·C, D]
///           (α, e, mask) = predictor(enc);  beam search with decoder over enc
/// normal:   h = stride_conv([feats | unchunk(encoder(feats, chunks₀))])  // [T/2, 560 + D]
///           enc2 = encoder2(h, chunks₀);  predictor2, decoder2 over enc2
/// offline:  as normal with chunk setting 1 in both encoders (still chunked)
/// maxlen = int(Σα + token_num_relax); nothing is decoded below Σα = 1
/// ```
/// Read-only after init; the mode is an argument of every call (FunASR keeps the first call's
/// mode for the model's lifetime; see the README).
/// FunASR: uniasr/model.py `UniASR.inference`, `encode`, `encode2`.
package final class UniASRModel: LoadedModel, @unchecked Sendable {
    package static let architecture = "uniasr"

    /// The registry entry.
    package static let family = ModelFamily(
        name: "UniASR", architectures: [architecture], kind: .speechRecognition,
        load: { try UniASRModel(file: $0) })
    package let config: UniASRConfig
    let encoder: ChunkedSANMEncoder
    let encoder2: ChunkedSANMEncoder
    let strideConv: StrideConv
    let predictor: ChunkPredictor
    let predictor2: ChunkPredictor
    let decoder: SCAMADecoder
    let decoder2: SCAMADecoder
    package let file: GGUFFile

    package init(file: GGUFFile) throws {
        self.file = file
        let c = try UniASRConfig(file)
        config = c
        let w = WeightStore(file, linearLayout: c.linearLayout)
        encoder = try ChunkedSANMEncoder(w, "encoder", c.encoder)
        predictor = try ChunkPredictor(w, "predictor", dim: c.encoder.dim, c.predictor)
        decoder = try SCAMADecoder(w, "decoder", c.decoder, vocabSize: c.vocabSize)
        strideConv = try StrideConv(w, "stride_conv", channels: c.encoder2.inputSize, c)
        encoder2 = try ChunkedSANMEncoder(w, "encoder2", c.encoder2)
        predictor2 = try ChunkPredictor(w, "predictor2", dim: c.encoder2.dim, c.predictor2)
        decoder2 = try SCAMADecoder(w, "decoder2", c.decoder2, vocabSize: c.vocabSize)
        try w.checkAllUsed()
    }

    /// What one utterance produced.
    package struct Output {
        package var mode: UniASRDecodingMode
        /// Σα of the predictor the mode uses.
        package var alphaSum: Float
        /// The ended hypotheses, best first (tokens sos … eos); empty below Σα = 1.
        package var hypotheses: [BeamHypothesis]
        /// The best hypothesis without sos, eos and blanks.
        package var tokenIds: [Int]
        package var timings = StageTimings()
        /// Beam search bookkeeping and scorer time (seconds).
        package var searchSeconds = 0.0
        package var scorerSeconds = 0.0
        /// For parity tests: encoder outputs in FunASR's chunked layout ([L, D], pad rows
        /// zero), CIF weights [L], embeddings [N, D], mask chunk per row.
        package var encoderOut: [Float]? = nil
        package var encoder2Out: [Float]? = nil
        package var alphas: [Float] = []
        package var embeddings: [Float]? = nil
        package var maskChunks: [Int] = []
    }

    /// Decodes features [T, 560] in `mode`.
    package func run(
        _ features: Tensor, mode: UniASRDecodingMode, beamSize: Int? = nil, keepIntermediates: Bool = false,
        _ ws: Workspace
    ) -> Output {
        let clock = ContinuousClock()
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        var out = Output(mode: mode, alphaSum: 0, hypotheses: [], tokenIds: [])
        let t = features.rows
        guard t > 0 else { return out }
        let index = mode.chunkIndex
        var t0 = clock.now
        let chunks = OverlapChunks(frames: t, config.encoder, index: index)
        let enc = encoder(features, chunks: chunks, ws)  // [n·C, D]
        if keepIntermediates { out.encoderOut = Self.chunkedLayout(enc, chunks) }

        var memory = enc
        var memoryChunks = chunks
        if mode != .fast {
            let d = config.encoder.dim
            let width = config.encoder2.inputSize
            let joined = ws.tensor([t, width])  // [T, 560 + D]: residual input, unchunked encoder
            let f = features.cols
            for frame in 0..<t {
                let dst = joined.row(frame)
                dst.update(from: features.row(frame), count: f)
                (dst + f).update(from: enc.row(chunks.compactRow(ofFrame: frame)), count: d)
            }
            let reduced = strideConv(joined, ws)  // [T', 560 + D]
            let t2 = strideConv.outputFrames(t)
            memoryChunks = OverlapChunks(frames: t2, config.encoder2, index: index)
            memory = encoder2(reduced.slice(0..<t2), chunks: memoryChunks, ws)  // [n₂·C₂, D]
            if keepIntermediates { out.encoder2Out = Self.chunkedLayout(memory, memoryChunks) }
        }
        out.timings.encoder = (clock.now - t0).seconds

        t0 = clock.now
        let pred = (mode == .fast ? predictor : predictor2)(memory, chunks: memoryChunks, ws)
        out.alphaSum = pred.alphaSum
        out.alphas = pred.alphas
        out.maskChunks = pred.maskChunks
        if keepIntermediates {
            out.embeddings = Array(
                UnsafeBufferPointer(
                    start: pred.embeddings.data, count: pred.embeddingCount * pred.embeddings.cols))
        }
        out.timings.predictor = (clock.now - t0).seconds
        // FunASR fails below Σα = 1: its SCAMA mask has no rows (README: "UniASR").
        guard !pred.maskChunks.isEmpty else { return out }

        t0 = clock.now
        let dec = mode == .fast ? decoder : decoder2
        let scorer = SCAMAScorer(
            decoder: dec, keyValues: dec.keyValues(memory, ws), embeddings: pred.embeddings,
            embeddingCount: pred.embeddingCount,
            maskRanges: pred.maskChunks.map { k in
                (k * memoryChunks.chunk)..<(k * memoryChunks.chunk + memoryChunks.rows(ofChunk: k))
            })
        let search = BeamSearch(
            scorer: scorer, beamSize: beamSize ?? config.beamSize, sos: config.sosId, eos: config.eosId)
        // FunASR: maxlen = int(pre_token_length.sum().item() + token_num_relax)
        let maxLength = Int(Double(pred.alphaSum) + Double(config.tokenNumRelax))
        var searchTimings = BeamSearch<SCAMAScorer>.Timings()
        out.hypotheses = search.run(maxLength: maxLength, ws, timings: &searchTimings)
        out.searchSeconds = searchTimings.search
        out.scorerSeconds = searchTimings.scorer
        if let best = out.hypotheses.first {
            out.tokenIds = Array(best.tokens.dropFirst().dropLast()).filter { $0 != config.blankId }
        }
        out.timings.decoder = (clock.now - t0).seconds
        return out
    }

    /// A compact encoder output [n·C, D] in FunASR's chunked layout [L, D] (pad rows zero).
    package static func chunkedLayout(_ compact: Tensor, _ chunks: OverlapChunks) -> [Float] {
        let d = compact.cols
        var a = [Float](repeating: 0, count: chunks.chunkedLength * d)
        for k in 0..<chunks.count {
            for r in 0..<chunks.rows(ofChunk: k) {
                let p = chunks.chunkedPosition(chunk: k, row: r)
                for c in 0..<d { a[p * d + c] = compact[(k * chunks.chunk + r) * d + c] }
            }
        }
        return a
    }
}

/// UniASR's result text: FunASR drops only id 0 (blank) from the best hypothesis and leaves
/// `<s>`/`<unk>` to `sentence_postprocess`, which drops them (uniasr/model.py `inference`).
package enum UniASRRecognition {
    package static func text(_ ids: [Int], _ tokens: TokenTable) -> String {
        TextPostprocessor.text(from: ids.filter { $0 >= 0 && $0 < tokens.count }.map { tokens[$0] })
    }
}
