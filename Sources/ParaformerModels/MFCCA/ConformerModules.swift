import Foundation
import ParaformerCore

/// ESPnet's `LegacyRelPositionMultiHeadedAttention` (Transformer-XL scores with the old
/// `rel_shift`), run on each channel's sequence.
/// ```
/// q, k, v = x·Wqᵀ + bq, x·Wkᵀ + bk, x·Wvᵀ + bv       p = pos · Wposᵀ              // [T, D]
/// AC = (q_h + u_h) · k_hᵀ     BD = rel_shift((q_h + v_h) · p_hᵀ)                    // [T, T]
/// y  = Wout · concat_h(softmax((AC + BD) / √dk) · v_h) + bout
/// rel_shift(B)[i, j] = [0 | B] (a [T, T+1] matrix) read flat from index (i+1)·T + j
/// ```
/// FunASR 0.8.8: modules/attention.py `LegacyRelPositionMultiHeadedAttention.forward`.
package struct LegacyRelPositionAttention: Sendable {
    package let linearQ, linearK, linearV, linearOut: Linear
    /// linear_pos: [D, D], no bias.
    package let linearPos: Linear
    /// pos_bias_u, pos_bias_v: [H, dk]
    package let biasU, biasV: Tensor
    package let heads: Int

    package init(_ w: WeightStore, _ p: String, dim: Int, heads: Int) throws {
        linearQ = try Linear(w, "\(p).linear_q", in: dim, out: dim)
        linearK = try Linear(w, "\(p).linear_k", in: dim, out: dim)
        linearV = try Linear(w, "\(p).linear_v", in: dim, out: dim)
        linearOut = try Linear(w, "\(p).linear_out", in: dim, out: dim)
        linearPos = try Linear(w, "\(p).linear_pos", in: dim, out: dim, bias: false)
        biasU = try w.tensor("\(p).pos_bias_u", [heads, dim / heads])
        biasV = try w.tensor("\(p).pos_bias_v", [heads, dim / heads])
        self.heads = heads
    }

    /// out += attention(x) for x [C·T, D] (C sequences of T frames), pos [T, D].
    package func callAsFunction(_ x: Tensor, channels: Int, frames: Int, pos: Tensor, addTo out: Tensor, _ ws: Workspace) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let d = x.cols
        let dk = d / heads
        let t = frames
        let q = linearQ(x, ws)  // [C·T, D]
        let k = linearK(x, ws)
        let v = linearV(x, ws)
        let p = linearPos(pos, ws)  // [T, D]
        let qu = ws.tensor(q.shape)
        let qv = ws.tensor(q.shape)
        for r in 0..<q.rows {
            for i in 0..<d {
                qu.row(r)[i] = q.row(r)[i] + biasU[i]
                qv.row(r)[i] = q.row(r)[i] + biasV[i]
            }
        }
        let ac = ws.tensor([t, t])
        let bd = ws.tensor([t, t])
        let ctx = ws.tensor([channels * t, d])  // [C·T, D]
        let scale = Float(Double(dk).squareRoot())
        for c in 0..<channels {
            let r0 = c * t
            for h in 0..<heads {
                let off = h * dk
                BLAS.gemm(
                    transA: false, transB: true, m: t, n: t, k: dk, a: qu.row(r0) + off, lda: d,
                    b: k.row(r0) + off, ldb: d, c: ac.data, ldc: t)
                BLAS.gemm(
                    transA: false, transB: true, m: t, n: t, k: dk, a: qv.row(r0) + off, lda: d,
                    b: p.data + off, ldb: d, c: bd.data, ldc: t)
                for i in 0..<t {
                    let row = ac.row(i)
                    for j in 0..<t {
                        let f = (i + 1) * t + j
                        let (pr, pc) = (f / (t + 1), f % (t + 1))
                        let shifted = pc == 0 ? 0 : bd[pr, pc - 1]
                        row[j] = (row[j] + shifted) / scale
                    }
                    Kernels.softmaxRow(row, n: t, valid: t)
                }
                BLAS.gemm(
                    transA: false, transB: false, m: t, n: dk, k: t, a: ac.data, lda: t,
                    b: v.row(r0) + off, ldb: d, c: ctx.row(r0) + off, ldc: d)
            }
        }
        linearOut(ctx, into: out, accumulate: true)
    }
}

