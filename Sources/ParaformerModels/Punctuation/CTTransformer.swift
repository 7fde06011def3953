import Foundation
import ParaformerCore

/// The CT-Transformer network: token embedding, a SAN-M encoder, and a Linear head over the
/// punctuation classes.
///
/// ```
/// x = embed.weight[ids]                        // [N, E]
/// h = SANMEncoder(x)                           // x·sqrt(D) + PE(1…N), encoders0, encoders.*, after_norm
/// y = decoder(h)                               // [N, P] logits; the class is argmax(y)
/// ```
/// FunASR: ct_transformer/model.py `CTTransformer.punc_forward` (offline, full attention);
/// ct_transformer_streaming/model.py `CTTransformerStreaming.punc_forward` with
/// ct_transformer_streaming/encoder.py `SANMVadEncoder.forward` (causal FSMN, causal attention
/// in every layer but the last, whose attention is full except the rows before `vadPosition`).
package struct CTTransformerNetwork {
    package let config: PunctuationConfig
    /// embed.weight: [V, E]
    package let embedding: Tensor
    /// encoder.*: encoders0.0 (input E), encoders.{0…blocks−2}, after_norm (the shared SAN-M
    /// encoder: x·sqrt(D) + PE(1…N), layers, after_norm)
    package let encoder: SANMEncoder
    /// decoder: [P, D]
    package let head: Linear

    package init(_ w: WeightStore, _ config: PunctuationConfig) throws {
        self.config = config
        embedding = try w.tensor("embed.weight", [config.vocabSize, config.embedUnit])
        encoder = try SANMEncoder(w, prefix: "encoder", config.encoder)
        head = try Linear(w, "decoder", in: config.modelDim, out: config.punctuationList.count)
    }

    /// The class id (argmax of the logits, the first on ties) of every token of `ids`.
    ///
    /// - Parameter vadPosition: the streaming model's `vad_indexes` (the number of words carried
    ///   over from the previous call); ignored by the offline model.
    package func classify(_ ids: [Int], vadPosition: Int = 0, _ ws: Workspace) -> [Int] {
        let n = ids.count
        guard n > 0 else { return [] }
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let e = config.embedUnit
        let x = ws.tensor([n, e])  // [N, E]
        for (r, id) in ids.enumerated() {
            x.row(r).update(from: embedding.row(id), count: e)
        }
        let h = encoder(
            x, layout: BatchLayout(single: n),
            visibleKeys: { layer in visibleKeys(layer: layer, n: n, vadPosition: vadPosition) }, ws)  // [N, D]
        let logits = head(h, ws)  // [N, P]
        let p = logits.cols
        return (0..<n).map { Kernels.argmax(logits.row($0), n: p) }
    }

    /// Which keys each query row of layer `layer` attends to (nil: all of them).
    ///
    /// Offline: full attention. Streaming (`SANMVadEncoder`): `subsequent_mask` (row r sees keys
    /// 0…r) in every layer but the last; the last layer uses `vad_mask(N, vadPosition)`: rows
    /// 0 ..< vadPosition − 1 see keys 0 ..< vadPosition, the others see everything (all rows see
    /// everything when vadPosition ≤ 0 or ≥ N).
    private func visibleKeys(layer: Int, n: Int, vadPosition: Int) -> ((Int) -> Int)? {
        guard config.architecture == .streaming else { return nil }
        if layer + 1 < config.blocks || layer == 0 {
            return { row in row + 1 }
        }
        guard vadPosition > 0 && vadPosition < n else { return nil }
        return { row in row < vadPosition - 1 ? vadPosition : n }
    }
}
