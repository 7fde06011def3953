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
package enum Attention {
    package struct Operand {
        package let data: UnsafePointer<Float>
        /// Row stride in floats.
        package let stride: Int

        package init(data: UnsafePointer<Float>, stride: Int) {
            self.data = data
            self.stride = stride
        }
    }

    package static func multiHead(
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
        // Query rows in blocks, so each score buffer stays at most `scoreBudget` floats however
        // long the utterance (attention memory is O(T) instead of O(T²)). The (head, block)
        // items are shared out over the threads, each with its own score buffer, so a thread
        // runs QKᵀ, softmax and PV of its items with no hand-over in between.
        let block = max(1, min(queries, scoreBudget / keys))
        let blocksPerHead = (queries + block - 1) / block
        let items = heads * blocksPerHead
        let work = heads * queries * keys * headDim
        let parts = max(1, min(Parallel.threads, items, work / BLAS.minPanelWork))
        let scores = ws.tensor([parts * block, keys])
        let scale = 1 / Float(headDim).squareRoot()
        Parallel.forParts(parts) { part in
            let buffer = scores.data + part * block * keys
            for item in Parallel.share(items, part: part, of: parts) {
                let off = (item / blocksPerHead) * headDim
                let r0 = (item % blocksPerHead) * block
                let rows = min(block, queries - r0)
                BLAS.gemmOnThisThread(
                    transA: false, transB: true, m: rows, n: keys, k: headDim, alpha: scale,
                    a: q.data + r0 * q.stride + off, lda: q.stride, b: k.data + off, ldb: k.stride,
                    c: buffer, ldc: keys)
                for r in 0..<rows { Kernels.softmaxRow(buffer + r * keys, n: keys, valid: keys) }
                BLAS.gemmOnThisThread(
                    transA: false, transB: false, m: rows, n: headDim, k: keys,
                    a: buffer, lda: keys, b: v.data + off, ldb: v.stride,
                    c: context + r0 * contextStride + off, ldc: contextStride)
            }
        }
    }

    /// Most floats of attention scores held at once (16 MiB).
    package static let scoreBudget = 4 << 20
}
