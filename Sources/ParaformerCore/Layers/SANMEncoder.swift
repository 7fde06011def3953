import Foundation

/// One `EncoderLayerSANM`: pre-LN self-attention with an FSMN memory block, then a pre-LN FFN.
///
/// ```
/// h   = LN1(x)                                  // [T, in]
/// q,k,v = split(h · Wqkvᵀ + b)                  // [T, D] each
/// att = Wout · MHA(q, k, v) + b + FSMN(v)       // FSMN(v) = dwconv(v) + v
/// x   = (in == D ? x : 0) + att                 // encoders0 (in ≠ D) has no residual
/// x   = x + FFN(LN2(x))
/// ```
/// FunASR: sanm/encoder.py `EncoderLayerSANM.forward`, sanm/attention.py `MultiHeadedAttentionSANM`.
package struct SANMEncoderLayer {
    package let norm1: LayerNorm  // [in]
    /// linear_q_k_v: [3·D, in]
    package let qkv: Linear
    /// linear_out: [D, D]
    package let out: Linear
    /// fsmn_block: [D, 1, K]
    package let fsmn: FSMNBlock
    package let norm2: LayerNorm  // [D]
    package let ffn: FeedForward  // D → U → D
    package let inSize: Int
    package let dim: Int
    package let heads: Int

    /// Binds `<p>.norm1`, `<p>.self_attn.{linear_q_k_v, linear_out, fsmn_block}`, `<p>.norm2`,
    /// `<p>.feed_forward.{w_1, w_2}` for input width `inSize` (D, or the features for encoders0).
    package init(_ w: WeightStore, _ p: String, inSize: Int, _ c: EncoderConfig) throws {
        let d = c.dim
        self.inSize = inSize
        dim = d
        heads = c.heads
        norm1 = try LayerNorm(w, "\(p).norm1", dim: inSize)
        qkv = try Linear(w, "\(p).self_attn.linear_q_k_v", in: inSize, out: 3 * d)
        out = try Linear(w, "\(p).self_attn.linear_out", in: d, out: d)
        fsmn = try FSMNBlock(
            w, "\(p).self_attn.fsmn_block.weight", channels: d, kernelSize: c.kernelSize,
            sanmShift: c.sanmShift)
        norm2 = try LayerNorm(w, "\(p).norm2", dim: d)
        ffn = try FeedForward(w, "\(p).feed_forward", dim: d, units: c.linearUnits)
    }

    /// A streaming window's view of its layer's cache (FunASR `EncoderLayerSANM.forward_chunk`).
    package struct Window {
        /// Keys/values of earlier windows, read before the window's own (nil: no look-back).
        package var cache: KeyValueCache?
        /// Window rows whose keys/values then go into the cache.
        package var storeRows: Int
        /// Rows the cache keeps after storing.
        package var limit: Int
    }

    /// y = layer(x). x [B·T, in]; y [B·T, D]; y may be x when in == D (in place).
    ///
    /// With `window` (streaming: one sequence, a few rows), attention also sees the cached
    /// keys/values of earlier windows (FSMN sees this window only), the cache then takes the
    /// window's first `storeRows` rows, and the products run through `WindowLinear`.
    /// `visibleKeys(r)`, when given (offline, one sequence), is how many leading keys query row
    /// r attends to: an attention mask of prefixes (causal, or the punctuation model's
    /// `vad_mask`; FunASR ct_transformer_streaming/encoder.py `SANMVadEncoder`).
    /// FunASR: sanm/encoder.py `EncoderLayerSANM.forward` / `forward_chunk`.
    package func callAsFunction(
        _ x: Tensor, layout: BatchLayout, into y: Tensor, window: Window? = nil,
        visibleKeys: ((Int) -> Int)? = nil, _ ws: Workspace
    ) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let rows = layout.rows
        let d = dim
        let small = window != nil

        let h = norm1(x, ws)  // [B·T, in]
        let qkvOut = qkv(h, window: small, ws)  // [B·T, 3D]

        // FSMN memory over V, with padding frames zeroed first (FunASR: inputs * mask).
        let v = ws.tensor([rows, d])  // [B·T, D]
        Kernels.splitColumns(qkvOut, start: 2 * d, into: v)
        layout.zeroPadding(v)
        let att = ws.tensor([rows, d])  // [B·T, D]
        fsmn(v, layout: layout, into: att, accumulate: false, ws)

        // Multi-head attention, one sequence at a time over its valid frames.
        let ctx = ws.tensor([rows, d])  // [B·T, D]
        if let window {
            // Keys and values: [cache; window], contiguous so that heads read them with a stride.
            let cached = window.cache?.count ?? 0
            let keys = cached + rows
            let kv = ws.tensor([keys, 2 * d])  // [T_c + T_w, 2D]
            window.cache?.copy(into: kv.data)
            for r in 0..<rows { kv.row(cached + r).update(from: qkvOut.row(r) + d, count: 2 * d) }
            Attention.multiHead(
                q: .init(data: qkvOut.data, stride: 3 * d), k: .init(data: kv.data, stride: 2 * d),
                v: .init(data: kv.data + d, stride: 2 * d), queries: rows, keys: keys, heads: heads,
                headDim: d / heads, context: ctx.data, contextStride: d, ws)
            window.cache?.append(kv.row(cached), count: window.storeRows, keeping: window.limit)
        } else if let visibleKeys {
            // Consecutive rows that see the same number of keys share one call.
            let base = qkvOut.data
            var r0 = 0
            while r0 < rows {
                let keys = visibleKeys(r0)
                var r1 = r0 + 1
                while r1 < rows && visibleKeys(r1) == keys { r1 += 1 }
                Attention.multiHead(
                    q: .init(data: base + r0 * 3 * d, stride: 3 * d),
                    k: .init(data: base + d, stride: 3 * d), v: .init(data: base + 2 * d, stride: 3 * d),
                    queries: r1 - r0, keys: keys, heads: heads, headDim: d / heads,
                    context: ctx.row(r0), contextStride: d, ws)
                r0 = r1
            }
        } else {
            for (b, n) in layout.lengths.enumerated() {
                let base = qkvOut.row(b * layout.frames)
                Attention.multiHead(
                    q: .init(data: base, stride: 3 * d), k: .init(data: base + d, stride: 3 * d),
                    v: .init(data: base + 2 * d, stride: 3 * d), queries: n, keys: n, heads: heads,
                    headDim: d / heads, context: ctx.row(b * layout.frames), contextStride: d, ws)
            }
        }
        layout.zeroPadding(ctx)
        out(ctx, into: att, accumulate: true, window: small, ws)  // att = Wout·ctx + b + FSMN(v)

        if inSize == d {
            if y.data != x.data { y.copy(from: x) }
            Kernels.add(y, att)  // residual
        } else {
            y.copy(from: att)  // encoders0 (in ≠ D) has no residual
        }
        let h2 = norm2(y, ws)  // [B·T, D]
        ffn(h2, into: y, accumulate: true, window: small, ws)
    }
}

