import CParaformerKernels
import Foundation

/// Element-wise and row-wise kernels of the model, on raw pointers or tensor views.
/// Every kernel writes into memory the caller provides; none allocates.
package enum Kernels {
    // MARK: - Element-wise

    /// a[i] += b[i]
    @inline(__always)
    package static func add(
        _ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int
    ) {
        for i in 0..<count { a[i] += b[i] }
    }

    /// x += y (same element count).
    package static func add(_ x: Tensor, _ y: Tensor) {
        precondition(x.count == y.count, "add: \(x.shape) vs \(y.shape)")
        Parallel.forRanges(x.count, cost: 1) { r in
            add(x.data + r.lowerBound, y.data + r.lowerBound, count: r.count)
        }
    }

    /// x[r, :] += bias for every row.
    package static func addBias(_ x: Tensor, _ bias: Tensor) {
        precondition(bias.count == x.cols, "addBias: \(x.shape) vs \(bias.shape)")
        for r in 0..<x.rows { add(x.row(r), bias.data, count: x.cols) }
    }

    /// x *= s
    package static func scale(_ x: Tensor, by s: Float) {
        let p = x.data
        for i in 0..<x.count { p[i] *= s }
    }

    /// x = max(x, 0)
    package static func relu(_ x: Tensor) {
        SIMDMath.relu(x.data, x.count)
    }

    /// x = 1 / (1 + e^-x)
    package static func sigmoid(_ x: Tensor) {
        let p = x.data
        for i in 0..<x.count { p[i] = 1 / (1 + expf(-p[i])) }
    }

    // MARK: - Row-wise

    /// LayerNorm over the last dimension: y = (x − mean) / sqrt(var + eps) · gamma + beta,
    /// with the biased variance (PyTorch's `nn.LayerNorm`). `out` may be `x`.
    package static func layerNorm(
        _ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float, into out: Tensor
    ) {
        let d = x.cols
        precondition(gamma.count == d && beta.count == d && out.count == x.count, "layerNorm")
        Parallel.forRanges(x.rows, cost: d * 4) { rows in
            // AVX-512 / AVX2 / portable row kernel (CParaformerKernels).
            pk_layer_norm_rows(
                PK_VARIANT_AUTO, x.row(rows.lowerBound), Int32(rows.count), Int32(d), Int32(d),
                gamma.data, beta.data, eps, out.row(rows.lowerBound), Int32(d))
        }
    }

    /// Softmax over each row of `n` values at `p` (row stride `ld`), over the first `valid`
    /// entries only; entries at and after `valid` become 0 (a key-padding mask, as FunASR's
    /// `masked_fill(-inf)` → softmax → `masked_fill(0)`).
    @inline(__always)
    package static func softmaxRow(_ p: UnsafeMutablePointer<Float>, n: Int, valid: Int) {
        // AVX-512 / AVX2 / portable row kernel (CParaformerKernels).
        pk_softmax_rows(PK_VARIANT_AUTO, p, 1, Int32(n), Int32(n), Int32(clamping: valid))
    }

    /// Row-wise softmax of a [R, N] tensor with the first `valid` columns kept.
    package static func softmax(_ x: Tensor, valid: Int? = nil) {
        for r in 0..<x.rows { softmaxRow(x.row(r), n: x.cols, valid: valid ?? x.cols) }
    }

    // MARK: - Convolution

    /// Depthwise 1-D convolution over time, the FSMN memory block:
    /// `out[b, t, c] = Σ_k w[k, c] · x[b, t + k − leftPad, c]`, zero outside [0, T).
    ///
    /// - Parameters:
    ///   - x: [B, T, C] (or [T, C]) time-major input.
    ///   - weight: [K, C], the PyTorch Conv1d weight [C, 1, K] transposed once at load.
    ///   - frames: T, so that B = rows / T.
    ///   - accumulate: add into `out` instead of overwriting it.
    ///   - outputFrames: the first T' ≤ T output frames of each sequence only (`out` is
    ///     [B, T', C]); the streaming FSMN convolves [history; x] without padding this way.
    package static func depthwiseConv1D(
        _ x: Tensor, weight: Tensor, leftPad: Int, frames: Int, into out: Tensor,
        accumulate: Bool = false, outputFrames: Int? = nil
    ) {
        let c = x.cols
        let k = weight.rows
        let outFrames = outputFrames ?? frames
        precondition(weight.cols == c && x.rows % max(frames, 1) == 0)
        precondition(out.count == x.rows / max(frames, 1) * outFrames * c && outFrames <= frames)
        if !accumulate { out.fill(0) }
        guard frames > 0 else { return }
        let batches = x.rows / frames
        Parallel.forRanges(batches * outFrames, cost: c * k) { range in
            for row in range {
                let b = row / outFrames
                let t = row % outFrames
                let xb = x.data + b * frames * c
                let dst = out.data + row * c
                for j in 0..<k {
                    let s = t + j - leftPad  // out[t] uses x[t + j − leftPad]
                    guard s >= 0 && s < frames else { continue }
                    let w = weight.data + j * c
                    let src = xb + s * c
                    for i in 0..<c { dst[i] += w[i] * src[i] }
                }
            }
        }
    }

    // MARK: - Layout

    /// Concatenates tensors along the last dimension: out[r] = [a[r] | b[r] | ...].
    package static func concatColumns(_ parts: [Tensor], into out: Tensor) {
        var offset = 0
        for p in parts {
            precondition(p.rows == out.rows, "concatColumns: row counts")
            for r in 0..<out.rows { (out.row(r) + offset).update(from: p.row(r), count: p.cols) }
            offset += p.cols
        }
        precondition(offset == out.cols, "concatColumns: column counts")
    }

    /// Concatenates tensors along the first dimension.
    package static func concatRows(_ parts: [Tensor], into out: Tensor) {
        var offset = 0
        for p in parts {
            precondition(p.cols == out.cols, "concatRows: column counts")
            (out.data + offset).update(from: p.data, count: p.count)
            offset += p.count
        }
        precondition(offset == out.count, "concatRows: row counts")
    }

    /// Copies columns [start, start + out.cols) of every row of `x` into `out`.
    package static func splitColumns(_ x: Tensor, start: Int, into out: Tensor) {
        precondition(out.rows == x.rows && start + out.cols <= x.cols, "splitColumns")
        Parallel.forRanges(x.rows, cost: out.cols) { rows in
            for r in rows { out.row(r).update(from: x.row(r) + start, count: out.cols) }
        }
    }

    /// Index of the largest of `n` values (the first on ties, as `torch.argmax`).
    @inline(__always)
    package static func argmax(_ p: UnsafePointer<Float>, n: Int) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<n where p[i] > bestValue {
            best = i
            bestValue = p[i]
        }
        return best
    }
}
