import ParaformerCore
/// Per-stream CIF carry-over (FunASR `cache["encoder"]["cif_alphas"]`, `["cif_hidden"]`):
/// the weight integrated since the last fire and the hidden state it stands for.
package struct StreamingCIFState {
    /// Integrated weight not yet fired (< threshold).
    package var alpha: Float = 0
    /// The carried frame: the partial weighted sum divided by `alpha` (or the raw sum when
    /// `alpha` is 0), so that re-integrating it with weight `alpha` gives the sum back. [D]
    package var hidden: [Float]

    package init(dim: Int) { hidden = [Float](repeating: 0, count: dim) }

    /// Back to the state of a new stream, keeping the buffer.
    package mutating func reset() {
        alpha = 0
        for i in hidden.indices { hidden[i] = 0 }
    }
}

/// What the CIF produced for one window.
package struct StreamingFiring {
    /// The window's weights after FunASR's zeroing (left context always, look-ahead unless
    /// final). [T_w]
    package var alphas: [Float]
    /// Acoustic embeddings that fired, [N, D] (in the caller's workspace).
    package var embeddings: Tensor
    /// Window rows where each embedding fired (T_w for the final tail frame).
    package var fireRows: [Int]
    package var count: Int { fireRows.count }
}

/// FunASR's `CifPredictorV2.forward_chunk`: alphas over the window, the left context and
/// (unless final) the look-ahead zeroed, then the loop form of integrate-and-fire in
/// float32 over [carry; window; tail (final only)].
///
/// ```
/// a        = σ(w_out · relu(conv1d(W) + b) + b_out)     // [T_w], zero pad at the window ends
/// a[:left] = 0;  if !final: a[left+chunk:] = 0
/// frames   = [(carry.hidden, carry.alpha); (W_t, a_t)…; (0, tail_threshold) if final]
/// for (h, a): if s + a < 1 { s += a; f += a·h } else { f += (1 − s)·h; emit f; s += a − 1; f = s·h }
/// carry    = (f / s, s)   (f when s = 0)
/// ```
/// FunASR: paraformer/cif_predictor.py `CifPredictorV2.forward_chunk`.
package struct StreamingPredictor {
    package let predictor: CIFPredictor

    package func callAsFunction(
        _ hidden: Tensor, final: Bool, state: inout StreamingCIFState, geometry g: ChunkGeometry,
        _ ws: Workspace
    ) -> StreamingFiring {
        let t = hidden.rows
        let d = predictor.dim
        let mark = ws.mark
        let raw = predictor.alphas(hidden, layout: BatchLayout(single: t), ws)  // [T_w]
        var alphas = Array(UnsafeBufferPointer(start: raw.data, count: t))
        ws.rewind(to: mark)
        for i in 0..<min(g.left, t) { alphas[i] = 0 }
        if !final {
            for i in min(g.left + g.chunk, t)..<t { alphas[i] = 0 }
        }

        let threshold = predictor.threshold
        // At most one fire per frame (each alpha is below the threshold), plus the tail.
        let embeddings = ws.tensor([t + 1, d])  // [≤ T_w + 1, D], lives past this call
        var fireRows: [Int] = []
        var integrate = state.alpha
        // The carried frame enters as the first frame with weight `state.alpha` (< threshold).
        let frame = ws.tensor([d]).data  // [D]
        for i in 0..<d { frame[i] = integrate * state.hidden[i] }
        let h = UnsafePointer(hidden.data)
        do {
            func step(_ a: Float, _ row: UnsafePointer<Float>?, index: Int) {
                if a + integrate < threshold {
                    integrate += a
                    if let row { for i in 0..<d { frame[i] += a * row[i] } }
                } else {
                    let w = threshold - integrate
                    if let row { for i in 0..<d { frame[i] += w * row[i] } }
                    if fireRows.count == embeddings.rows { return }  // cannot happen: alpha ≤ 1
                    embeddings.row(fireRows.count).update(from: frame, count: d)
                    fireRows.append(index)
                    integrate += a
                    integrate -= threshold
                    if let row {
                        for i in 0..<d { frame[i] = integrate * row[i] }
                    } else {
                        for i in 0..<d { frame[i] = 0 }
                    }
                }
            }
            for r in 0..<t { step(alphas[r], h + r * d, index: r) }
            if final { step(predictor.tailThreshold, nil, index: t) }
        }
        state.alpha = integrate
        if integrate > 0 {
            for i in 0..<d { state.hidden[i] = frame[i] / integrate }
        } else {
            for i in 0..<d { state.hidden[i] = frame[i] }
        }
        return StreamingFiring(
            alphas: alphas, embeddings: embeddings.slice(0..<fireRows.count), fireRows: fireRows)
    }
}
