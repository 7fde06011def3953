import ParaformerCore
/// The shape of a `CifPredictorV2` (FunASR `predictor_conf`).
package struct PredictorConfig: Sendable, Equatable {
    /// Width of the encoder output it reads (D).
    package var dim: Int
    /// `threshold` (1.0): the weight that fires a token.
    package var threshold: Float
    /// `l_order` / `r_order`: the conv's left and right context.
    package var lOrder: Int
    package var rOrder: Int
    /// `tail_threshold` (0.45): the weight of the appended tail frame (0: none).
    package var tailThreshold: Float
    /// `smooth_factor`, `noise_threshold`: alpha = relu(σ·smooth − noise).
    package var smoothFactor: Float
    package var noiseThreshold: Float
}

/// `CifPredictorV2`: per-frame weights (alphas) and continuous integrate-and-fire.
///
/// ```
/// a   = relu(σ(w_out · relu(conv1d_k(h) + b) + b_out) · smooth − noise)   // [T]
/// a'  = [a, tail_threshold],  h' = [h, 0]                                  // [T+1]
/// N   = floor(Σ a')                      (round(Σ a) without a tail)
/// fire when ⌊cumsum(a')⌋ steps; embedding j = the a-weighted sum of h' between fires
/// ```
/// FunASR: paraformer/cif_predictor.py `CifPredictorV2.forward`, `tail_process_fn`, `cif_v1`.
package struct CIFPredictor {
    /// cif_conv1d: [D, D, K] with K = l_order + r_order + 1, used as [D, D·K] for im2col.
    package let convWeight: Tensor
    /// [D]
    package let convBias: Tensor
    /// cif_output: [1, D], [1]
    package let output: Linear
    package let lOrder: Int
    package let kernel: Int
    package let threshold: Float
    package let tailThreshold: Float
    package let smoothFactor: Float
    package let noiseThreshold: Float
    package let dim: Int

    /// Binds `<prefix>.cif_conv1d.{weight, bias}` and `<prefix>.cif_output` for encoder
    /// output of width `c.dim`.
    package init(_ w: WeightStore, prefix: String = "predictor", _ c: PredictorConfig) throws {
        let d = c.dim
        dim = d
        kernel = c.lOrder + c.rOrder + 1
        lOrder = c.lOrder
        convWeight = try w.tensor("\(prefix).cif_conv1d.weight", [d, d, kernel]).reshaped([d, d * kernel])
        convBias = try w.tensor("\(prefix).cif_conv1d.bias", [d])
        output = try Linear(w, "\(prefix).cif_output", in: d, out: 1)
        threshold = c.threshold
        tailThreshold = c.tailThreshold
        smoothFactor = c.smoothFactor
        noiseThreshold = c.noiseThreshold
    }

    /// Alphas [B·T] for encoder output [B·T, D]; zero at padding frames. Each sequence is
    /// convolved with zero padding at its own ends.
    package func alphas(_ hidden: Tensor, layout: BatchLayout, _ ws: Workspace) -> Tensor {
        let rows = layout.rows
        let d = dim
        let result = ws.zeros([rows])
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        // im2col: col[t, i·K + k] = h[t + k − l, i], matching the weight's [D, D·K] layout.
        let col = ws.zeros([rows, d * kernel])  // [B·T, D·K]
        for (b, n) in layout.lengths.enumerated() {
            let base = b * layout.frames
            for t in 0..<n {
                let dst = col.row(base + t)
                for k in 0..<kernel {
                    let s = t + k - lOrder
                    guard s >= 0 && s < n else { continue }
                    let src = hidden.row(base + s)
                    for i in 0..<d { dst[i * kernel + k] = src[i] }
                }
            }
        }
        let conv = ws.tensor([rows, d])  // [B·T, D]
        BLAS.linear(col, convWeight, bias: convBias, into: conv)
        Kernels.relu(conv)
        let logit = ws.tensor([rows, 1])  // [B·T, 1]
        output(conv, into: logit)
        Kernels.sigmoid(logit)
        for (b, n) in layout.lengths.enumerated() {
            for t in 0..<n {
                let r = b * layout.frames + t
                result[r] = max(logit[r] * smoothFactor - noiseThreshold, 0)
            }
        }
        return result
    }

    /// What integrate-and-fire produces for one sequence.
    package struct Firing {
        /// The weights the fire loop saw: the alphas plus the tail frame when tail_threshold > 0.
        package var alphas: [Float]
        /// FunASR's `cif_peak`: per frame, 1 + frac(cumsum) at a fire, frac(cumsum) otherwise.
        package var peaks: [Float]
        /// Frames (indices into `alphas`) where a token fired.
        package var fireFrames: [Int]
        /// N, the number of tokens to decode.
        package var tokenCount: Int
    }

    /// Integrate-and-fire over one sequence: alphas of its `n` frames and their hidden rows.
    /// Writes the N acoustic embeddings into `embeddings` (rows beyond the fires stay zero)
    /// when it is given, sized [≥ N, D].
    package func fire(alphas a: UnsafePointer<Float>, count n: Int, hidden: UnsafePointer<Float>) -> Firing {
        var alphas = Array(UnsafeBufferPointer(start: a, count: n))
        if tailThreshold > 0 { alphas.append(tailThreshold) }
        let total = alphas.reduce(0.0) { $0 + Double($1) }
        let tokenCount = tailThreshold > 0 ? Int(Float(total).rounded(.down)) : Int(Float(total).rounded())
        // cif_v1's fires (float64 prefix sum, torch's operation order): 1 + frac at a fire,
        // frac (< 1) elsewhere, so the fire frames are exactly those at or above 1.
        let peaks = CIF.fires(alphas: alphas)
        let fires = peaks.indices.filter { peaks[$0] >= 1 }
        return Firing(alphas: alphas, peaks: peaks, fireFrames: fires, tokenCount: tokenCount)
    }

    /// The acoustic embeddings [N, D] of a firing (cif_v1's prefix-sum form, in float32):
    /// e_j = S[t_j] − S[t_{j−1}] + r_{j−1}·h[t_{j−1}] − r_j·h[t_j], S = cumsum(a·h),
    /// r = frac of the alpha prefix sum at the fire; rows past the last fire are zero.
    package func embeddings(
        _ firing: Firing, hidden: UnsafePointer<Float>, frames n: Int, into out: Tensor, _ ws: Workspace
    ) {
        let d = dim
        out.fill(0)
        let count = min(firing.tokenCount, firing.fireFrames.count)
        guard count > 0 else { return }
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let prefix = ws.zeros([d])  // running S[t]
        let previous = ws.zeros([d])  // S at the previous fire
        var j = 0
        var lastFire = -1
        for t in 0..<firing.alphas.count where j < count {
            let at = firing.alphas[t]
            let h = t < n ? hidden + t * d : nil  // the tail frame's hidden state is zero
            if let h { for i in 0..<d { prefix[i] += at * h[i] } }
            guard t == firing.fireFrames[j] else { continue }
            let e = out.row(j)
            let r = firing.peaks[t] - firing.peaks[t].rounded(.down)
            for i in 0..<d { e[i] = prefix[i] - previous[i] }
            if lastFire >= 0, lastFire < n {
                let rp = firing.peaks[lastFire] - firing.peaks[lastFire].rounded(.down)
                let hp = hidden + lastFire * d
                for i in 0..<d { e[i] += rp * hp[i] }
            }
            if let h { for i in 0..<d { e[i] -= r * h[i] } }
            previous.copy(from: prefix)
            lastFire = t
            j += 1
        }
    }
}
