import Foundation
import ParaformerCore

/// ESPnet's Transformer decoder (FunASR 0.8.8 `models/decoder/transformer_decoder.py
/// TransformerDecoder`, normalize_before), run one token at a time with a cache.
/// ```
/// x = Embed(y) · √D + PE(pos)
/// per layer:  x += SelfAttn(norm1(x))        causal (the cache holds the earlier positions)
///             x += SrcAttn(norm2(x), enc)
///             x += W2 · relu(W1 · norm3(x) + b1) + b2
/// logp = log_softmax(output_layer(after_norm(x)))     [V]
/// ```
package struct TransformerDecoder: Sendable {
    /// decoder.embed.0.weight: [V, D]
    package let embedding: Tensor
    package let layers: [TransformerDecoderLayer]
    package let afterNorm: LayerNorm
    /// decoder.output_layer: [V, D]
    package let outputLayer: Linear
    package let dim: Int
    package let heads: Int

    package init(_ w: WeightStore, _ config: MFCCAConfig) throws {
        let d = config.modelDim
        dim = d
        heads = config.decoderHeads
        embedding = try w.tensor("decoder.embed.0.weight", [config.vocabSize, d])
        layers = try (0..<config.decoderBlocks).map {
            try TransformerDecoderLayer(w, "decoder.decoders.\($0)", dim: d, units: config.decoderLinearUnits)
        }
        afterNorm = try LayerNorm(w, "decoder.after_norm", dim: d)
        outputLayer = try Linear(w, "decoder.output_layer", in: d, out: config.vocabSize)
    }

    /// ESPnet `PositionalEncoding` row `pos` (float32 arithmetic as torch computes it).
    package static func positionalEncoding(_ pos: Int, dim: Int, into p: UnsafeMutablePointer<Float>) {
        let c = Float(-(log(10000.0) / Double(dim)))
        for k in stride(from: 0, to: dim, by: 2) {
            let angle = Float(pos) * expf(Float(k) * c)
            p[k] = sinf(angle)
            if k + 1 < dim { p[k + 1] = cosf(angle) }
        }
    }
}

/// One decoder layer's weights.
package struct TransformerDecoderLayer: Sendable {
    package let norm1, norm2, norm3: LayerNorm
    /// self_attn / src_attn .linear_{q,k,v,out}: [D, D]
    package let selfQ, selfK, selfV, selfOut: Linear
    package let srcQ, srcK, srcV, srcOut: Linear
    /// feed_forward.w_1 [U, D], w_2 [D, U] (ReLU)
    package let feedForward: FeedForward

    package init(_ w: WeightStore, _ p: String, dim d: Int, units: Int) throws {
        norm1 = try LayerNorm(w, "\(p).norm1", dim: d)
        norm2 = try LayerNorm(w, "\(p).norm2", dim: d)
        norm3 = try LayerNorm(w, "\(p).norm3", dim: d)
        selfQ = try Linear(w, "\(p).self_attn.linear_q", in: d, out: d)
        selfK = try Linear(w, "\(p).self_attn.linear_k", in: d, out: d)
        selfV = try Linear(w, "\(p).self_attn.linear_v", in: d, out: d)
        selfOut = try Linear(w, "\(p).self_attn.linear_out", in: d, out: d)
        srcQ = try Linear(w, "\(p).src_attn.linear_q", in: d, out: d)
        srcK = try Linear(w, "\(p).src_attn.linear_k", in: d, out: d)
        srcV = try Linear(w, "\(p).src_attn.linear_v", in: d, out: d)
        srcOut = try Linear(w, "\(p).src_attn.linear_out", in: d, out: d)
        feedForward = try FeedForward(w, "\(p).feed_forward", dim: d, units: units)
    }
}

/// The decoder's state for one hypothesis: the self-attention keys and values of every
/// position it has run, per layer ([L, D] flat). Immutable; a step makes a new one.
package final class TransformerDecoderCache: Sendable {
    package let keys: [[Float]]
    package let values: [[Float]]
    package init(keys: [[Float]], values: [[Float]]) {
        self.keys = keys
        self.values = values
    }
}

