import Foundation
import ParaformerCore

/// `FsmnDecoderSCAMAOpt` run one token at a time for a beam of hypotheses.
///
/// ```
/// y = embed[last token]                                         // [H, A]
/// y = FFN_{A+E→A}(LN(concat(y, e_i)))       (concat_embeds; e_i the i-th CIF embedding or 0)
/// decoders.l:   f = FFN(LN1(y)); g = LN2(f)
///               y = y + g + Σ_k w_k ⊙ window_k      window = the last K FSMN inputs (g included)
///               y = y + W_out · MHA(W_q · LN3(y), K_l, V_l) + b    over the mask row's chunk
/// decoders2.l:  the same without the cross-attention
/// decoders3:    y = FFN(LN1(y))                                 (no residual)
/// log p = log_softmax(output_layer(after_norm(y)))              // [H, V]
/// ```
/// The FSMN window of a hypothesis starts as [0 × left, g, 0 × right] (FunASR pads its first
/// input) and then drops its oldest column for each new input. Cross-attention keys and values
/// depend only on the memory, so they are computed once per utterance (FunASR recomputes them
/// every step; same numbers).
/// FunASR: scama/decoder.py `FsmnDecoderSCAMAOpt.forward_one_step`, `DecoderLayerSANM.forward_one_step`;
/// sanm/attention.py `MultiHeadedAttentionSANMDecoder.forward` (cache), `MultiHeadedAttentionCrossAtt`.
struct SCAMADecoder {
    /// embed.0.weight: [V, A]
    let embed: Tensor
    /// embed_concat_ffn.0: norm1 [A+E], then W2 · LN(relu(W1 · x + b1)): w_1 [U, A+E], norm [U],
    /// w_2 [A, U] (no bias).
    let concat: (norm: LayerNorm, w1: FewRowsLinear, ffnNorm: LayerNorm, w2: FewRowsLinear)?
    /// decoders.*, decoders2.*, decoders3.0 in order.
    let layers: [SCAMADecoderLayer]
    let afterNorm: LayerNorm
    /// output_layer: [V, A], [V]
    let output: FewRowsLinear
    let config: UniASRConfig.Decoder
    /// Layers with an FSMN block (decoders and decoders2).
    var fsmnLayers: Int { config.blocks }
    var leftPad: Int { FSMNBlock.leftPad(kernelSize: config.kernelSize, sanmShift: config.sanmShift) }

    init(_ w: WeightStore, _ p: String, _ c: UniASRConfig.Decoder, vocabSize v: Int) throws {
        let a = c.dim
        embed = try w.tensor("\(p).embed.0.weight", [v, a])
        if c.concatEmbeds {
            let f = "\(p).embed_concat_ffn.0.feed_forward"
            concat = (
                try LayerNorm(w, "\(p).embed_concat_ffn.0.norm1", dim: a + c.memoryDim),
                try FewRowsLinear(w, "\(f).w_1", in: a + c.memoryDim, out: c.linearUnits),
                try LayerNorm(w, "\(f).norm", dim: c.linearUnits),
                try FewRowsLinear(w, "\(f).w_2", in: c.linearUnits, out: a, bias: false)
            )
        } else {
            concat = nil
        }
        var layers: [SCAMADecoderLayer] = []
        for i in 0..<c.attLayers {
            layers.append(try SCAMADecoderLayer(w, "\(p).decoders.\(i)", c, fsmn: true, crossAttention: true))
        }
        for i in 0..<(c.blocks - c.attLayers) {
            layers.append(try SCAMADecoderLayer(w, "\(p).decoders2.\(i)", c, fsmn: true, crossAttention: false))
        }
        layers.append(try SCAMADecoderLayer(w, "\(p).decoders3.0", c, fsmn: false, crossAttention: false))
        self.layers = layers
        afterNorm = try LayerNorm(w, "\(p).after_norm", dim: a)
        output = try FewRowsLinear(w, "\(p).output_layer", in: a, out: v)
        config = c
    }

    /// Cross-attention keys and values of every attention layer for `memory` [R, E]: [R, 2A] each.
    func keyValues(_ memory: Tensor, _ ws: Workspace) -> [Tensor] {
        layers.compactMap { layer in layer.sourceAttention.map { $0.kv(memory, ws) } }
    }
}

