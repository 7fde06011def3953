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

    package init(
        _ w: WeightStore, _ p: String, _ c: DecoderConfig, fsmnShift: Int?, crossAttention: Bool
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
                try Linear(w, "\(p).src_attn.linear_k_v", in: d, out: 2 * d),
                try Linear(w, "\(p).src_attn.linear_out", in: d, out: d)
            )
        } else {
            sourceAttention = nil
        }
    }

    /// x ← layer(x) in place. x [B·N, D] laid out by `tokens`; memory [B·T, D] by `memory`.
    package func callAsFunction(
        _ x: Tensor, tokens: BatchLayout, memory: Tensor, memoryLayout: BatchLayout, _ ws: Workspace
    ) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let rows = tokens.rows
        let d = dim
        let h = norm1(x, ws)  // [B·N, D]
        let f = ws.tensor([rows, d])  // [B·N, D]
        ffn(h, into: f, ws)
        if let (norm2, fsmn) = selfAttention {
            norm2(f, into: h)
            tokens.zeroPadding(h)
            fsmn(h, layout: tokens, into: x, accumulate: true, ws)  // x = r + FSMN(LN2(f))
        } else {
            x.copy(from: f)  // decoders3: no residual
        }
        guard let (norm3, wq, wkv, wout) = sourceAttention else { return }
        norm3(x, into: h)
        let q = wq(h, ws)  // [B·N, D]
        let kv = wkv(memory, ws)  // [B·T, 2D]
        let ctx = ws.tensor([rows, d])  // [B·N, D]
        for b in 0..<tokens.batch {
            let kvBase = kv.row(b * memoryLayout.frames)
            Attention.multiHead(
                q: .init(data: q.row(b * tokens.frames), stride: d),
                k: .init(data: kvBase, stride: 2 * d), v: .init(data: kvBase + d, stride: 2 * d),
                queries: tokens.lengths[b], keys: memoryLayout.lengths[b], heads: heads,
                headDim: d / heads, context: ctx.row(b * tokens.frames), contextStride: d, ws)
        }
        tokens.zeroPadding(ctx)
        wout(ctx, into: x, accumulate: true)  // x = x + CrossAtt
    }
}

extension DecoderLayer {
    /// x ← layer(x) in place for one chunk's tokens x [N, D]; see `StreamingDecoder`.
    /// `history` ([K − 1, D]) is read and then replaced by the last K − 1 FSMN inputs.
    /// The source attention reads `cachedRows` key/value rows of `cache` before the window's;
    /// with `keepRows` > 0, `cache` then becomes the last `keepRows` rows of [cache; window].
    package func forwardChunk(
        _ x: Tensor, memory: Tensor, history: Tensor?, started: Bool, cache: inout [Float],
        cachedRows: Int, keepRows: Int, _ ws: Workspace
    ) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let n = x.rows
        let d = dim
        let h = norm1(x, ws)  // [N, D]
        let f = ws.tensor([n, d])  // [N, D]
        do {  // FFN_dec(h) = W2 · LN(relu(W1·h + b1))
            let inner = ws.mark
            let u = WindowLinear.apply(ffn.w1, h, ws)  // [N, U]
            Kernels.relu(u)
            ffn.norm(u, into: u)
            WindowLinear.apply(ffn.w2, u, into: f, ws)
            ws.rewind(to: inner)
        }
        guard let (norm2, fsmn) = selfAttention, let history else {
            x.copy(from: f)  // decoders3: no residual
            return
        }
        norm2(f, into: h)  // g = LN2(f)
        // buf = [history; g] (or [0·left; g; 0·right] on the first call), conv without padding.
        let k = fsmn.kernelSize
        let buffer = ws.zeros([n + k - 1, d])  // [N + K − 1, D]
        if started {
            buffer.slice(0..<(k - 1)).copy(from: history)
            buffer.slice((k - 1)..<(n + k - 1)).copy(from: h)
        } else {
            buffer.slice(fsmn.leftPad..<(fsmn.leftPad + n)).copy(from: h)
        }
        for t in 0..<n {
            let dst = x.row(t)
            Kernels.add(dst, h.row(t), count: d)  // x = r + g + conv(buf)
            for j in 0..<k {
                let w = fsmn.weight.row(j)
                let src = buffer.row(t + j)
                for c in 0..<d { dst[c] += w[c] * src[c] }
            }
        }
        history.copy(from: buffer.slice((n)..<(n + k - 1)))

        guard let (norm3, wq, wkv, wout) = sourceAttention else { return }
        norm3(x, into: h)
        let q = WindowLinear.apply(wq, h, ws)  // [N, D]
        let t = memory.rows
        let keys = cachedRows + t
        let kv = ws.tensor([keys, 2 * d])  // [T_c + T_w, 2D]
        if cachedRows > 0 {
            cache.withUnsafeBufferPointer { kv.data.update(from: $0.baseAddress!, count: cachedRows * 2 * d) }
        }
        WindowLinear.apply(wkv, memory, into: kv.slice(cachedRows..<keys), ws)  // [T_w, 2D]
        let ctx = ws.tensor([n, d])  // [N, D]
        Attention.multiHead(
            q: .init(data: q.data, stride: d), k: .init(data: kv.data, stride: 2 * d),
            v: .init(data: kv.data + d, stride: 2 * d), queries: n, keys: keys, heads: heads,
            headDim: d / heads, context: ctx.data, contextStride: d, ws)
        WindowLinear.apply(wout, ctx, into: x, accumulate: true, ws)  // x = x + CrossAtt
        if keepRows > 0 {
            let kept = min(keepRows, keys)
            cache.removeAll(keepingCapacity: true)
            cache.append(contentsOf: UnsafeBufferPointer(start: kv.row(keys - kept), count: kept * 2 * d))
        }
    }
}
