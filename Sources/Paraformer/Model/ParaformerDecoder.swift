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
struct DecoderLayer {
    let norm1: LayerNorm
    let ffn: DecoderFeedForward
    /// FSMN self-"attention": norm2 + fsmn_block [D, 1, K]; absent in decoders3.
    let selfAttention: (norm: LayerNorm, fsmn: FSMNBlock)?
    /// Cross attention: norm3, linear_q [D, D], linear_k_v [2D, D], linear_out [D, D].
    let sourceAttention: (norm: LayerNorm, q: Linear, kv: Linear, out: Linear)?
    let heads: Int
    let dim: Int

    init(
        _ w: WeightStore, _ p: String, _ hp: Hyperparameters, fsmnShift: Int?, crossAttention: Bool
    ) throws {
        let d = hp.modelDim
        dim = d
        heads = hp.decoderHeads
        norm1 = try LayerNorm(w, "\(p).norm1", dim: d)
        ffn = try DecoderFeedForward(w, "\(p).feed_forward", dim: d, units: hp.decoderLinearUnits)
        if let fsmnShift {
            selfAttention = (
                try LayerNorm(w, "\(p).norm2", dim: d),
                try FSMNBlock(
                    w, "\(p).self_attn.fsmn_block.weight", channels: d,
                    kernelSize: hp.decoderKernelSize, sanmShift: fsmnShift)
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
    func callAsFunction(
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

/// `ParaformerSANMDecoder`: att_layer_num blocks with cross attention (`decoders`), the
/// FSMN-only rest (`decoders2`), one FFN block (`decoders3`), `after_norm`, `output_layer`.
/// FunASR: paraformer/decoder.py `ParaformerSANMDecoder.forward`.
struct ParaformerDecoder {
    let layers: [DecoderLayer]
    let afterNorm: LayerNorm
    /// output_layer: [V, D], [V]
    let output: Linear

    init(_ w: WeightStore, _ hp: Hyperparameters) throws {
        var layers: [DecoderLayer] = []
        for i in 0..<hp.decoderAttLayers {
            layers.append(
                try DecoderLayer(
                    w, "decoder.decoders.\(i)", hp, fsmnShift: hp.decoderSanmShift, crossAttention: true))
        }
        for i in 0..<(hp.decoderBlocks - hp.decoderAttLayers) {
            layers.append(
                try DecoderLayer(w, "decoder.decoders2.\(i)", hp, fsmnShift: 0, crossAttention: false))
        }
        layers.append(try DecoderLayer(w, "decoder.decoders3.0", hp, fsmnShift: nil, crossAttention: false))
        self.layers = layers
        afterNorm = try LayerNorm(w, "decoder.after_norm", dim: hp.modelDim)
        output = try Linear(w, "decoder.output_layer", in: hp.modelDim, out: hp.vocabSize)
    }

    /// Logits [B·N, V] (in `ws`) for acoustic embeddings [B·N, D] attending to encoder output.
    func callAsFunction(
        _ embeddings: Tensor, tokens: BatchLayout, memory: Tensor, memoryLayout: BatchLayout,
        _ ws: Workspace
    ) -> Tensor {
        let logits = ws.tensor([tokens.rows, output.outFeatures])  // [B·N, V]
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let x = ws.tensor(embeddings.shape)  // [B·N, D]
        x.copy(from: embeddings)
        for layer in layers {
            layer(x, tokens: tokens, memory: memory, memoryLayout: memoryLayout, ws)
        }
        afterNorm(x, into: x)
        output(x, into: logits)
        return logits
    }
}
