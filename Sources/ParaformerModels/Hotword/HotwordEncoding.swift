import Foundation
import ParaformerCore

/// Family keys of a hotword model's GGUF metadata (Weights/FORMAT.md), read with the same
/// strictness as `Hyperparameters`.
package struct FamilyMetadata {
    package let file: GGUFFile

    package init(file: GGUFFile) { self.file = file }

    package func int(_ key: String, default value: Int? = nil) throws -> Int {
        guard let v = file.metadata[key] else {
            if let value { return value }
            throw ParaformerError.missingMetadata(key)
        }
        guard let i = v.intValue else { throw ParaformerError.invalidMetadata(key: key, reason: "not an integer") }
        return i
    }

    package func float(_ key: String, default value: Float? = nil) throws -> Float {
        guard let v = file.metadata[key] else {
            if let value { return value }
            throw ParaformerError.missingMetadata(key)
        }
        guard let d = v.doubleValue else { throw ParaformerError.invalidMetadata(key: key, reason: "not a number") }
        return Float(d)
    }

    package func check(_ ok: Bool, _ key: String, _ reason: String) throws {
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
package struct BiasEncoder {
    /// The embedding table [V, D].
    package let table: Tensor
    package let lstm: LSTM

    package init(table: Tensor, lstm: LSTM) {
        self.table = table
        self.lstm = lstm
    }

    /// C [N, D] (owned) for N id lists, each non-empty with ids in the table.
    package func callAsFunction(_ lists: [[Int]]) -> Tensor {
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

/// FunASR's hotword tokenisation (`seg_tokenize` + `tokenizer.tokens2ids`).
package struct HotwordTokenizer {
    /// `seg_dict`: word → its pieces (from the model dir's seg_dict, carried in the GGUF).
    package let segDict: [Scalars: [String]]?
    package let tokens: TokenTable
    package let unkId: Int

    /// Reads `tokenizer.seg_dict.keys` / `.values` when the file has them.
    package init(file: GGUFFile, tokens: TokenTable) throws {
        self.tokens = tokens
        // CharTokenizer(unk_symbol="<unk>"): OOV tokens map to the id of `<unk>`.
        guard let unk = tokens.id(of: "<unk>") else {
            throw ParaformerError.invalidMetadata(key: MetadataKey.tokens.rawValue, reason: "the vocabulary has no <unk>, which hotword tokenisation needs")
        }
        unkId = unk
        let keysKey = "tokenizer.seg_dict.keys", valuesKey = "tokenizer.seg_dict.values"
        guard let k = file.metadata[keysKey] else {
            segDict = nil
            return
        }
        guard let keys = k.arrayValue?.compactMap(\.stringValue),
            let values = file.metadata[valuesKey]?.arrayValue?.compactMap(\.stringValue),
            keys.count == values.count, keys.count == k.arrayValue?.count
        else {
            throw ParaformerError.invalidMetadata(key: keysKey, reason: "seg_dict keys and values must be string arrays of one length")
        }
        var dict = [Scalars: [String]](minimumCapacity: keys.count)
        for (key, value) in zip(keys, values) {
            dict[PythonText.scalars(key)] = Self.split(PythonText.scalars(value)).map(PythonText.string)
        }
        segDict = dict
    }

    /// The ids of one hotword (a list of words).
    package func ids(_ words: [String]) -> [Int] {
        pieces(words).map { tokens.id(of: $0) ?? unkId }
    }

    /// The token strings of one hotword (FunASR's `seg_tokenize`, or the words themselves
    /// without a seg_dict).
    package func pieces(_ words: [String]) -> [String] {
        guard let segDict else { return words }
        var out: [String] = []
        for word in words {
            let w = PythonText.scalars(word.lowercased())
            if let p = segDict[w] {
                out += p
            } else if !w.isEmpty && w.allSatisfy(Self.isCJKOrDigit) {
                // ^[\u4E00-\u9FA50-9]+$: char by char, <unk> for a char not in seg_dict
                for c in w { out += segDict[[c]] ?? ["<unk>"] }
            } else {
                out.append("<unk>")  // a mixed or unknown word is one <unk>
            }
        }
        return out
    }

    /// Python `str.split()`: runs of whitespace separate, none at the ends.
    package static func split(_ s: Scalars) -> [Scalars] {
        var out: [Scalars] = []
        var cur: Scalars = []
        for c in s {
            if PythonText.isSpace(c) {
                if !cur.isEmpty { out.append(cur) }
                cur = []
            } else {
                cur.append(c)
            }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    static func isCJKOrDigit(_ c: Unicode.Scalar) -> Bool {
        (0x4E00...0x9FA5).contains(c.value) || (0x30...0x39).contains(c.value)
    }
}


/// A Paraformer with hotword biasing (SeACo, Contextual): what the facade needs from it.
package protocol HotwordNetwork: LoadedModel {
    /// The Paraformer part (encoder, predictor, decoder, hyperparameters).
    var base: ParaformerModel { get }
    /// The hotword encoder: ids → vectors.
    var biasEncoder: BiasEncoder { get }
}
