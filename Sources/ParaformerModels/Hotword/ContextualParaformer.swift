import Foundation
import ParaformerCore

/// Contextual Paraformer (FunASR's `ContextualParaformer`): a Paraformer whose last decoder
/// layer also attends to hotword vectors, merged by a 1×1 conv.
///
/// ```
/// H, E      = encoder(X), CIF_v1(α(H))                         // as plain Paraformer
/// C         = BiasEncoder(hotwords ?? [[<s>]])                 // [Nh, D], 1-layer LSTM h_n
/// x         = decoders[0 ..< att−1](E, H)
/// x_self    = x + FSMN(LN2(FFN(LN1(x))))                       // last_decoder, first half
/// x_src     = CrossAtt(LN3(x_self), H)                         // no residual
/// cx        = CrossAtt_bias(LN3_bias(x_self), C)               // no residual, no mask
/// x         = x_self + W_bo · [x_src ‖ clas_scale · cx]         // [D, 2D] 1×1 conv, no bias
/// x         = decoders3(decoders2(x));  L = output(after_norm(x))
/// ```
/// FunASR: contextual_paraformer/model.py `cal_decoder_with_predictor`, decoder.py
/// `ContextualParaformerDecoder.forward`, `ContextualDecoderLayer`, `ContextualBiasDecoder`.
package final class ContextualParaformerModel: HotwordNetwork, Sendable {
    /// The Paraformer it extends; its decoder holds decoders[0 ..< att−1], decoders2 and
    /// decoders3 (bound with att_layer_num − 1 and num_blocks − 1).
    package let base: ParaformerModel
    package var hparams: Hyperparameters { base.hparams }
    /// decoder.last_decoder (a full SAN-M decoder layer whose parts are used separately)
    package let lastLayer: DecoderLayer
    /// bias_decoder: norm3 and src_attn
    package let biasNorm: LayerNorm
    package let biasAttention: CrossAttention
    /// bias_output: Conv1d(2D, D, 1, bias=False) weight [D, 2D, 1] used as [D, 2D].
    package let biasOutput: Tensor
    package let biasEncoder: BiasEncoder
    /// C for no hotwords: FunASR decodes through the bias path with the single `<s>` entry.
    package let defaultVectors: Tensor
    package let file: GGUFFile

    /// The registry entry.
    package static let family = ModelFamily(
        name: "Contextual Paraformer", architectures: [Hyperparameters.Architecture.contextual.rawValue],
        kind: .speechRecognition, load: { try ContextualParaformerModel(file: $0) })

    package convenience init(file: GGUFFile) throws {
        try self.init(file: file, hparams: try Hyperparameters(file))
    }

    package init(file: GGUFFile, hparams hp: Hyperparameters) throws {
        self.file = file
        let d = hp.modelDim
        let meta = FamilyMetadata(file: file)
        let store = WeightStore(file, linearLayout: hp.linearLayout)
        let att = hp.decoderAttLayers
        try meta.check(att >= 1, MetadataKey.decoderAttLayers.rawValue, "a contextual decoder needs at least one attention layer")
        var dc = hp.decoder
        dc.attLayers = att - 1
        dc.blocks = hp.decoderBlocks - 1
        base = try ParaformerModel(file: file, hparams: hp, store: store, decoder: dc)
        lastLayer = try DecoderLayer(store, "decoder.last_decoder", hp.decoder, fsmnShift: hp.decoderSanmShift, crossAttention: true)
        biasNorm = try LayerNorm(store, "decoder.bias_decoder.norm3", dim: d)
        biasAttention = try CrossAttention(store, "decoder.bias_decoder.src_attn", dim: d, heads: hp.decoderHeads)
        biasOutput = try store.tensor("decoder.bias_output.weight", [d, 2 * d, 1]).reshaped([d, 2 * d])
        let inner = try meta.int("contextual.inner_dim", default: d)
        try meta.check(inner == d, "contextual.inner_dim", "must equal the model dimension \(d)")
        let useDecoderEmbedding = try meta.int("contextual.use_decoder_embedding", default: 0) != 0
        let table = useDecoderEmbedding
            ? try store.tensor("decoder.embed.0.weight", [hp.vocabSize, d])
            : try store.tensor("bias_embed.weight", [hp.vocabSize, d])
        biasEncoder = BiasEncoder(table: table, lstm: try LSTM(store, "bias_encoder", layers: 1, input: d, hidden: d))
        defaultVectors = biasEncoder([[hp.sosId]])
        try store.checkAllUsed()
    }

    package struct Output {
        package var frames: Int
        package var firing: CIFPredictor.Firing
        /// Decoded ids (N, before dropping blank/sos/eos).
        package var tokenIds: [Int]
        /// log-probs [N, V] for parity tests.
        package var logProbs: [Float]? = nil
    }

    package func run(
        _ features: Tensor, hotwords: Tensor?, clasScale: Float = 1, keepIntermediates: Bool = false, _ ws: Workspace,
        timings: inout StageTimings
    ) -> Output {
        let clock = ContinuousClock()
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let d = hparams.modelDim, v = hparams.vocabSize
        let t = features.rows
        let none = CIFPredictor.Firing(alphas: [], peaks: [], fireFrames: [], tokenCount: 0)
        guard t > 0 else { return Output(frames: 0, firing: none, tokenIds: []) }
        let layout = BatchLayout(single: t)
        var t0 = clock.now
        let encoded = base.encoder(features, layout: layout, ws)  // [T, D]
        timings.encoder += (clock.now - t0).seconds
        t0 = clock.now
        let alphas = base.predictor.alphas(encoded, layout: layout, ws)  // [T]
        let firing = base.predictor.fire(alphas: alphas.data, count: t, hidden: encoded.data)
        let n = max(firing.tokenCount, 0)
        var out = Output(frames: t, firing: firing, tokenIds: [])
        guard n >= 1 else { return out }
        let x = ws.zeros([n, d])  // [N, D]
        base.predictor.embeddings(firing, hidden: encoded.data, frames: t, into: x, ws)
        timings.predictor += (clock.now - t0).seconds

        t0 = clock.now
        let tokens = BatchLayout(single: n), memory = BatchLayout(single: t)
        let layers = base.decoder.layers
        let att = hparams.decoderAttLayers - 1
        for layer in layers[0..<att] { layer(x, tokens: tokens, memory: encoded, memoryLayout: memory, ws) }
        lastLayer.selfAttentionPart(x, tokens: tokens, ws)  // x = x_self
        let both = ws.tensor([n, 2 * d])  // [N, 2D]: x_src ‖ clas_scale · cx
        if let (norm3, att) = lastLayer.crossAttention {
            let y = norm3(x, ws)
            let src = ws.tensor([n, d])
            att(y, memory: encoded, into: src, accumulate: false, ws)
            biasNorm(x, into: y)
            let c = hotwords ?? defaultVectors
            let cx = ws.tensor([n, d])
            biasAttention(y, memory: c, into: cx, accumulate: false, ws)
            if clasScale != 1 { Kernels.scale(cx, by: clasScale) }
            Kernels.concatColumns([src, cx], into: both)
        }
        BLAS.linear(both, biasOutput, bias: nil, into: x, accumulate: true)  // x = x_self + W_bo·[…]
        for layer in layers[att...] { layer(x, tokens: tokens, memory: encoded, memoryLayout: memory, ws) }
        base.decoder.afterNorm(x, into: x)
        let logits = ws.tensor([n, v])
        base.decoder.output(x, into: logits)
        if keepIntermediates {
            LogProbs.logSoftmax(logits)
            out.logProbs = logits.array
        }
        out.tokenIds = (0..<n).map { Kernels.argmax(logits.row($0), n: v) }
        timings.decoder += (clock.now - t0).seconds
        return out
    }
}