/// The decoder as a beam-search scorer for one utterance (ESPnet `TransformerDecoder.score`
/// with its cache, batched over hypotheses): holds the encoder output's source-attention keys
/// and values.
package final class TransformerDecoderScorer {
    package let decoder: TransformerDecoder
    /// Per layer: src_attn keys and values of the encoder output, [T', D].
    package let memoryKeys: [Tensor]
    package let memoryValues: [Tensor]
    package let frames: Int

    package init(_ decoder: TransformerDecoder, memory: Tensor) {
        self.decoder = decoder
        frames = memory.rows
        memoryKeys = decoder.layers.map { l in
            let k = Tensor(zeros: [memory.rows, decoder.dim])
            l.srcK(memory, into: k)
            return k
        }
        memoryValues = decoder.layers.map { l in
            let v = Tensor(zeros: [memory.rows, decoder.dim])
            l.srcV(memory, into: v)
            return v
        }
    }

    /// Runs the decoder on each hypothesis's positions not yet in its cache (the last one, in
    /// a search), all hypotheses as one batch; returns log p(· | prefix) [V] and the new cache.
    package func score(_ hyps: [(prefix: [Int], cache: TransformerDecoderCache?)], _ ws: Workspace)
        -> [(logp: [Float], cache: TransformerDecoderCache)]
    {
        let d = decoder.dim
        let n = decoder.layers.count
        var caches: [(keys: [[Float]], values: [[Float]])] = hyps.map { h in
            if let c = h.cache { return (c.keys, c.values) }
            return (Array(repeating: [], count: n), Array(repeating: [], count: n))
        }
        var logps = [[Float]](repeating: [], count: hyps.count)
        while true {
            let rows = hyps.indices.filter { caches[$0].keys[0].count / d < hyps[$0].prefix.count }
            if rows.isEmpty { break }
            let out = step(rows.map { (hyps[$0].prefix, caches[$0].keys[0].count / d) }, &caches, rows, ws)
            for (j, h) in rows.enumerated() where caches[h].keys[0].count / d == hyps[h].prefix.count {
                logps[h] = out[j]
            }
        }
        return hyps.indices.map { h in
            (logps[h], TransformerDecoderCache(keys: caches[h].keys, values: caches[h].values))
        }
    }

    /// One position for each of `rows` (hypothesis index, prefix, position): extends their
    /// caches and returns log-probabilities [V] per row.
    private func step(
        _ items: [(prefix: [Int], pos: Int)], _ caches: inout [(keys: [[Float]], values: [[Float]])], _ rows: [Int],
        _ ws: Workspace
    ) -> [[Float]] {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let d = decoder.dim
        let m = items.count
        let heads = decoder.heads
        let x = ws.tensor([m, d])  // [N, D]
        let scale = Float(Double(d).squareRoot())
        for (j, it) in items.enumerated() {
            let token = it.prefix[it.pos]
            let e = decoder.embedding.row(token)
            let r = x.row(j)
            TransformerDecoder.positionalEncoding(it.pos, dim: d, into: r)
            for i in 0..<d { r[i] = e[i] * scale + r[i] }
        }
        let ctx = ws.tensor([m, d])
        for (l, layer) in decoder.layers.enumerated() {
            let y = layer.norm1(x, ws)  // [N, D]
            let q = layer.selfQ(y, ws)
            let k = layer.selfK(y, ws)
            let v = layer.selfV(y, ws)
            for j in 0..<m {
                let h = rows[j]
                caches[h].keys[l].append(contentsOf: UnsafeBufferPointer(start: k.row(j), count: d))
                caches[h].values[l].append(contentsOf: UnsafeBufferPointer(start: v.row(j), count: d))
                let keys = caches[h].keys[l]
                let values = caches[h].values[l]
                keys.withUnsafeBufferPointer { kp in
                    values.withUnsafeBufferPointer { vp in
                        Attention.multiHead(
                            q: .init(data: q.row(j), stride: d), k: .init(data: kp.baseAddress!, stride: d),
                            v: .init(data: vp.baseAddress!, stride: d), queries: 1, keys: keys.count / d,
                            heads: heads, headDim: d / heads, context: ctx.row(j), contextStride: d, ws)
                    }
                }
            }
            layer.selfOut(ctx, into: x, accumulate: true)
            let y2 = layer.norm2(x, ws)
            let q2 = layer.srcQ(y2, ws)
            Attention.multiHead(
                q: .init(data: q2.data, stride: d), k: .init(data: memoryKeys[l].data, stride: d),
                v: .init(data: memoryValues[l].data, stride: d), queries: m, keys: frames,
                heads: heads, headDim: d / heads, context: ctx.data, contextStride: d, ws)
            layer.srcOut(ctx, into: x, accumulate: true)
            let y3 = layer.norm3(x, ws)
            layer.feedForward(y3, into: x, accumulate: true, ws)
        }
        let y = decoder.afterNorm(x, ws)
        let logits = decoder.outputLayer(y, ws)  // [N, V]
        return (0..<m).map { j in logSoftmax(logits.row(j), logits.cols) }
    }
}
