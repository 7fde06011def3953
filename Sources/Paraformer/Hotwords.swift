import Foundation
import ParaformerCore
import ParaformerModels

/// A list of hotwords prepared for one hotword model (SeACo-Paraformer or Contextual
/// Paraformer): each hotword tokenised as FunASR does, and its vector from the model's bias
/// encoder, computed once. Pass it with every transcription that should be biased.
///
/// ```swift
/// let recognizer = try Recognizer(model: URL(fileURLWithPath: "seaco.gguf"))
/// let hotwords = try recognizer.hotwords("hotwords.txt")   // or "达摩院 魔搭"
/// let result = try recognizer.transcribe(.file(url), hotwords: hotwords)
/// ```
/// FunASR: `generate_hotwords_list` (seaco_paraformer/model.py, contextual_paraformer/model.py)
/// and `_hotword_representation` / the `bias_encoder` pass of `cal_decoder_with_predictor`.
public struct HotwordList: Sendable {
    /// The hotwords, one per entry, as read (before tokenisation); the `<s>` entry FunASR
    /// appends is not listed here.
    public let words: [String]
    /// Token ids of each entry, the final `[<s>]` ("no bias") entry included: N lists.
    public let tokenIds: [[Int]]
    /// The hotword vectors C [N, D], row n for entry n.
    let vectors: Tensor
    /// The model the vectors belong to (kept alive by the list).
    let owner: HotwordModel
    /// Contextual Paraformer's `clas_scale` (FunASR's `generate(..., clas_scale=)`, default 1):
    /// the weight of the hotword branch before its 1×1 conv. SeACo ignores it.
    public var clasScale: Float = 1

    /// The number of entries N, `<s>` included.
    public var count: Int { tokenIds.count }

    init(words: [String], tokenIds: [[Int]], vectors: Tensor, owner: HotwordModel) {
        self.words = words
        self.tokenIds = tokenIds
        self.vectors = vectors
        self.owner = owner
    }
}

/// Reading and tokenising hotwords exactly as FunASR's `generate_hotwords_list`, with two
/// deliberate differences (README): a `.txt` path that does not exist, or is not UTF-8, is an
/// error naming the path (FunASR silently drops the hotwords), and an empty line in a file is
/// skipped (FunASR crashes in `pack_padded_sequence`).
public enum HotwordReader {
    /// The hotwords of a `hotword` value, each a list of words:
    /// - a value ending in `.txt` is a file: one hotword per line, each line split on
    ///   whitespace (a line `hello world` is one hotword of two words);
    /// - otherwise the value is split on whitespace, one hotword per word;
    /// - an `http` value (FunASR downloads it) is refused: download the file first.
    ///
    /// `""` gives no hotwords (the model still sees the `<s>` entry).
    public static func read(_ value: String) throws -> [[String]] {
        if value.hasSuffix(".txt") {
            let url = URL(fileURLWithPath: value)
            guard FileManager.default.fileExists(atPath: value) else {
                throw ParaformerError.invalidHotwords(source: value, reason: "the file does not exist")
            }
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw ParaformerError.invalidHotwords(source: value, reason: "it cannot be read (\(error.localizedDescription))")
            }
            guard let text = String(validatingUTF8Data: data) else {
                throw ParaformerError.invalidHotwords(source: value, reason: "it is not UTF-8 text")
            }
            return lines(PythonText.scalars(text)).compactMap { line in
                let words = split(line)
                return words.isEmpty ? nil : words.map(PythonText.string)
            }
        }
        if value.hasPrefix("http") {
            throw ParaformerError.invalidHotwords(
                source: value, reason: "hotword URLs are not fetched; download the file and pass its .txt path")
        }
        return split(PythonText.scalars(value)).map { [PythonText.string($0)] }
    }

    static func split(_ s: Scalars) -> [Scalars] { HotwordTokenizer.split(s) }

    /// Python `str.splitlines()` (what `codecs.open(...).readlines()` splits on).
    static func lines(_ s: Scalars) -> [Scalars] {
        var out: [Scalars] = []
        var cur: Scalars = []
        var i = 0
        while i < s.count {
            let c = s[i]
            switch c.value {
            case 0x0A, 0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                out.append(cur)
                cur = []
            case 0x0D:
                out.append(cur)
                cur = []
                if i + 1 < s.count && s[i + 1] == "\n" { i += 1 }
            default:
                cur.append(c)
            }
            i += 1
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }
}

extension String {
    /// The string of UTF-8 `data`, or nil when it is not valid UTF-8.
    init?(validatingUTF8Data data: Data) {
        guard let s = String(data: data, encoding: .utf8) else { return nil }
        self = s
    }
}
