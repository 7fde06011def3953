/// One `DecoderLayerSANM` of `ParaformerSANMDecoder`.
///
/// ```
/// r = x
/// f = FFN(LN1(x))                                  // W2 · LN(relu(W1·x + b1))
/// x = r + FSMN(LN2(f))          (if self_attn)     // FSMN(z) = dwconv(z) + z
/// x = x + CrossAtt(LN3(x), memory)   (if src_attn)
/// x = f                         (decoders3: neither; no residual)
/// ```
/// FunASR: paraformer/decoder.py `DecoderLayerSANM.forward`.
package struct DecoderLayer {
    package let norm1: LayerNorm
    package let ffn: DecoderFeedForward
    /// FSMN self-"attention": norm2 + fsmn_block [D, 1, K]; absent in decoders3.
    package let selfAttention: (norm: LayerNorm, fsmn: FSMNBlock)?
    /// Cross attention: norm3, linear_q [D, D], linear_k_v [2D, D], linear_out [D, D].
    package let sourceAttention: (norm: LayerNorm, q: Linear, kv: Linear, out: Linear)?
    package let heads: Int
    package let dim: Int

    /// `memoryDim`: the width E of the memory the cross-attention reads (`linear_k_v` [2D, E];
    /// FunASR's `encoder_output_size`), D when nil.
    package init(
        _ w: WeightStore, _ p: String, _ c: DecoderConfig, fsmnShift: Int?, crossAttention: Bool,
        memoryDim: Int? = nil
    ) throws {
        let d = c.dim
        dim = d
        heads = c.heads
        norm1 = try LayerNorm(w, "\(p).norm1", dim: d)
        ffn = try DecoderFeedForward(w, "\(p).feed_forward", dim: d, units: c.linearUnits)
        if let fsmnShift {
            selfAttention = (
                try LayerNorm(w, "\(p).norm2", dim: d),
                try FSMNBlock(
                    w, "\(p).self_attn.fsmn_block.weight", channels: d,
                    kernelSize: c.kernelSize, sanmShift: fsmnShift)
            )
        } else {
            selfAttention = nil
        }
        if crossAttention {
            sourceAttention = (
                try LayerNorm(w, "\(p).norm3", dim: d),
                try Linear(w, "\(p).src_attn.linear_q", in: d, out: d),
                try Linear(w, "\(p).src_attn.linear_k_v", in: memoryDim ?? d, out: 2 * d),
                try Linear(w, "\(p).src_attn.linear_out", in: d, out: d)
            )
        } else {
            sourceAttention = nil
        }
    }

    /// A streaming window's view of its layer's caches (FunASR `DecoderLayerSANM.forward_chunk`).
    package struct Window {
        /// The FSMN look-back, [K − 1, D]: read, then replaced by the last K − 1 FSMN inputs
        /// (nil for a layer without FSMN).
        package var history: Tensor?
        /// The history holds earlier windows (false: the first window pads with zeros).
        package var started: Bool
        /// Source-attention keys/values of earlier windows (nil: none).
        package var cache: KeyValueCache?
        /// Rows the cache keeps after this window's are added (0: it is not updated).
        package var keepRows: Int

        package init(history: Tensor?, started: Bool, cache: KeyValueCache?, keepRows: Int) {
            self.history = history
            self.started = started
            self.cache = cache
            self.keepRows = keepRows
        }
    }

    /// x ← layer(x) in place. x [B·N, D] laid out by `tokens`; memory [B·T, D] by `memory`.
    ///
    /// With `window` (streaming: one chunk's tokens), the FSMN memory continues over the tokens
    /// of earlier windows, the source attention also sees the cached encoder keys/values of
    /// earlier windows, and the products run through `WindowLinear`.
    /// FunASR: paraformer/decoder.py `DecoderLayerSANM.forward` / `forward_chunk`.
    package func callAsFunction(
        _ x: Tensor, tokens: BatchLayout, memory: Tensor, memoryLayout: BatchLayout,
        window: Window? = nil, _ ws: Workspace
    ) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let rows = tokens.rows
        let d = dim
        let small = window != nil
        let h = norm1(x, ws)  // [B·N, D]
        let f = ws.tensor([rows, d])  // [B·N, D]
        ffn(h, into: f, window: small, ws)
        if let (norm2, fsmn) = selfAttention {
            norm2(f, into: h)
            if let window, let history = window.history {
                fsmn(h, history: history, started: window.started, into: x, ws)  // x = r + FSMN(LN2(f))
            } else {
                tokens.zeroPadding(h)
                fsmn(h, layout: tokens, into: x, accumulate: true, ws)  // x = r + FSMN(LN2(f))
            }
        } else {
            x.copy(from: f)  // decoders3: no residual
        }
        guard let (norm3, wq, wkv, wout) = sourceAttention else { return }
        norm3(x, into: h)
        let q = wq(h, window: small, ws)  // [B·N, D]
        // Keys and values: [cache; memory·Wkvᵀ] (no cache offline).
        let cached = window?.cache?.count ?? 0
        let kv = ws.tensor([cached + memory.rows, 2 * d])  // [T_c + B·T, 2D]
        window?.cache?.copy(into: kv.data)
        wkv(memory, into: kv.slice(cached..<kv.rows), window: small, ws)
        let ctx = ws.tensor([rows, d])  // [B·N, D]
        for b in 0..<tokens.batch {
            let kvBase = kv.row(b * memoryLayout.frames)
            Attention.multiHead(
                q: .init(data: q.row(b * tokens.frames), stride: d),
                k: .init(data: kvBase, stride: 2 * d), v: .init(data: kvBase + d, stride: 2 * d),
                queries: tokens.lengths[b], keys: cached + memoryLayout.lengths[b], heads: heads,
                headDim: d / heads, context: ctx.row(b * tokens.frames), contextStride: d, ws)
        }
        tokens.zeroPadding(ctx)
        wout(ctx, into: x, accumulate: true, window: small, ws)  // x = x + CrossAtt
        if let window, let cache = window.cache, window.keepRows > 0 {
            cache.append(kv.row(cached), count: memory.rows, keeping: window.keepRows)
        }
    }
}
