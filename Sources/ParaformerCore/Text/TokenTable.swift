/// The model's vocabulary: token id → token string (`tokens.json`, or the GGUF key
/// `tokenizer.ggml.tokens`).
///
/// For paraformer-large: 8404 entries, id 0 `<blank>`, 1 `<s>`, 2 `</s>`, 8403 `<unk>`;
/// English BPE continuation pieces end in `@@`.
public struct TokenTable: Sendable {
    /// The token strings, indexed by id.
    public let tokens: [String]
    /// Code points → first id with that token (exact code points, as a Python dict).
    private let ids: [Scalars: Int]

    /// Builds the table from the token strings in id order.
    package init(tokens: [String]) {
        self.tokens = tokens
        var ids = [Scalars: Int](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() {
            let key = PythonText.scalars(token)
            if ids[key] == nil { ids[key] = id }
        }
        self.ids = ids
    }

    /// The number of tokens (the vocabulary size V).
    public var count: Int { tokens.count }

    /// The token string of `id`; `id` must be in `0..<count`.
    public subscript(id: Int) -> String { tokens[id] }

    /// The id of `token` (compared by exact code points), or nil when it is not in the table.
    public func id(of token: String) -> Int? { ids[PythonText.scalars(token)] }

    /// The token strings of `ids`, leaving out `skipped` ids, as `Paraformer.inference` does
    /// before `tokenizer.ids2tokens`.
    ///
    /// FunASR (`funasr/models/paraformer/model.py`) drops the eos, sos and blank ids
    /// (`skipped = [eos, sos, blank]`, i.e. 2, 1, 0 for paraformer-large) and keeps every
    /// other id, `<unk>` included. An id outside the table (not produced by an argmax over
    /// V logits) is left out too.
    package func tokens(for ids: [Int], skipping skipped: Set<Int>) -> [String] {
        ids.compactMap { id in
            skipped.contains(id) || !tokens.indices.contains(id) ? nil : tokens[id]
        }
    }
}
