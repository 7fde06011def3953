import ParaformerCore
/// The streaming Paraformer (paraformer-online) run chunk by chunk: the offline network's
/// weights with FunASR's `ParaformerStreaming` chunk semantics. Read-only; every stream
/// brings its own `StreamingModel.State` and `Workspace`.
///
/// Per chunk (FunASR `ParaformerStreaming.generate_chunk`):
/// ```
/// F (≈ chunk LFR frames) → encoder window [T_w, D] → CIF (carry-over) → N embeddings
///   → N = 0: nothing;  else decoder(embeddings, window) → argmax → ids
/// ```
/// FunASR: paraformer_streaming/model.py `ParaformerStreaming.inference`, `generate_chunk`.
package struct StreamingModel: Sendable {
    package let model: ParaformerModel
    package let decoder: StreamingDecoder

    package init(_ model: ParaformerModel) {
        self.model = model
        decoder = StreamingDecoder(model.decoder, model.hparams)
    }

    /// Everything a stream carries between chunks.
    package struct State {
        package let geometry: ChunkGeometry
        package var encoder: StreamingEncoderState
        package var cif: StreamingCIFState
        package var decoder: StreamingDecoderState
    }

    /// Resets `state` to a new stream's (FunASR re-initialises its caches after a final chunk),
    /// reusing its buffers.
    package func reset(_ state: inout State) {
        state.encoder.reset()
        state.cif.reset()
        state.decoder.reset()
    }

    package func makeState(_ g: ChunkGeometry) -> State {
        let hp = model.hparams
        return State(
            geometry: g,
            encoder: StreamingEncoderState(
                layers: model.encoder.layers.count, inputSize: hp.inputSize, dim: hp.modelDim,
                geometry: g),
            cif: StreamingCIFState(dim: hp.modelDim),
            decoder: decoder.makeState(dim: hp.modelDim, geometry: g))
    }

    /// What one chunk produced.
    package struct ChunkOutput {
        /// LFR frames that entered the encoder (0 for a tail chunk).
        package var frames: Int
        /// Window rows T_w.
        package var window: Int
        /// The window's encoder output [T_w, D] and CIF weights [T_w], when asked for.
        package var encoderOut: [Float]?
        package var alphas: [Float]
        /// Window rows where tokens fired (T_w: the final tail frame).
        package var fireRows: [Int]
        /// Argmax ids of the N fired tokens (blank/sos/eos not yet removed).
        package var tokenIds: [Int]
        /// Decoder logits [N, V], when asked for.
        package var logits: [Float]?
    }

    /// Runs one chunk: `features` [n, inputSize] from the online frontend, or `tail` for
    /// FunASR's final chunk shorter than one LFR frame of samples (the window is the cached
    /// overlap alone).
    package func step(
        features: Tensor?, tail: Bool, final: Bool, state: inout State, keepIntermediates: Bool,
        _ ws: Workspace, timings: inout StageTimings
    ) -> ChunkOutput {
        let clock = ContinuousClock()
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let g = state.geometry
        var t0 = clock.now
        let encoded = StreamingEncoder(encoder: model.encoder)(
            features, tail: tail, state: &state.encoder, geometry: g, ws)  // [T_w, D]
        timings.encoder += (clock.now - t0).seconds
        t0 = clock.now
        let firing = StreamingPredictor(predictor: model.predictor)(
            encoded, final: final, state: &state.cif, geometry: g, ws)
        timings.predictor += (clock.now - t0).seconds
        var out = ChunkOutput(
            frames: tail ? 0 : (features?.rows ?? 0), window: encoded.rows,
            encoderOut: keepIntermediates ? encoded.array : nil, alphas: firing.alphas,
            fireRows: firing.fireRows, tokenIds: [], logits: nil)
        guard firing.count > 0 else { return out }
        t0 = clock.now
        let logits = decoder(firing.embeddings, memory: encoded, state: &state.decoder, geometry: g, ws)  // [N, V]
        let v = logits.cols
        out.tokenIds = (0..<firing.count).map { Kernels.argmax(logits.row($0), n: v) }
        if keepIntermediates { out.logits = logits.array }
        timings.decoder += (clock.now - t0).seconds
        return out
    }
}
