import Foundation
import ParaformerCore

/// The timestamp head of `CifPredictorV3` (BiCifParaformer, SeACo-Paraformer): upsampled
/// weights alphas2 at 3× the encoder rate, scaled to the token count, and their fires.
///
/// ```
/// U   = ConvTranspose1d_k3_s3(H)                    // [3T, D]  (use_cif1_cnn false: H itself)
/// B   = BLSTM(U)                                    // [3T, 2D] (forward ‖ backward)
/// a2  = relu(σ(cif_output2(B)) · smooth2 − noise2)   // [3T]
/// a2 ← a2 · (N / Σ a2)                              // N = the decoded token count
/// peaks = cif_wo_hidden(a2, 1 − 1e-4)               // float32 loop, threshold subtracted
/// ```
/// FunASR: bicif_paraformer/cif_predictor.py `CifPredictorV3.get_upsample_timestamp`.
package struct BiCifTimestampHead {
    /// upsample_cnn: [D, D, K] (ConvTranspose1d: [in, out, K]) as [D, D·K], and its bias [D].
    package let upsampleWeight: Tensor
    package let upsampleBias: Tensor
    package let upsample: Int
    package let forward: LSTMLayer
    package let backward: LSTMLayer
    /// cif_output2: [1, 2D], [1]
    package let output: Linear
    package let smoothFactor: Float
    package let noiseThreshold: Float

    package init(_ w: WeightStore, dim d: Int, upsample k: Int, smoothFactor: Float, noiseThreshold: Float) throws {
        upsampleWeight = try w.tensor("predictor.upsample_cnn.weight", [d, d, k]).reshaped([d, d * k])
        upsampleBias = try w.tensor("predictor.upsample_cnn.bias", [d])
        upsample = k
        forward = try LSTMLayer(w, "predictor.blstm", layer: 0, input: d, hidden: d)
        backward = try LSTMLayer(w, "predictor.blstm", layer: 0, input: d, hidden: d, reverse: true)
        output = try Linear(w, "predictor.cif_output2", in: 2 * d, out: 1)
        self.smoothFactor = smoothFactor
        self.noiseThreshold = noiseThreshold
    }

    /// (us_alphas, us_peaks), each [k·T], for encoder output [T, D] and N tokens.
    package func callAsFunction(_ hidden: Tensor, tokenCount: Int, _ ws: Workspace) -> (alphas: [Float], peaks: [Float]) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let t = hidden.rows, d = hidden.cols, k = upsample
        // Y[t, o·K + j] = Σ_i H[t, i] · W[i, o, j]
        let y = ws.tensor([t, d * k])  // [T, D·K]
        BLAS.gemm(
            transA: false, transB: false, m: t, n: d * k, k: d, a: hidden.data, lda: d,
            b: upsampleWeight.data, ldb: d * k, c: y.data, ldc: d * k)
        let up = ws.tensor([t * k, d])  // [K·T, D]: row K·t + j
        for s in 0..<t {
            let src = y.row(s)
            for j in 0..<k {
                let dst = up.row(s * k + j)
                for o in 0..<d { dst[o] = src[o * k + j] + upsampleBias[o] }
            }
        }
        let both = ws.tensor([t * k, 2 * d])  // [K·T, 2D]
        forward(up, into: both.data, outStride: 2 * d, ws)
        backward(up, into: both.data + d, outStride: 2 * d, ws)
        let logit = ws.tensor([t * k, 1])
        output(both, into: logit)
        var alphas = [Float](repeating: 0, count: t * k)
        var sum: Float = 0
        for i in 0..<(t * k) {
            let a = 1 / (1 + expf(-logit[i]))
            alphas[i] = max(a * smoothFactor - noiseThreshold, 0)
        }
        // torch's float32 sum (pairwise over vector lanes); a float64 sum rounded once is
        // within an ulp of it.
        sum = Float(alphas.reduce(0.0) { $0 + Double($1) })
        let scale = Float(tokenCount) / sum
        for i in alphas.indices { alphas[i] *= scale }
        let threshold = Float(1.0 - 1e-4)
        var integrate: Float = 0
        let peaks = alphas.map { a -> Float in
            integrate += a
            let fired = integrate
            if integrate >= threshold { integrate -= threshold }
            return fired
        }
        return (alphas, peaks)
    }
}
