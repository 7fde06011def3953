import Foundation

/// Family keys of a hotword model's GGUF metadata (Weights/FORMAT.md), read with the same
/// strictness as `Hyperparameters`.
struct FamilyMetadata {
    let file: GGUFFile

    func int(_ key: String, default value: Int? = nil) throws -> Int {
        guard let v = file.metadata[key] else {
            if let value { return value }
            throw ParaformerError.missingMetadata(key)
        }
        guard let i = v.intValue else { throw ParaformerError.invalidMetadata(key: key, reason: "not an integer") }
        return i
    }

    func float(_ key: String, default value: Float? = nil) throws -> Float {
        guard let v = file.metadata[key] else {
            if let value { return value }
            throw ParaformerError.missingMetadata(key)
        }
        guard let d = v.doubleValue else { throw ParaformerError.invalidMetadata(key: key, reason: "not a number") }
        return Float(d)
    }

    func check(_ ok: Bool, _ key: String, _ reason: String) throws {
        if !ok { throw ParaformerError.invalidMetadata(key: key, reason: reason) }
    }
}

/// Hotword vectors: each hotword's ids through an embedding table and an LSTM, the output at
/// its last step (the packed sequence's final state).
///
/// ```
/// C[n] = LSTM(E[ids_n])[len_n − 1]        // [N, D]
/// ```
/// FunASR: seaco_paraformer/model.py `_hotword_representation` (decoder.embed, 2 layers);
/// contextual_paraformer/model.py `cal_decoder_with_predictor` (bias_embed, 1 layer, h_n).
struct BiasEncoder {
    /// The embedding table [V, D].
    let table: Tensor
    let lstm: LSTM

    init(table: Tensor, lstm: LSTM) {
        self.table = table
        self.lstm = lstm
    }

    /// C [N, D] (owned) for N id lists, each non-empty with ids in the table.
    func callAsFunction(_ lists: [[Int]]) -> Tensor {
        let d = table.cols
        let out = Tensor(zeros: [lists.count, d])  // [N, D]
        let ws = Workspace()
        for (n, ids) in lists.enumerated() {
            let mark = ws.mark
            let x = ws.tensor([ids.count, d])  // [L, D]
            for (t, id) in ids.enumerated() { x.row(t).update(from: table.row(id), count: d) }
            let h = lstm(x, ws)  // [L, D]
            out.row(n).update(from: h.row(ids.count - 1), count: d)
            ws.rewind(to: mark)
        }
        return out
    }
}

/// Multi-head cross-attention onto a memory without mask: `linear_out(Attn(q(y), k(m), v(m)))`.
/// FunASR: sanm/attention.py `MultiHeadedAttentionCrossAtt.forward`.
struct CrossAttention {
    /// linear_q [D, D], linear_k_v [2D, D], linear_out [D, D]
    let q: Linear
    let kv: Linear
    let out: Linear
    let heads: Int

    init(q: Linear, kv: Linear, out: Linear, heads: Int) {
        self.q = q
        self.kv = kv
        self.out = out
        self.heads = heads
    }

    init(_ w: WeightStore, _ p: String, dim d: Int, heads: Int) throws {
        q = try Linear(w, "\(p).linear_q", in: d, out: d)
        kv = try Linear(w, "\(p).linear_k_v", in: d, out: 2 * d)
        out = try Linear(w, "\(p).linear_out", in: d, out: d)
        self.heads = heads
    }

    /// result (+)= CrossAtt(y, memory); y [N, D] (already normalised), memory [M, D].
    func callAsFunction(_ y: Tensor, memory: Tensor, into result: Tensor, accumulate: Bool, _ ws: Workspace) {
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
    func selfAttentionPart(_ x: Tensor, tokens: BatchLayout, _ ws: Workspace) {
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
    var crossAttention: (norm: LayerNorm, attention: CrossAttention)? {
        guard let (norm3, q, kv, out) = sourceAttention else { return nil }
        return (norm3, CrossAttention(q: q, kv: kv, out: out, heads: heads))
    }
}

/// Row-wise helpers on logits.
enum LogProbs {
    /// log_softmax of each row of x [R, V], in place.
    static func logSoftmax(_ x: Tensor) {
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
