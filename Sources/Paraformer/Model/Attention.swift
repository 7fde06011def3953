/// Scaled dot-product attention over all heads of one sequence, reading Q, K and V in place
/// from the projections (strided head slices, no copies), softmax over the first `keys` keys.
///
/// ```
/// for head h:  S = (Q_h · K_hᵀ) / sqrt(dk)     // [Tq, Tk]
///              P = softmax(S)                  // rows, over the valid keys
///              ctx[:, h·dk ..< (h+1)·dk] = P · V_h
/// ```
/// FunASR: sanm/attention.py `MultiHeadedAttentionSANM.forward_attention` and
/// `MultiHeadedAttentionCrossAtt.forward`.
enum Attention {
    struct Operand {
        let data: UnsafePointer<Float>
        /// Row stride in floats.
        let stride: Int
    }

    static func multiHead(
        q: Operand, k: Operand, v: Operand, queries: Int, keys: Int, heads: Int, headDim: Int,
        context: UnsafeMutablePointer<Float>, contextStride: Int, _ ws: Workspace
    ) {
        guard queries > 0 else { return }
        if keys == 0 {
            // FunASR: softmax over no keys is NaN, then masked to 0 → the context is 0.
            for r in 0..<queries { (context + r * contextStride).update(repeating: 0, count: heads * headDim) }
            return
        }
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        // Query rows in blocks, so the score buffer stays at most `scoreBudget` floats however
        // long the utterance (attention memory is O(T) instead of O(T²)).
        let block = max(1, min(queries, scoreBudget / keys))
        let scores = ws.tensor([block, keys])
        let scale = 1 / Float(headDim).squareRoot()
        for h in 0..<heads {
            let off = h * headDim
            var r0 = 0
            while r0 < queries {
                let rows = min(block, queries - r0)
                BLAS.gemm(
                    transA: false, transB: true, m: rows, n: keys, k: headDim, alpha: scale,
                    a: q.data + r0 * q.stride + off, lda: q.stride, b: k.data + off, ldb: k.stride,
                    c: scores.data, ldc: keys)
                Parallel.forRanges(rows, cost: keys * 8) { range in
                    for r in range { Kernels.softmaxRow(scores.row(r), n: keys, valid: keys) }
                }
                BLAS.gemm(
                    transA: false, transB: false, m: rows, n: headDim, k: keys,
                    a: scores.data, lda: keys, b: v.data + off, ldb: v.stride,
                    c: context + r0 * contextStride + off, ldc: contextStride)
                r0 += rows
            }
        }
    }

    /// Most floats of attention scores held at once (16 MiB).
    static let scoreBudget = 4 << 20
}
