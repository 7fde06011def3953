import ParaformerCore
/// Per-stream decoder caches (FunASR `cache["decoder"]`: `decode_fsmn`, `opt`).
package struct StreamingDecoderState {
    /// Per FSMN layer: the last K − 1 inputs of its depthwise convolution. [K − 1, D]
    package var fsmnHistory: [Tensor]
    /// The FSMN caches exist (FunASR's first call pads instead).
    package var started = false
    /// Per cross-attention layer: memory keys and values of earlier windows [rows, 2·D].
    package var keyValues: [KeyValueCache]

    package init(fsmnLayers: Int, crossLayers: Int, kernelSize: Int, dim: Int, geometry g: ChunkGeometry) {
        fsmnHistory = (0..<fsmnLayers).map { _ in Tensor(zeros: [max(kernelSize - 1, 0), dim]) }
        let capacity = max(g.decoderLookBack, 0) * g.chunk
        keyValues = (0..<crossLayers).map { _ in KeyValueCache(capacity: capacity, width: 2 * dim) }
    }

    /// Back to the state of a new stream, keeping the buffers.
    package mutating func reset() {
        for history in fsmnHistory { history.fill(0) }
        started = false
        for cache in keyValues { cache.removeAll() }
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
package struct StreamingDecoder {
    package let decoder: ParaformerDecoder
    /// Indices into `decoder.layers` that run, in order (decoders, decoders2 if ≥ 2, decoders3).
    package let schedule: [Int]
    /// Layers with an FSMN block, in `schedule` order → index into the state's histories.
    package let fsmnSlot: [Int: Int]
    package let crossSlot: [Int: Int]
    package let kernelSize: Int

    package init(_ decoder: ParaformerDecoder, _ hp: Hyperparameters) {
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

    package func makeState(dim: Int, geometry g: ChunkGeometry) -> StreamingDecoderState {
        StreamingDecoderState(
            fsmnLayers: fsmnSlot.count, crossLayers: crossSlot.count, kernelSize: kernelSize,
            dim: dim, geometry: g)
    }

    /// Logits [N, V] (in `ws`) for N acoustic embeddings [N, D] and the window's encoder
    /// output `memory` [T_w, D].
    package func callAsFunction(
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
        let single = BatchLayout(single: n)
        for i in schedule {
            let window = DecoderLayer.Window(
                history: fsmnSlot[i].map { state.fsmnHistory[$0] }, started: state.started,
                cache: keep ? crossSlot[i].map { state.keyValues[$0] } : nil, keepRows: limit)
            decoder.layers[i](
                x, tokens: single, memory: memory, memoryLayout: BatchLayout(single: memory.rows),
                window: window, ws)
        }
        state.started = true
        decoder.afterNorm(x, into: x)
        WindowLinear.apply(decoder.output, x, into: logits, ws)
        return logits
    }
}
