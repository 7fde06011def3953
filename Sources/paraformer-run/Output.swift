import ArgumentParser
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

/// Writes a line to standard error. A failed write is ignored (there is nowhere left to report
/// it); Foundation's `FileHandle.write(_:)` would trap on it (`2>/dev/full`).
func printError(_ message: String) {
    writeStandardError(message + "\n")
}

/// What a mode loads before its first file (models, options): an error is printed and ends the
/// run with exit status 2.
func loadOrExit<T>(_ load: () throws -> T) throws -> T {
    do {
        return try load()
    } catch {
        printError("error: \(error)")
        throw ExitCode(2)
    }
}

/// Writes `text` to standard error as it is (progress bar redraws), ignoring failures.
func writeStandardError(_ text: String) {
    _ = writeAll(STDERR_FILENO, text)
}

/// Writes results to standard output, each call straight to the file descriptor (no
/// buffer), so that a reader sees every line as its file finishes and
/// `paraformer-run ... | head -1` ends the run at the next result. A failed write ends the
/// process, as nothing written after it would arrive:
/// - a closed pipe (EPIPE, the reader is gone): quietly, with status 141 (as if SIGPIPE had
///   ended it, the shell's usual status for `| head`);
/// - anything else (a full disk: ENOSPC, `> /dev/full`; an I/O error): an error naming where
///   standard output goes, status 2, so that no result is lost silently.
func emit(_ text: String, terminator: String = "\n") {
    let code = writeAll(STDOUT_FILENO, text + terminator)
    if code != 0 { standardOutputFailed(code) }
}

/// write(2) until every byte is out; 0, or the errno of the failed write.
private func writeAll(_ fd: Int32, _ text: String) -> Int32 {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        offset += n
    }
    return 0
}

/// Ends the process after a failed write to standard output (see `emit`).
func standardOutputFailed(_ code: Int32) -> Never {
    if code == EPIPE { exit(141) }
    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/1")) ?? "standard output"
    let reason = String(cString: strerror(code))
    printError("error: cannot write the results to \(target): \(reason)")
    exit(2)
}
