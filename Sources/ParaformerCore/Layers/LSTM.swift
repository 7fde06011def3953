import Foundation

/// One direction of one layer of `torch.nn.LSTM` (batch_first, zero initial state), in torch's
/// gate order i, f, g, o.
///
/// ```
/// G      = X · W_ihᵀ + b_ih + b_hh                   // [L, 4H], one product for all steps
/// g_t    = G[t] + W_hh · h_{t−1}                     // [4H]
/// i, f, ĝ, o = σ(g_t[0:H]), σ(g_t[H:2H]), tanh(g_t[2H:3H]), σ(g_t[3H:4H])
/// c_t    = f·c_{t−1} + i·ĝ,   h_t = o·tanh(c_t)      // [H]
/// ```
/// A reverse direction (`*_reverse` tensors of a bidirectional LSTM) runs t = L−1 … 0.
/// FunASR: the hotword encoders (`bias_encoder`, 1 or 2 layers) and BiCif's `predictor.blstm`.
package struct LSTMLayer {
    /// weight_ih_l{k}[_reverse]: [4H, I]
    package let weightIH: Tensor
    /// weight_hh_l{k}[_reverse]: [4H, H]
    package let weightHH: Tensor
    /// bias_ih + bias_hh: [4H] (summed once at load)
    package let bias: Tensor
    package let hidden: Int
    package let reverse: Bool

    /// Binds `\(prefix).weight_ih_l\(layer)\(suffix)` and friends, suffix `_reverse` for the
    /// backward direction.
    package init(_ w: WeightStore, _ prefix: String, layer: Int, input: Int, hidden h: Int, reverse: Bool = false) throws {
        let suffix = "l\(layer)" + (reverse ? "_reverse" : "")
        weightIH = try w.tensor("\(prefix).weight_ih_\(suffix)", [4 * h, input])
        weightHH = try w.tensor("\(prefix).weight_hh_\(suffix)", [4 * h, h])
        let bih = try w.tensor("\(prefix).bias_ih_\(suffix)", [4 * h])
        let bhh = try w.tensor("\(prefix).bias_hh_\(suffix)", [4 * h])
        let b = Tensor(zeros: [4 * h])
        for i in 0..<(4 * h) { b[i] = bih[i] + bhh[i] }
        bias = b
        hidden = h
        self.reverse = reverse
    }

    package init(weightIH: Tensor, weightHH: Tensor, bias: Tensor, hidden: Int, reverse: Bool) {
        self.weightIH = weightIH
        self.weightHH = weightHH
        self.bias = bias
        self.hidden = hidden
        self.reverse = reverse
    }

    /// Runs the layer over x [L, I]; writes h_t into row t of `out` (row stride `outStride`
    /// floats, H values per row), so two directions can fill the halves of one [L, 2H] buffer.
    package func callAsFunction(
        _ x: Tensor, into out: UnsafeMutablePointer<Float>, outStride: Int, _ ws: Workspace
    ) {
        let steps = x.rows
        guard steps > 0 else { return }
        let h = hidden
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let gates = ws.tensor([steps, 4 * h])  // [L, 4H]
        BLAS.linear(x, weightIH, bias: bias, into: gates)
        let state = ws.zeros([2, h])  // h_{t−1}, c_{t−1}
        let hPrev = state.row(0)
        let c = state.row(1)
        for s in 0..<steps {
            let t = reverse ? steps - 1 - s : s
            let g = gates.row(t)
            if s > 0 {
                // g += W_hh · h_{t−1}
                BLAS.gemv(m: 4 * h, k: h, a: weightHH.data, lda: h, x: hPrev, beta: 1, y: g)
            }
            let o = out + t * outStride
            for j in 0..<h {
                let i = Self.sigmoid(g[j])
                let f = Self.sigmoid(g[h + j])
                let gg = tanhf(g[2 * h + j])
                let og = Self.sigmoid(g[3 * h + j])
                c[j] = f * c[j] + i * gg
                o[j] = og * tanhf(c[j])
            }
            hPrev.update(from: o, count: h)
        }
    }

    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}

/// A stack of unidirectional LSTM layers (`torch.nn.LSTM(num_layers: K)`), the last layer's
/// output at every step.
package struct LSTM {
    package let layers: [LSTMLayer]
    package var hidden: Int { layers[0].hidden }

    package init(_ w: WeightStore, _ prefix: String, layers count: Int, input: Int, hidden: Int) throws {
        var layers: [LSTMLayer] = []
        for k in 0..<count {
            layers.append(try LSTMLayer(w, prefix, layer: k, input: k == 0 ? input : hidden, hidden: hidden))
        }
        self.layers = layers
    }

    /// The top layer's outputs [L, H] for x [L, I], in `ws`.
    package func callAsFunction(_ x: Tensor, _ ws: Workspace) -> Tensor {
        let out = ws.tensor([x.rows, hidden])  // [L, H]
        var input = x
        for (k, layer) in layers.enumerated() {
            let target = k == layers.count - 1 ? out : ws.tensor([x.rows, hidden])
            layer(input, into: target.data, outStride: hidden, ws)
            input = target
        }
        return out
    }
}
