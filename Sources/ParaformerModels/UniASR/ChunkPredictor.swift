import Foundation
import ParaformerCore

/// A `CifPredictorV2` over a chunked encoder output, and the SCAMA cross-attention mask it
/// implies for the decoder.
///
/// ```
/// h   = chunked encoder output, FSMN pad rows zeroed        // [L, D]
/// α   = CIF weights of h, kept only on each chunk's S stride rows (offsets F+P ..< F+P+S)
/// Σα  = the predicted token count (float);  embeddings = CIF(h, α): round(Σα) rows
/// mask: floor(Σα) rows; row j attends to the C data rows of the chunk holding token j's
///       boundary, q_j = min(first t with ⌊cumsum(α)[t]⌋ ≥ j + 1, L − 1)
/// ```
/// FunASR: uniasr/model.py `calc_predictor_mask`, paraformer/cif_predictor.py
/// `CifPredictorV2.forward`, `gen_frame_alignments`; scama/chunk_utilis.py
/// `build_scama_mask_for_cross_attention_decoder` (chunk_size 1, look-back 0).
struct ChunkPredictor {
    let cif: CIFPredictor

    init(_ w: WeightStore, _ prefix: String, dim: Int, _ c: UniASRConfig.Predictor) throws {
        cif = try CIFPredictor(w, prefix, dim: dim, c)
    }

    struct Output {
        /// CIF weights over the chunked sequence [L] (zero off the stride rows).
        var alphas: [Float]
        /// Σα (float32, from a float64 sum).
        var alphaSum: Float
        /// The acoustic embeddings [max(N, 1), D] (in `ws`); the first N = round(Σα) rows hold them.
        var embeddings: Tensor
        var embeddingCount: Int
        /// Per SCAMA mask row (floor(Σα) of them): the chunk whose data rows it attends to.
        var maskChunks: [Int]
    }

    func callAsFunction(_ compact: Tensor, chunks: OverlapChunks, _ ws: Workspace) -> Output {
        let d = cif.dim
        let length = chunks.chunkedLength
        let hidden = ws.zeros([max(length, 1), d])  // [L, D]
        for k in 0..<chunks.count {
            for r in 0..<chunks.rows(ofChunk: k) {
                hidden.row(chunks.chunkedPosition(chunk: k, row: r)).update(
                    from: compact.row(k * chunks.chunk + r), count: d)
            }
        }
        let raw = cif.alphas(hidden, layout: BatchLayout(single: length), ws)  // [L]
        var alphas = [Float](repeating: 0, count: length)
        let span = chunks.chunk + chunks.shift
        for p in 0..<length {
            let offset = p % span - chunks.shift - chunks.padLeft  // mask_chunk_predictor
            if offset >= 0 && offset < chunks.stride { alphas[p] = raw[p] }
        }
        var total = alphas.reduce(0.0) { $0 + Double($1) }
        if !total.isFinite || total > 1e7 {
            // Only broken weights give non-finite weights; decode nothing rather than trap.
            alphas = [Float](repeating: 0, count: length)
            total = 0
        }
        let alphaSum = Float(total)
        let firing = alphas.withUnsafeBufferPointer {
            cif.fire(alphas: $0.baseAddress!, count: length, hidden: hidden.data)
        }
        let n = max(firing.tokenCount, 0)
        let embeddings = ws.zeros([max(n, 1), d])  // [N, D]
        if n > 0 {
            cif.embeddings(firing, hidden: hidden.data, frames: length, into: embeddings.slice(0..<n), ws)
        }
        // gen_frame_alignments: ⌊Σα⌋ tokens; the boundary of token j is the first frame whose
        // float32 prefix sum (accumulated in float64, as torch.cumsum on CPU) reaches j + 1.
        let rows = CIF.count(Double(alphaSum.rounded(.down)), limit: length * 100)
        var maskChunks: [Int] = []
        maskChunks.reserveCapacity(max(rows, 0))
        var prefix = 0.0
        var t = 0
        var floorAt = [Int](repeating: 0, count: length)
        for p in 0..<length {
            prefix += Double(alphas[p])
            floorAt[p] = CIF.count(Double(Float(prefix).rounded(.down)), limit: 1 << 40)
        }
        for j in 0..<max(rows, 0) {
            while t < length && floorAt[t] < j + 1 { t += 1 }
            maskChunks.append(min(t, length - 1) / span)
        }
        return Output(
            alphas: alphas, alphaSum: alphaSum, embeddings: embeddings, embeddingCount: n,
            maskChunks: maskChunks)
    }
}

extension CIFPredictor {
    /// The `CifPredictorV2` named `prefix` over encoder outputs of width `dim`.
    init(_ w: WeightStore, _ prefix: String, dim d: Int, _ c: UniASRConfig.Predictor) throws {
        try self.init(
            w, prefix: prefix,
            PredictorConfig(
                dim: d, threshold: c.threshold, lOrder: c.lOrder, rOrder: c.rOrder,
                tailThreshold: c.tailThreshold, smoothFactor: c.smoothFactor,
                noiseThreshold: c.noiseThreshold))
    }
}