/// One `DecoderLayerSANM` of `FsmnDecoderSCAMAOpt`, with its per-step products as
/// `FewRowsLinear` (F16 weights stay F16). `linear_k_v` runs once per utterance over the memory
/// rows, through `Linear`.
struct SCAMADecoderLayer {
    let norm1: LayerNorm
    /// feed_forward: W2 · LN(relu(W1 · x + b1)); w_1 [U, A], norm [U], w_2 [A, U] (no bias).
    let w1: FewRowsLinear
    let ffnNorm: LayerNorm
    let w2: FewRowsLinear
    /// norm2 + fsmn_block (weight [A, 1, K]); absent in decoders3.
    let selfAttention: (norm: LayerNorm, fsmn: FSMNBlock)?
    /// norm3, linear_q [A, A], linear_k_v [2A, E], linear_out [A, A].
    let sourceAttention: (norm: LayerNorm, q: FewRowsLinear, kv: Linear, out: FewRowsLinear)?
    let heads: Int
    let dim: Int

    init(_ w: WeightStore, _ p: String, _ c: UniASRConfig.Decoder, fsmn: Bool, crossAttention: Bool) throws {
        let a = c.dim
        dim = a
        heads = c.heads
        norm1 = try LayerNorm(w, "\(p).norm1", dim: a)
        w1 = try FewRowsLinear(w, "\(p).feed_forward.w_1", in: a, out: c.linearUnits)
        ffnNorm = try LayerNorm(w, "\(p).feed_forward.norm", dim: c.linearUnits)
        w2 = try FewRowsLinear(w, "\(p).feed_forward.w_2", in: c.linearUnits, out: a, bias: false)
        selfAttention =
            fsmn
            ? (
                try LayerNorm(w, "\(p).norm2", dim: a),
                try FSMNBlock(
                    w, "\(p).self_attn.fsmn_block.weight", channels: a, kernelSize: c.kernelSize,
                    sanmShift: c.sanmShift)
            ) : nil
        sourceAttention =
            crossAttention
            ? (
                try LayerNorm(w, "\(p).norm3", dim: a),
                try FewRowsLinear(w, "\(p).src_attn.linear_q", in: a, out: a),
                try Linear(w, "\(p).src_attn.linear_k_v", in: c.memoryDim, out: 2 * a),
                try FewRowsLinear(w, "\(p).src_attn.linear_out", in: a, out: a)
            ) : nil
    }
}

/// Per-hypothesis decoder caches: for every FSMN layer the window of its last K inputs
/// [layers, K, A], in storage shared copy-on-write between hypotheses that branched from one
/// parent (`makeUnique` copies it only while it is shared).
package struct SCAMADecoderState {
    final class Storage {
        let pointer: UnsafeMutablePointer<Float>
        let count: Int
        init(count: Int) {
            self.count = count
            pointer = .allocate(capacity: max(count, 1))
            pointer.initialize(repeating: 0, count: max(count, 1))
        }
        deinit { pointer.deallocate() }
    }

    var storage: Storage
    /// The windows hold at least one input (FunASR's cache is not None).
    var started = false

    init(count: Int) { storage = Storage(count: count) }

    mutating func makeUnique() {
        guard !isKnownUniquelyReferenced(&storage) else { return }
        let copy = Storage(count: storage.count)
        copy.pointer.update(from: storage.pointer, count: storage.count)
        storage = copy
    }
}

/// The SCAMA decoder as a beam-search scorer for one utterance: its memory's keys and values,
/// the CIF embeddings and the SCAMA mask rows.
struct SCAMAScorer: BeamSearchScorer {
    let decoder: SCAMADecoder
    /// Per attention layer: keys and values of the compact memory [n·C, 2A].
    let keyValues: [Tensor]
    /// CIF embeddings [≥ N, E], the first `embeddingCount` valid.
    let embeddings: Tensor
    let embeddingCount: Int
    /// Memory rows each SCAMA mask row attends to.
    let maskRanges: [Range<Int>]

    var vocabularySize: Int { decoder.output.outFeatures }

    func initialState() -> SCAMADecoderState {
        SCAMADecoderState(count: decoder.fsmnLayers * decoder.config.kernelSize * decoder.config.dim)
    }

