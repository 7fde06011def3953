import Paraformer
import ParaformerCore
import Foundation

/// One utterance of a Kaldi-style `wav.scp`: its id and where its audio is.
package struct ScpEntry: Sendable, Equatable {
    /// The utterance id (the first field of the line).
    package var id: String
    /// The path as written in `wav.scp` (the rest of the line, inner spaces kept).
    package var path: String
    /// The file the path resolves to (see `WavScp.resolve`).
    package var url: URL
    /// 1-based line number in `wav.scp`, for messages.
    package var line: Int

    package init(id: String, path: String, url: URL, line: Int) {
        self.id = id
        self.path = path
        self.url = url
        self.line = line
    }
}

/// A line of `wav.scp` that was skipped, with why.
package struct ScpProblem: Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// A line with an id and no path.
        case missingPath
        /// An id seen before, on `firstLine`; the first occurrence is kept.
        case duplicateId(firstLine: Int)
        /// A Kaldi pipe command (`... |`), which this engine does not run.
        case pipeCommand
    }
    package var line: Int
    package var id: String
    package var kind: Kind

    package var description: String {
        switch kind {
        case .missingPath:
            return "wav.scp line \(line): id \(id) has no path; skipped."
        case .duplicateId(let first):
            return "wav.scp line \(line): id \(id) already appears on line \(first); skipped."
        case .pipeCommand:
            return "wav.scp line \(line): \(id) is a pipe command, which is not supported; skipped."
        }
    }
}

/// A parsed Kaldi `wav.scp`: `id path` per line, separated by spaces or tabs.
///
/// Parsing follows FunASR's reader (`auto_model.py prepare_data_iterator`:
/// `line.strip().split(maxsplit=1)`): the id is the first whitespace-separated field, the path is
/// the rest of the line with its surrounding whitespace removed, so paths may contain spaces.
/// Unlike FunASR, blank lines are skipped (FunASR fails on them), and duplicate ids, lines without
/// a path and pipe commands are skipped and reported in `problems` (ids key the outputs, so
/// they must be unique).
package struct WavScp: Sendable, Equatable {
    /// Utterances in file order, ids unique.
    package var entries: [ScpEntry]
    /// Lines that were skipped.
    package var problems: [ScpProblem]

    package init(entries: [ScpEntry], problems: [ScpProblem] = []) {
        self.entries = entries
        self.problems = problems
    }

    /// Reads and parses `url`; relative paths resolve against its directory.
    /// - Throws: `ParaformerError.cannotOpenFile` if it cannot be read as UTF-8.
    package init(contentsOf url: URL) throws {
        let text = try KaldiText.readUTF8(url)
        self = WavScp.parse(text, baseDirectory: url.deletingLastPathComponent())
    }

    /// Parses the text of a `wav.scp`.
    /// - Parameter baseDirectory: where relative paths are looked up first (see `resolve`).
    package static func parse(_ text: String, baseDirectory: URL) -> WavScp {
        var entries: [ScpEntry] = []
        var problems: [ScpProblem] = []
        var firstLine: [String: Int] = [:]
        for (n, raw) in KaldiText.splitLines(text).enumerated() {
            let lineNumber = n + 1
            let line = KaldiText.pythonStrip(raw)
            if line.isEmpty { continue }
            let (id, rest) = KaldiText.splitFirstField(line)
            let path = KaldiText.pythonStrip(rest)
            if path.isEmpty {
                problems.append(ScpProblem(line: lineNumber, id: id, kind: .missingPath))
                continue
            }
            if let first = firstLine[id] {
                problems.append(
                    ScpProblem(line: lineNumber, id: id, kind: .duplicateId(firstLine: first)))
                continue
            }
            if path.hasSuffix("|") {
                problems.append(ScpProblem(line: lineNumber, id: id, kind: .pipeCommand))
                continue
            }
            firstLine[id] = lineNumber
            entries.append(
                ScpEntry(
                    id: id, path: path, url: resolve(path, baseDirectory: baseDirectory),
                    line: lineNumber))
        }
        return WavScp(entries: entries, problems: problems)
    }

    /// Where a path of `wav.scp` points: absolute paths as they are; a relative path against
    /// `baseDirectory` (the data directory) if a file is there, else against the current
    /// directory if a file is there (Kaldi recipes write paths relative to the recipe), else
    /// against `baseDirectory` (and decoding reports the file missing).
    package static func resolve(_ path: String, baseDirectory: URL) -> URL {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path) }
        let inDir = baseDirectory.appendingPathComponent(path)
        let fm = FileManager.default
        if fm.fileExists(atPath: inDir.path) { return inDir }
        let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent(path)
        if fm.fileExists(atPath: cwd.path) { return cwd }
        return inDir
    }
}

// MARK: - Kaldi text files

