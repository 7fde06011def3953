import Foundation

/// ESPnet's Transformer decoder (FunASR 0.8.8 `models/decoder/transformer_decoder.py
/// TransformerDecoder`, normalize_before), run one token at a time with a cache.
/// ```
/// x = Embed(y) · √D + PE(pos)
/// per layer:  x += SelfAttn(norm1(x))        causal (the cache holds the earlier positions)
///             x += SrcAttn(norm2(x), enc)
///             x += W2 · relu(W1 · norm3(x) + b1) + b2
/// logp = log_softmax(output_layer(after_norm(x)))     [V]
/// ```
struct TransformerDecoder {
    /// decoder.embed.0.weight: [V, D]
    let embedding: Tensor
    let layers: [TransformerDecoderLayer]
    let afterNorm: LayerNorm
    /// decoder.output_layer: [V, D]
    let outputLayer: Linear
    let dim: Int
    let heads: Int

    init(_ w: WeightStore, _ config: MFCCAConfig) throws {
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
    static func positionalEncoding(_ pos: Int, dim: Int, into p: UnsafeMutablePointer<Float>) {
        let c = Float(-(log(10000.0) / Double(dim)))
        for k in stride(from: 0, to: dim, by: 2) {
            let angle = Float(pos) * expf(Float(k) * c)
            p[k] = sinf(angle)
            if k + 1 < dim { p[k + 1] = cosf(angle) }
        }
    }
}

/// One decoder layer's weights.
struct TransformerDecoderLayer {
    let norm1, norm2, norm3: LayerNorm
    /// self_attn / src_attn .linear_{q,k,v,out}: [D, D]
    let selfQ, selfK, selfV, selfOut: Linear
    let srcQ, srcK, srcV, srcOut: Linear
    /// feed_forward.w_1 [U, D], w_2 [D, U] (ReLU)
    let feedForward: FeedForward

    init(_ w: WeightStore, _ p: String, dim d: Int, units: Int) throws {
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

/// The decoder as a beam-search scorer for one utterance: holds the encoder output's
/// source-attention keys and values, and scores a batch of hypotheses per call.
final class TransformerDecoderScorer: FullScorer {
    let decoder: TransformerDecoder
    /// Per layer: src_attn keys and values of the encoder output, [T', D].
    let memoryKeys: [Tensor]
    let memoryValues: [Tensor]
    let frames: Int
    let ws = Workspace()

    /// Self-attention keys and values of every earlier position, per layer ([L, D] flat).
    final class Cache: ScorerState {
        let keys: [[Float]]
        let values: [[Float]]
        init(keys: [[Float]], values: [[Float]]) {
            self.keys = keys
            self.values = values
        }
        var length: Int { keys.first.map { $0.count } ?? 0 }
    }

    init(_ decoder: TransformerDecoder, memory: Tensor) {
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

    func initialState() -> ScorerState? { nil }

    /// Runs the decoder on each hypothesis's positions not yet in its cache (the last one, in
    /// a search), all hypotheses as one batch when each has one new position.
    func score(_ hyps: [(prefix: [Int], state: ScorerState?)]) -> [(scores: [Float], state: ScorerState?)] {
        let d = decoder.dim
        let n = decoder.layers.count
        var caches: [(keys: [[Float]], values: [[Float]])] = hyps.map { h in
            if let c = h.state as? Cache { return (c.keys, c.values) }
            return (Array(repeating: [], count: n), Array(repeating: [], count: n))
        }
        // Positions still to run (normally one per hypothesis).
        var logps = [[Float]](repeating: [], count: hyps.count)
        var pending = Array(hyps.indices)
        while !pending.isEmpty {
            let rows = pending.filter { caches[$0].keys[0].count / d < hyps[$0].prefix.count }
            if rows.isEmpty { break }
            let out = step(rows.map { (hyps[$0].prefix, caches[$0].keys[0].count / d) }, &caches, rows)
            for (j, h) in rows.enumerated() where caches[h].keys[0].count / d == hyps[h].prefix.count {
                logps[h] = out[j]
            }
            pending = rows
        }
        return hyps.indices.map { h in
            (logps[h], Cache(keys: caches[h].keys, values: caches[h].values) as ScorerState?)
        }
    }

    /// One position for each of `rows` (hypothesis index, prefix, position): extends their
    /// caches and returns log-probabilities [V] per row.
    private func step(
        _ items: [(prefix: [Int], pos: Int)], _ caches: inout [(keys: [[Float]], values: [[Float]])], _ rows: [Int]
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

/// log_softmax of n values: x − max − log Σ exp(x − max).
func logSoftmax(_ p: UnsafePointer<Float>, _ n: Int) -> [Float] {
    var m = -Float.infinity
    for i in 0..<n { m = max(m, p[i]) }
    var s: Float = 0
    for i in 0..<n { s += expf(p[i] - m) }
    let ls = logf(s)
    return (0..<n).map { p[$0] - m - ls }
}