    func score(
        prefixes: [[Int]], states: inout [SCAMADecoderState], step: Int, into scores: Tensor, _ ws: Workspace
    ) {
        let h = prefixes.count
        let a = decoder.config.dim
        let k = decoder.config.kernelSize
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        for i in 0..<h { states[i].makeUnique() }
        let windows = states.map(\.storage.pointer)
        let started = states.first?.started ?? false

        var x = ws.tensor([h, a])  // [H, A]
        for (i, p) in prefixes.enumerated() {
            let token = min(max(p.last ?? 0, 0), decoder.embed.rows - 1)
            x.row(i).update(from: decoder.embed.row(token), count: a)
        }
        if let (norm, w1, ffnNorm, w2) = decoder.concat {
            let e = decoder.config.memoryDim
            let z = ws.zeros([h, a + e])  // [H, A+E]
            for i in 0..<h {
                z.row(i).update(from: x.row(i), count: a)
                if step < embeddingCount { (z.row(i) + a).update(from: embeddings.row(step), count: e) }
            }
            norm(z, into: z)
            let u = w1(z, relu: true, ws)  // [H, U]
            ffnNorm(u, into: u)
            let y = ws.tensor([h, a])
            w2(u, into: y)  // no residual
            x = y
        }
        // A row of the SCAMA mask per output position; the last one repeats.
        let range = maskRanges.isEmpty ? 0..<0 : maskRanges[min(step, maskRanges.count - 1)]
        var fsmnIndex = 0
        var crossIndex = 0
        for layer in decoder.layers {
            var kv: Tensor? = nil
            if layer.sourceAttention != nil {
                kv = keyValues[crossIndex]
                crossIndex += 1
            }
            var slots: [UnsafeMutablePointer<Float>] = []
            if layer.selfAttention != nil {
                slots = windows.map { $0 + fsmnIndex * k * a }
                fsmnIndex += 1
            }
            layer.forwardOneStep(
                x, windows: slots, started: started, leftPad: decoder.leftPad, keyValues: kv, range: range, ws
            )
        }
        for i in 0..<h { states[i].started = true }
        decoder.afterNorm(x, into: x)
        decoder.output(x, into: scores)  // [H, V]
        for i in 0..<h { Self.logSoftmax(scores.row(i), n: scores.cols) }
    }

    /// torch.log_softmax over one row, in place.
    static func logSoftmax(_ p: UnsafeMutablePointer<Float>, n: Int) {
        var m = -Float.infinity
        for i in 0..<n { m = max(m, p[i]) }
        var s: Double = 0
        for i in 0..<n { s += Double(expf(p[i] - m)) }
        let shift = m + Float(Foundation.log(s))
        for i in 0..<n { p[i] -= shift }
    }
}

extension SCAMADecoderLayer {
    /// x ← layer(x) in place for H hypotheses at one output position. x [H, A].
    /// `windows[h]` is hypothesis h's FSMN window [K, A] for this layer (updated);
    /// `keyValues` [R, 2A] with `range` the memory rows the mask row allows.
    func forwardOneStep(
        _ x: Tensor, windows: [UnsafeMutablePointer<Float>], started: Bool, leftPad: Int, keyValues: Tensor?,
        range: Range<Int>, _ ws: Workspace
    ) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let h = x.rows
        let a = dim
        let n1 = norm1(x, ws)  // [H, A]
        let f = ws.tensor([h, a])  // [H, A]
        do {  // FFN_dec = W2 · LN(relu(W1·x + b1))
            let inner = ws.mark
            let u = w1(n1, relu: true, ws)  // [H, U]
            ffnNorm(u, into: u)
            w2(u, into: f)
            ws.rewind(to: inner)
        }
        guard let (norm2, fsmn) = selfAttention else {
            x.copy(from: f)  // decoders3: no residual
            return
        }
        norm2(f, into: n1)  // g = LN2(f)
        let k = fsmn.kernelSize
        for i in 0..<h {
            let window = windows[i]
            let g = n1.row(i)
            if started {
                window.update(from: window + a, count: (k - 1) * a)  // drop the oldest column
                (window + (k - 1) * a).update(from: g, count: a)
            } else {
                window.update(repeating: 0, count: k * a)
                (window + leftPad * a).update(from: g, count: a)
            }
            let dst = x.row(i)
            Kernels.add(dst, g, count: a)  // y = r + g + conv(window)
            for j in 0..<k {
                let wj = fsmn.weight.row(j)
                let src = window + j * a
                for c in 0..<a { dst[c] += wj[c] * src[c] }
            }
        }
        guard let (norm3, wq, _, wout) = sourceAttention, let keyValues else { return }
        norm3(x, into: n1)
        let q = wq(n1, ws)  // [H, A]
        let ctx = ws.tensor([h, a])  // [H, A]
        let base = keyValues.row(range.lowerBound)
        Attention.multiHead(
            q: .init(data: q.data, stride: a), k: .init(data: base, stride: 2 * a),
            v: .init(data: base + a, stride: 2 * a), queries: h, keys: range.count, heads: heads,
            headDim: a / heads, context: ctx.data, contextStride: a, ws)
        wout(ctx, into: x, accumulate: true)  // x = x + CrossAtt
    }
}
