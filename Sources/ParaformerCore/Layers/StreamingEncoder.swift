import Foundation

/// The chunk settings of a streaming model run, in LFR frames (60 ms each), as FunASR names
/// them: `chunk_size = [left, chunk, right]`, `encoder_chunk_look_back`,
/// `decoder_chunk_look_back`. Validated by `StreamingOptions`.
package struct ChunkGeometry: Sendable, Equatable {
    /// chunk_size[0]: left-context frames re-encoded with each chunk; their CIF weights are 0.
    package let left: Int
    /// chunk_size[1]: new frames per chunk (the stride is `chunk · 960` samples).
    package let chunk: Int
    /// chunk_size[2]: look-ahead frames encoded now, counted by the CIF in the next chunk.
    package let right: Int
    /// Chunks of self-attention keys/values each encoder layer keeps (−1: all, 0: none).
    package let encoderLookBack: Int
    /// Chunks of cross-attention keys/values each decoder layer keeps (≤ 0: none).
    package let decoderLookBack: Int

    /// Feature rows carried from one window to the next: left + right.
    package var overlap: Int { left + right }

    package init(left: Int, chunk: Int, right: Int, encoderLookBack: Int, decoderLookBack: Int) {
        self.left = left
        self.chunk = chunk
        self.right = right
        self.encoderLookBack = encoderLookBack
        self.decoderLookBack = decoderLookBack
    }
}

/// Per-stream state of the chunked encoder (FunASR `cache["encoder"]`: `start_idx`,
/// `feats`, `opt`). Buffers are sized once per stream.
package struct StreamingEncoderState {
    /// LFR frames fed so far: the next frame's position is `startIndex + 1`.
    package var startIndex = 0
    /// The last `overlap` rows of the previous window, already scaled and position-encoded
    /// (zeros, without positions, before the first chunk). [overlap, inputSize]
    package var overlapFeatures: Tensor
    /// Per layer: keys and values of earlier windows [rows, 2·D] (K in columns 0..<D, V in D..<2D).
    package var keyValues: [KeyValueCache]
    /// FunASR's `cache["opt"] is not None`: the first window starts the cache untrimmed.
    package var hasCache = false

    package init(layers: Int, inputSize: Int, dim: Int, geometry g: ChunkGeometry) {
        overlapFeatures = Tensor(zeros: [g.overlap, inputSize])
        // The most rows held: the look-back plus the first, untrimmed window.
        let capacity = g.encoderLookBack > 0 ? (g.encoderLookBack + 1) * g.chunk + 2 * g.overlap : 0
        keyValues = (0..<layers).map { _ in KeyValueCache(capacity: capacity, width: 2 * dim) }
    }

    /// Back to the state of a new stream, keeping the buffers.
    package mutating func reset() {
        startIndex = 0
        overlapFeatures.fill(0)
        for cache in keyValues { cache.removeAll() }
        hasCache = false
    }
}

/// FunASR's `SANMEncoderChunkOpt.forward_chunk`: one window of
/// `[overlap rows of the previous window; new frames]` through every layer, each layer's
/// attention also seeing the keys/values of earlier windows.
///
/// ```
/// X      = F · sqrt(D) + PE(startIndex + 1 …)               // [n, 560]
/// W      = [overlap; X],  overlap ← W[−(left+right):]        // [T_w, 560]
/// layer: h = LN1(x); q,k,v = h·Wqkvᵀ + b                    // [T_w, D] each
///        att = Wout·MHA(q, [K_cache; k], [V_cache; v]) + b + FSMN(v)  // FSMN: window only
///        x = (in == D ? x : 0) + att;  x += FFN(LN2(x))
///        cache ← last lookBack·chunk rows of [cache; (k,v)[: T_w − right]]
/// out    = after_norm(x)                                     // [T_w, D]
/// ```
/// FunASR: scama/encoder.py `SANMEncoderChunkOpt.forward_chunk`, `EncoderLayerSANM.forward_chunk`,
/// sanm/attention.py `MultiHeadedAttentionSANM.forward_chunk`.
package struct StreamingEncoder {
    package let encoder: SANMEncoder

    package init(encoder: SANMEncoder) { self.encoder = encoder }

    /// The encoder output [T_w, D] (in `ws`) for `features` [n, inputSize] (CMVN applied).
    /// With `tail`, FunASR's final short chunk: the window is the cached overlap rows alone.
    ///
    /// FunASR multiplies the cached rows by sqrt(D) a second time in the tail chunk (its
    /// in-place `xs_pad *= …` reaches the cache tensor). We encode the rows as cached; the
    /// first operation, LayerNorm of `encoders0` (no residual), makes both the same up to
    /// rounding (see Tests/ParaformerTests/Fixtures/streaming/README.md).
    package func callAsFunction(
        _ features: Tensor?, tail: Bool, state: inout StreamingEncoderState,
        geometry g: ChunkGeometry, _ ws: Workspace
    ) -> Tensor {
        let inSize = encoder.inputSize
        let d = encoder.dim
        let overlap = g.overlap
        let n = tail ? 0 : (features?.rows ?? 0)
        let frames = overlap + n
        let window = ws.tensor([frames, inSize])  // [T_w, 560]
        window.slice(0..<overlap).copy(from: state.overlapFeatures)
        if n > 0, let features {
            let x = window.slice(overlap..<frames)  // [n, 560]
            x.copy(from: features)
            Kernels.scale(x, by: Float(d).squareRoot())
            let mark = ws.mark
            let pe = ws.tensor([n, inSize])
            SinusoidalPositionEncoding.fill(pe, firstPosition: state.startIndex + 1)
            Kernels.add(x, pe)
            ws.rewind(to: mark)
            state.startIndex += n
            state.overlapFeatures.copy(from: window.slice((frames - overlap)..<frames))
        }

        let y = ws.tensor([frames, d])  // [T_w, D], the result
        let keep = g.encoderLookBack > 0 || g.encoderLookBack == -1
        // FunASR caches k_h[:, :, :-right]: the look-ahead rows are encoded again next time
        // (and with right = 0 the slice is empty, so nothing is ever cached).
        let strideRows = g.right > 0 ? max(frames - g.right, 0) : 0
        let limit = g.encoderLookBack == -1 ? Int.max : g.encoderLookBack * g.chunk
        for (i, layer) in encoder.layers.enumerated() {
            let input = i == 0 ? window : y
            let cached = SANMEncoderLayer.Window(
                cache: keep ? state.keyValues[i] : nil, storeRows: strideRows,
                limit: state.hasCache ? limit : Int.max)
            layer(input, layout: BatchLayout(single: frames), into: y, window: cached, ws)
        }
        if keep { state.hasCache = true }
        encoder.afterNorm(y, into: y)
        return y
    }
}