/// `SANMEncoder` (offline): scaling, sinusoidal positions, `encoders0`, `encoders.*`, `after_norm`.
/// FunASR: sanm/encoder.py `SANMEncoder.forward`.
package struct SANMEncoder {
    package let layers: [SANMEncoderLayer]
    package let afterNorm: LayerNorm
    package let inputSize: Int
    package let dim: Int

    /// Binds `<prefix>.encoders0.0`, `<prefix>.encoders.{0..<blocks−1}`, `<prefix>.after_norm`.
    package init(_ w: WeightStore, prefix: String = "encoder", _ c: EncoderConfig) throws {
        var layers = [try SANMEncoderLayer(w, "\(prefix).encoders0.0", inSize: c.inputSize, c)]
        for i in 0..<(c.blocks - 1) {
            layers.append(try SANMEncoderLayer(w, "\(prefix).encoders.\(i)", inSize: c.dim, c))
        }
        self.layers = layers
        afterNorm = try LayerNorm(w, "\(prefix).after_norm", dim: c.dim)
        inputSize = c.inputSize
        dim = c.dim
    }

    /// Encoder output [B·T, D] (in `ws`, valid until the caller rewinds it) for features
    /// [B·T, inputSize] laid out by `layout`. Padding rows of the output are meaningless.
    /// `visibleKeys(layer, row)`, when given (one sequence), masks layer `layer`'s attention to
    /// the first keys of each row (`SANMEncoderLayer`'s `visibleKeys`; nil for a layer: full).
    package func callAsFunction(
        _ features: Tensor, layout: BatchLayout,
        visibleKeys: ((_ layer: Int) -> ((_ row: Int) -> Int)?)? = nil, _ ws: Workspace
    ) -> Tensor {
        let rows = layout.rows
        let y = ws.tensor([rows, dim])  // [B·T, D], lives past this call
        let mark = ws.mark
        let x = ws.tensor([rows, inputSize])  // [B·T, in]
        // xs · sqrt(D) + PE, positions counted from 1 within each sequence.
        x.copy(from: features)
        Kernels.scale(x, by: Float(dim).squareRoot())
        let pe = ws.tensor([layout.frames, inputSize])
        SinusoidalPositionEncoding.fill(pe, firstPosition: 1)
        for b in 0..<layout.batch {
            Kernels.add(x.row(b * layout.frames), pe.data, count: pe.count)
        }
        layers[0](x, layout: layout, into: y, visibleKeys: visibleKeys?(0), ws)
        ws.rewind(to: mark)
        for (i, layer) in layers.enumerated().dropFirst() {
            layer(y, layout: layout, into: y, visibleKeys: visibleKeys?(i), ws)
        }
        afterNorm(y, into: y)
        return y
    }
}

/// FunASR's `SinusoidalPositionEncoder` (transformer/embedding.py): over depth C with H = C/2,
/// PE[t, i] = sin(p · e^(−i·ln(1e4)/(H−1))) and PE[t, H + i] = cos(…), p = firstPosition + t,
/// computed in float32 like torch.
package enum SinusoidalPositionEncoding {
    package static func fill(_ pe: Tensor, firstPosition: Int) {
        let depth = pe.cols
        let half = depth / 2
        let increment = logf(10000) / Float(half - 1)
        var inv = [Float](repeating: 0, count: half)
        for i in 0..<half { inv[i] = expf(Float(i) * -increment) }
        for t in 0..<pe.rows {
            let p = Float(firstPosition + t)
            let row = pe.row(t)
            for i in 0..<half {
                let s = p * inv[i]
                row[i] = sinf(s)
                row[half + i] = cosf(s)
            }
        }
    }
}
