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
        let scores = ws.tensor([queries, keys])
        let scale = 1 / Float(headDim).squareRoot()
        for h in 0..<heads {
            let off = h * headDim
            BLAS.gemm(
                transA: false, transB: true, m: queries, n: keys, k: headDim, alpha: scale,
                a: q.data + off, lda: q.stride, b: k.data + off, ldb: k.stride,
                c: scores.data, ldc: keys)
            Parallel.forRanges(queries, cost: keys * 8) { rows in
                for r in rows { Kernels.softmaxRow(scores.row(r), n: keys, valid: keys) }
            }
            BLAS.gemm(
                transA: false, transB: false, m: queries, n: headDim, k: keys,
                a: scores.data, lda: keys, b: v.data + off, ldb: v.stride,
                c: context + off, ldc: contextStride)
        }
    }
}