/// The conformer convolution module (0.8.8 `mfcca_encoder.py ConvolutionModule`), per channel:
/// ```
/// y = GLU(pointwise_conv1(x))                 [T, 2D] → [T, D]
/// y = swish(BatchNorm(depthwise_conv(y)))     kernel K, padding (K−1)/2, eval statistics
/// y = pointwise_conv2(y)                      [T, D]
/// ```
package struct ConformerConvolution: Sendable {
    /// pointwise_conv1: [2D, D, 1] viewed as [2D, D]; bias [2D]
    package let pointwise1: Tensor
    package let pointwise1Bias: Tensor
    /// depthwise_conv: [D, 1, K] transposed once at load to [K, D]; bias [D]
    package let depthwise: Tensor
    package let depthwiseBias: Tensor
    /// BatchNorm1d folded at load: y = x · scale + shift (torch's eval path).
    package let bnScale: Tensor
    package let bnShift: Tensor
    /// pointwise_conv2: [D, D, 1] viewed as [D, D]; bias [D]
    package let pointwise2: Tensor
    package let pointwise2Bias: Tensor
    package static let batchNormEps: Float = 1e-5

    package init(_ w: WeightStore, _ p: String, dim d: Int, kernel: Int) throws {
        pointwise1 = try w.tensor("\(p).pointwise_conv1.weight", [2 * d, d, 1]).reshaped([2 * d, d])
        pointwise1Bias = try w.tensor("\(p).pointwise_conv1.bias", [2 * d])
        let raw = try w.tensor("\(p).depthwise_conv.weight", [d, 1, kernel])
        let dw = Tensor(zeros: [kernel, d])
        for c in 0..<d {
            for j in 0..<kernel { dw[j, c] = raw[c * kernel + j] }
        }
        depthwise = dw
        depthwiseBias = try w.tensor("\(p).depthwise_conv.bias", [d])
        let gamma = try w.tensor("\(p).norm.weight", [d])
        let beta = try w.tensor("\(p).norm.bias", [d])
        let mean = try w.tensor("\(p).norm.running_mean", [d])
        let variance = try w.tensor("\(p).norm.running_var", [d])
        let scale = Tensor(zeros: [d])
        let shift = Tensor(zeros: [d])
        for c in 0..<d {
            let invstd = 1 / (variance[c] + ConformerConvolution.batchNormEps).squareRoot()
            scale[c] = invstd * gamma[c]
            shift[c] = beta[c] - mean[c] * scale[c]
        }
        bnScale = scale
        bnShift = shift
        pointwise2 = try w.tensor("\(p).pointwise_conv2.weight", [d, d, 1]).reshaped([d, d])
        pointwise2Bias = try w.tensor("\(p).pointwise_conv2.bias", [d])
    }

    /// out += module(x), x [C·T, D] (C sequences of T frames).
    package func callAsFunction(_ x: Tensor, channels: Int, frames: Int, addTo out: Tensor, _ ws: Workspace) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let d = x.cols
        let h = ws.tensor([x.rows, 2 * d])  // [C·T, 2D]
        BLAS.linear(x, pointwise1, bias: pointwise1Bias, into: h)
        let g = ws.tensor([x.rows, d])  // [C·T, D]
        for r in 0..<x.rows {
            let a = h.row(r)
            let b = a + d
            let o = g.row(r)
            for i in 0..<d { o[i] = a[i] * (1 / (1 + expf(-b[i]))) }
        }
        let y = ws.tensor([x.rows, d])
        Kernels.depthwiseConv1D(g, weight: depthwise, leftPad: (depthwise.rows - 1) / 2, frames: frames, into: y)
        for r in 0..<y.rows {
            let row = y.row(r)
            for i in 0..<d { row[i] = (row[i] + depthwiseBias[i]) * bnScale[i] + bnShift[i] }
            swishInPlace(row, d)
        }
        BLAS.linear(y, pointwise2, bias: pointwise2Bias, into: out, accumulate: true)
    }
}