/// A Kaldi-style `id value` file (`text`, `token`, `timestamp`, ...) kept line by line.
///
/// `value` is the line after the id and the one separator character that follows it, exactly as
/// FunASR's `DatadirWriter` wrote it (`f"{key} {value}\n"`), so files rewritten from it are
/// byte-identical.
package struct KaldiTextFile: Sendable, Equatable {
    /// Ids in first-appearance order.
    package private(set) var ids: [String] = []
    private var values: [String: String] = [:]

    package init() {}

    /// Parses `text`; a later line with the same id replaces the value and keeps the first
    /// position (Python dict semantics, as `compute_wer` reads). Blank lines are skipped. An
    /// unterminated last line is dropped when `dropUnterminatedLine` (an interrupted write).
    package init(parsing text: String, dropUnterminatedLine: Bool = false) {
        var lines = KaldiText.splitLines(text)
        if dropUnterminatedLine, let last = text.unicodeScalars.last, last != "\n", last != "\r" {
            lines.removeLast()
        }
        for raw in lines {
            let line = KaldiText.pythonStripLeading(raw)
            if line.isEmpty { continue }
            let (id, rest) = KaldiText.splitFirstField(line)
            set(id, rest)
        }
    }

    /// Reads `url`; a missing file reads as empty when `missingIsEmpty`.
    /// - Throws: `ParaformerError.cannotOpenFile`.
    package init(contentsOf url: URL, missingIsEmpty: Bool = false, dropUnterminatedLine: Bool = false)
        throws
    {
        if missingIsEmpty && !FileManager.default.fileExists(atPath: url.path) {
            self.init()
            return
        }
        self.init(parsing: try KaldiText.readUTF8(url), dropUnterminatedLine: dropUnterminatedLine)
    }

    package var count: Int { ids.count }

    package subscript(id: String) -> String? { values[id] }

    package func contains(_ id: String) -> Bool { values[id] != nil }

    /// Sets the value of `id`, appending the id if new.
    package mutating func set(_ id: String, _ value: String) {
        if values.updateValue(value, forKey: id) == nil { ids.append(id) }
    }

    /// The line FunASR's `DatadirWriter` writes: `id value\n` (a trailing space for an empty value).
    package static func line(_ id: String, _ value: String) -> String { "\(id) \(value)\n" }
}

// MARK: - Helpers

/// Text handling shared by the data-set files, written to match Python's `str` methods.
package enum KaldiText {
    /// Characters Python's `str.split()`/`str.strip()` treat as whitespace (`str.isspace`).
    package static func isPythonWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F,
            0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `s.strip()` in Python, by Unicode scalars (so "\r\n" and combining marks behave as in Python).
    package static func pythonStrip<S: StringProtocol>(_ s: S) -> String {
        let scalars = Array(s.unicodeScalars)
        guard let lo = scalars.firstIndex(where: { !isPythonWhitespace($0) }),
            let hi = scalars.lastIndex(where: { !isPythonWhitespace($0) })
        else { return "" }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[lo...hi])
        return String(out)
    }

    package static func pythonStripLeading<S: StringProtocol>(_ s: S) -> String {
        let scalars = Array(s.unicodeScalars)
        guard let lo = scalars.firstIndex(where: { !isPythonWhitespace($0) }) else { return "" }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[lo...])
        return String(out)
    }

    /// `s.split()` in Python: runs of non-whitespace scalars.
    package static func pythonSplit<S: StringProtocol>(_ s: S) -> [String] {
        var fields: [String] = []
        var current = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if isPythonWhitespace(u) {
                if !current.isEmpty {
                    fields.append(String(current))
                    current = String.UnicodeScalarView()
                }
            } else {
                current.append(u)
            }
        }
        if !current.isEmpty { fields.append(String(current)) }
        return fields
    }

    /// Splits `line` (no leading whitespace) at its first whitespace scalar: the field before it and
    /// everything after that one scalar.
    package static func splitFirstField(_ line: String) -> (String, String) {
        let scalars = line.unicodeScalars
        guard let sep = scalars.firstIndex(where: isPythonWhitespace) else { return (line, "") }
        let id = String(scalars[scalars.startIndex..<sep])
        let rest = String(scalars[scalars.index(after: sep)...])
        return (id, rest)
    }

    /// Lines of `text` as Python's text mode reads them (universal newlines: "\n", "\r\n" or
    /// "\r" end a line), without their line ends; a final line end gives no extra empty line.
    package static func splitLines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousWasCR = false
        for u in text.unicodeScalars {
            if u == "\n" && previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = u == "\r"
            if u == "\n" || u == "\r" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(u)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    package static func readUTF8(_ url: URL) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ParaformerError.cannotOpenFile(path: url.path, reason: "\(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ParaformerError.cannotOpenFile(path: url.path, reason: "it is not UTF-8 text")
        }
        return text
    }
}
