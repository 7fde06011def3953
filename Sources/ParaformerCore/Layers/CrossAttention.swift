import Foundation

/// Multi-head cross-attention onto a memory without mask: `linear_out(Attn(q(y), k(m), v(m)))`.
/// FunASR: sanm/attention.py `MultiHeadedAttentionCrossAtt.forward`.
package struct CrossAttention {
    /// linear_q [D, D], linear_k_v [2D, D], linear_out [D, D]
    package let q: Linear
    package let kv: Linear
    package let out: Linear
    package let heads: Int

    package init(q: Linear, kv: Linear, out: Linear, heads: Int) {
        self.q = q
        self.kv = kv
        self.out = out
        self.heads = heads
    }

    package init(_ w: WeightStore, _ p: String, dim d: Int, heads: Int) throws {
        q = try Linear(w, "\(p).linear_q", in: d, out: d)
        kv = try Linear(w, "\(p).linear_k_v", in: d, out: 2 * d)
        out = try Linear(w, "\(p).linear_out", in: d, out: d)
        self.heads = heads
    }

    /// result (+)= CrossAtt(y, memory); y [N, D] (already normalised), memory [M, D].
    package func callAsFunction(_ y: Tensor, memory: Tensor, into result: Tensor, accumulate: Bool, _ ws: Workspace) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let d = y.cols
        let qs = q(y, ws)  // [N, D]
        let kvs = kv(memory, ws)  // [M, 2D]
        let ctx = ws.tensor([y.rows, d])  // [N, D]
        Attention.multiHead(
            q: .init(data: qs.data, stride: d), k: .init(data: kvs.data, stride: 2 * d),
            v: .init(data: kvs.data + d, stride: 2 * d), queries: y.rows, keys: memory.rows,
            heads: heads, headDim: d / heads, context: ctx.data, contextStride: d, ws)
        out(ctx, into: result, accumulate: accumulate)
    }
}

extension DecoderLayer {
    /// The layer's sublayers one by one, for decoders that need its parts (FunASR's
    /// `get_attn_mat`, `ContextualDecoderLayer`): x ← x + FSMN(LN2(FFN(LN1(x)))), in place.
    package func selfAttentionPart(_ x: Tensor, tokens: BatchLayout, _ ws: Workspace) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let h = norm1(x, ws)  // [N, D]
        let f = ws.tensor([tokens.rows, dim])  // [N, D]
        ffn(h, into: f, ws)
        guard let (norm2, fsmn) = selfAttention else {
            x.copy(from: f)
            return
        }
        norm2(f, into: h)
        tokens.zeroPadding(h)
        fsmn(h, layout: tokens, into: x, accumulate: true, ws)
    }

    /// The cross-attention sublayer as a `CrossAttention` (nil for FSMN-only layers).
    package var crossAttention: (norm: LayerNorm, attention: CrossAttention)? {
        guard let (norm3, q, kv, out) = sourceAttention else { return nil }
        return (norm3, CrossAttention(q: q, kv: kv, out: out, heads: heads))
    }
}

/// Row-wise helpers on logits.
package enum LogProbs {
    /// log_softmax of each row of x [R, V], in place.
    package static func logSoftmax(_ x: Tensor) {
        let v = x.cols
        for r in 0..<x.rows {
            let p = x.row(r)
            var m = -Float.infinity
            for i in 0..<v { m = max(m, p[i]) }
            var s: Float = 0
            for i in 0..<v { s += expf(p[i] - m) }
            let l = logf(s)
            for i in 0..<v { p[i] = p[i] - m - l }
        }
    }
}
