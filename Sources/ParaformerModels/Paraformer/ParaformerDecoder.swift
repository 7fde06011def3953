import ParaformerCore
/// `ParaformerSANMDecoder`: att_layer_num blocks with cross attention (`decoders`), the
/// FSMN-only rest (`decoders2`), one FFN block (`decoders3`), `after_norm`, `output_layer`.
/// FunASR: paraformer/decoder.py `ParaformerSANMDecoder.forward`.
package struct ParaformerDecoder {
    package let layers: [DecoderLayer]
    package let afterNorm: LayerNorm
    /// output_layer: [V, D], [V]
    package let output: Linear

    /// Binds `<prefix>.decoders.*`, `<prefix>.decoders2.*`, `<prefix>.decoders3.0`,
    /// `<prefix>.after_norm`, `<prefix>.output_layer`.
    package init(_ w: WeightStore, prefix: String = "decoder", _ c: DecoderConfig) throws {
        var layers: [DecoderLayer] = []
        for i in 0..<c.attLayers {
            layers.append(
                try DecoderLayer(
                    w, "\(prefix).decoders.\(i)", c, fsmnShift: c.sanmShift, crossAttention: true))
        }
        for i in 0..<(c.blocks - c.attLayers) {
            layers.append(
                try DecoderLayer(w, "\(prefix).decoders2.\(i)", c, fsmnShift: 0, crossAttention: false))
        }
        layers.append(try DecoderLayer(w, "\(prefix).decoders3.0", c, fsmnShift: nil, crossAttention: false))
        self.layers = layers
        afterNorm = try LayerNorm(w, "\(prefix).after_norm", dim: c.dim)
        output = try Linear(w, "\(prefix).output_layer", in: c.dim, out: c.vocabSize)
    }

    /// Logits [B·N, V] (in `ws`) for acoustic embeddings [B·N, D] attending to encoder output.
    package func callAsFunction(
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
