import Foundation
import Paraformer

/// The key FunASR uses for a file: its name without directory and extension.
func utteranceKey(_ path: String) -> String {
    let name = (path as NSString).lastPathComponent
    let stem = (name as NSString).deletingPathExtension
    return stem.isEmpty ? name : stem
}

/// `name<TAB>text`
func plainLine(key: String, _ r: RecognitionResult) -> String { "\(key)\t\(r.text)" }

/// FunASR's result object (`generate(..., output_timestamp=True)`): key, text (words joined by
/// spaces, as FunASR lays it out in timestamp mode), timestamp [[start_ms, end_ms], ...], plus
/// the tokens with their own times.
func jsonLine(key: String, _ r: RecognitionResult) -> String {
    struct TokenJSON: Encodable { let id: Int; let token: String; let start_ms: Int; let end_ms: Int }
    struct ResultJSON: Encodable {
        let key: String
        let text: String
        let timestamp: [[Int]]
        let tokens: [TokenJSON]
    }
    let value = ResultJSON(
        key: key, text: r.timestampText, timestamp: r.timestamps,
        tokens: r.tokens.map { TokenJSON(id: $0.id, token: $0.text, start_ms: $0.startMs, end_ms: $0.endMs) })
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    guard let data = try? encoder.encode(value), let s = String(data: data, encoding: .utf8) else {
        return "{}"
    }
    return s
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}
