import Foundation
import Paraformer
import ParaformerCore
import ParaformerModels
import ParaformerDataSet

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
/// the tokens with their own times. Keys in FunASR's order. Streaming results have FunASR's
/// streaming shape: key and (plain) text, no timestamp.
func jsonLine(key: String, _ r: RecognitionResult, streaming: Bool = false) -> String {
    let spans = r.timestamps.map { "[\($0[0]),\($0[1])]" }.joined(separator: ",")
    let tokens = r.tokens.map {
        "{\"id\":\($0.id),\"token\":\(jsonString($0.text)),\"start_ms\":\($0.startMs),\"end_ms\":\($0.endMs)}"
    }.joined(separator: ",")
    let head = "{\"key\":\(jsonString(key)),"
    if streaming { return head + "\"text\":\(jsonString(r.text)),\"tokens\":[\(tokens)]}" }
    return head + "\"text\":\(jsonString(r.timestampText)),\"timestamp\":[\(spans)],\"tokens\":[\(tokens)]}"
}

/// A JSON string literal (RFC 8259 escaping; non-ASCII kept as UTF-8).
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// `key: audio 10.00 s, frontend …, encoder …, predictor …, decoder … (RTF …)`; in a batch the
/// stage times are the whole batch's.
func timingLine(key: String, _ r: RecognitionResult) -> String {
    let t = r.timings
    func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
    let rtf = r.duration > 0 ? t.total / r.duration : 0
    return "\(key): audio \(String(format: "%.2f", r.duration)) s, frontend \(ms(t.frontend)), "
        + "encoder \(ms(t.encoder)), predictor \(ms(t.predictor)), decoder \(ms(t.decoder)), "
        + "RTF \(String(format: "%.4f", rtf))"
}

func formatSeconds(_ d: Duration) -> String {
    String(format: "%.3f s", d.secondsValue)
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}
