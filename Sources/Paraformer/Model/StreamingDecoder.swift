/// Per-stream decoder caches (FunASR `cache["decoder"]`: `decode_fsmn`, `opt`).
struct StreamingDecoderState {
    /// Per FSMN layer: the last K − 1 inputs of its depthwise convolution. [K − 1, D]
    var fsmnHistory: [Tensor]
    /// The FSMN caches exist (FunASR's first call pads instead).
    var started = false
    /// Per cross-attention layer: cached memory keys and values [rows, 2·D].
    var keyValues: [[Float]]
    var cachedRows = 0

    init(fsmnLayers: Int, crossLayers: Int, kernelSize: Int, dim: Int, geometry g: ChunkGeometry) {
        fsmnHistory = (0..<fsmnLayers).map { _ in Tensor(zeros: [max(kernelSize - 1, 0), dim]) }
        let capacity = max(g.decoderLookBack, 0) * g.chunk + 2 * (g.overlap + g.chunk)
        keyValues = (0..<crossLayers).map { _ in
            var a: [Float] = []
            a.reserveCapacity(capacity * 2 * dim)
            return a
        }
    }
}

/// FunASR's `ParaformerSANMDecoder.forward_chunk`: the tokens of one window through the
/// decoder, the FSMN memory continuing over the tokens of earlier windows and the source
/// attention also seeing the encoder output of earlier windows.
///
/// ```
/// per decoders.i:  f = FFN(LN1(x)); g = LN2(f)
///                  x = x + FSMN([history; g]) + g               // causal for sanm_shfit 5
///                  y = LN3(x); K,V = [cache; memory·Wkvᵀ]      // cache: last lookBack·chunk rows
///                  x = x + Wout · MHA(Wq·y, K, V)
/// decoders2.j (only when there are ≥ 2 of them, as FunASR runs them): FFN, FSMN as above
/// decoders3:       x = FFN(LN1(x))   (no residual)
/// logits = output_layer(after_norm(x))                          // [N, V]
/// ```
/// FSMN with cache: the first call pads (left, right) zeros like offline; later calls
/// prepend the last K − 1 inputs of the previous call (FunASR concatenates `cache[:, :, 1:]`
/// with the new inputs and keeps the last K + N − 1 columns).
/// FunASR: paraformer/decoder.py `ParaformerSANMDecoder.forward_chunk`,
/// `DecoderLayerSANM.forward_chunk`; sanm/attention.py `MultiHeadedAttentionSANMDecoder.forward`,
/// `MultiHeadedAttentionCrossAtt.forward_chunk`.
struct StreamingDecoder {
    let decoder: ParaformerDecoder
    /// Indices into `decoder.layers` that run, in order (decoders, decoders2 if ≥ 2, decoders3).
    let schedule: [Int]
    /// Layers with an FSMN block, in `schedule` order → index into the state's histories.
    let fsmnSlot: [Int: Int]
    let crossSlot: [Int: Int]
    let kernelSize: Int

    init(_ decoder: ParaformerDecoder, _ hp: Hyperparameters) {
        self.decoder = decoder
        let att = hp.decoderAttLayers
        let fsmnOnly = hp.decoderBlocks - hp.decoderAttLayers
        var schedule = Array(0..<att)
        // FunASR's forward_chunk runs decoders2 only when `num_blocks - att_layer_num > 1`.
        if fsmnOnly > 1 { schedule += Array(att..<(att + fsmnOnly)) }
        schedule.append(decoder.layers.count - 1)  // decoders3
        self.schedule = schedule
        var fsmn: [Int: Int] = [:]
        var cross: [Int: Int] = [:]
        for i in schedule {
            if decoder.layers[i].selfAttention != nil { fsmn[i] = fsmn.count }
            if decoder.layers[i].sourceAttention != nil { cross[i] = cross.count }
        }
        fsmnSlot = fsmn
        crossSlot = cross
        kernelSize = hp.decoderKernelSize
    }

    func makeState(dim: Int, geometry g: ChunkGeometry) -> StreamingDecoderState {
        StreamingDecoderState(
            fsmnLayers: fsmnSlot.count, crossLayers: crossSlot.count, kernelSize: kernelSize,
            dim: dim, geometry: g)
    }

    /// Logits [N, V] (in `ws`) for N acoustic embeddings [N, D] and the window's encoder
    /// output `memory` [T_w, D].
    func callAsFunction(
        _ embeddings: Tensor, memory: Tensor, state: inout StreamingDecoderState,
        geometry g: ChunkGeometry, _ ws: Workspace
    ) -> Tensor {
        let n = embeddings.rows
        let logits = ws.tensor([n, decoder.output.outFeatures])  // [N, V]
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let x = ws.tensor(embeddings.shape)  // [N, D]
        x.copy(from: embeddings)
        let keep = g.decoderLookBack > 0
        let limit = keep ? g.decoderLookBack * g.chunk : 0
        var noCache: [Float] = []
        for i in schedule {
            let layer = decoder.layers[i]
            let history = fsmnSlot[i].map { state.fsmnHistory[$0] }
            if let c = crossSlot[i] {
                layer.forwardChunk(
                    x, memory: memory, history: history, started: state.started,
                    cache: &state.keyValues[c], cachedRows: keep ? state.cachedRows : 0,
                    keepRows: limit, ws)
            } else {
                layer.forwardChunk(
                    x, memory: memory, history: history, started: state.started, cache: &noCache,
                    cachedRows: 0, keepRows: 0, ws)
            }
        }
        if keep { state.cachedRows = min(state.cachedRows + memory.rows, limit) }
        state.started = true
        decoder.afterNorm(x, into: x)
        WindowLinear.apply(decoder.output, x, into: logits, ws)
        return logits
    }
}

extension DecoderLayer {
    /// x ← layer(x) in place for one chunk's tokens x [N, D]; see `StreamingDecoder`.
    /// `history` ([K − 1, D]) is read and then replaced by the last K − 1 FSMN inputs.
    /// The source attention reads `cachedRows` key/value rows of `cache` before the window's;
    /// with `keepRows` > 0, `cache` then becomes the last `keepRows` rows of [cache; window].
    func forwardChunk(
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
