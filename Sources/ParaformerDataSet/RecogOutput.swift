import Paraformer
import ParaformerCore
import Foundation

/// One utterance's lines in FunASR's `1best_recog` files, without the id.
package struct RecogLines: Sendable, Equatable {
    /// `text`: the post-processed transcript (`RecognitionResult.text`).
    package var text: String
    /// `token`: the tokens joined by single spaces, `@@` pieces as they are.
    package var token: String
    /// `timestamp`: per-word `[start_ms, end_ms]` as Python prints the list, `[[80, 300], ...]`.
    package var timestamp: String

    package init(text: String, token: String, timestamp: String) {
        self.text = text
        self.token = token
        self.timestamp = timestamp
    }

    /// The lines FunASR writes for a result (`paraformer/model.py inference`: `token` is
    /// `" ".join(token)`, `text` is `text_postprocessed`; `timestamp` as
    /// `bicif_paraformer/model.py` writes `time_stamp_postprocessed`).
    package init(_ result: RecognitionResult) {
        text = result.text
        token = result.tokens.map(\.text).joined(separator: " ")
        timestamp = "[" + result.timestamps.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }
            .joined(separator: ", ") + "]"
    }
}

/// The `1best_recog` directory of a data-set run, written incrementally and resumable.
///
/// Files, as FunASR's `DatadirWriter` writes them (`id value\n`, UTF-8):
/// `text`, `token`, `timestamp`. Each result is appended as soon as it is decoded (`token`,
/// then `timestamp`, then `text`, each written straight to its file), so an interrupted run loses
/// at most the utterance being written. An utterance counts as done when all three files hold it;
/// opening the directory again keeps those and drops partial lines. `finalize(order:)` rewrites
/// the files in a given order (the `wav.scp` order) so that finished outputs compare exactly.
package final class RecogOutput {
    /// The files, in the order an utterance's lines are written.
    package static let fileNames = ["token", "timestamp", "text"]

    /// `<output dir>/1best_recog`.
    package let directory: URL
    /// Done utterances, in the order they appear in the files.
    package private(set) var ids: [String] = []
    private var lines: [String: RecogLines] = [:]
    private var handles: [FileHandle] = []

    /// Opens (creating if needed) `<outputDirectory>/1best_recog` and reads what it holds.
    /// - Throws: `ParaformerError.cannotOpenFile` if the directory or files cannot be written.
    package init(outputDirectory: URL) throws {
        directory = outputDirectory.appendingPathComponent("1best_recog")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ParaformerError.cannotOpenFile(path: directory.path, reason: error.localizedDescription)
        }
        let files = try Self.fileNames.map {
            try KaldiTextFile(
                contentsOf: directory.appendingPathComponent($0), missingIsEmpty: true,
                dropUnterminatedLine: true)
        }
        let (token, timestamp, text) = (files[0], files[1], files[2])
        for id in text.ids {
            guard let tk = token[id], let ts = timestamp[id], let tx = text[id] else { continue }
            ids.append(id)
            lines[id] = RecogLines(text: tx, token: tk, timestamp: ts)
        }
        // Drop partial utterances and unterminated lines before appending.
        try rewrite(order: ids)
    }

    deinit { closeHandles() }

    /// Number of done utterances.
    package var count: Int { ids.count }

    package func contains(_ id: String) -> Bool { lines[id] != nil }

    package subscript(id: String) -> RecogLines? { lines[id] }

    /// Appends one utterance to the three files.
    /// - Throws: `ParaformerError.cannotOpenFile` if a write fails.
    package func append(id: String, _ value: RecogLines) throws {
        // Internal invariant: ids are unique in a parsed wav.scp (duplicates are refused there)
        // and DataSetDecoder skips the ids already done, so no input reaches this twice.
        precondition(lines[id] == nil, "utterance \(id) written twice")
        if handles.isEmpty { try openHandles() }
        let values = [value.token, value.timestamp, value.text]
        for ((handle, name), v) in zip(zip(handles, Self.fileNames), values) {
            let data = Data(KaldiTextFile.line(id, v).utf8)
            do {
                try handle.write(contentsOf: data)
            } catch {
                // A full disk or a file size limit: the lines written so far are a partial
                // utterance, which the next run drops (`init`) and decodes again.
                throw ParaformerError.cannotOpenFile(
                    path: directory.appendingPathComponent(name).path, reason: error.localizedDescription)
            }
        }
        ids.append(id)
        lines[id] = value
    }

    /// Rewrites the files with the utterances in `order` first (ids not in the output are
    /// ignored), then the others in their current order.
    package func finalize(order: [String]) throws {
        var seen = Set<String>()
        var sorted: [String] = []
        for id in order where lines[id] != nil && seen.insert(id).inserted { sorted.append(id) }
        for id in ids where !seen.contains(id) { sorted.append(id) }
        try rewrite(order: sorted)
    }

    /// Writes `text.cer` beside `text`, scoring it against `referenceFile`.
    /// - Throws: `ParaformerError.cannotOpenFile`.
    @discardableResult
    package func writeErrorRate(referenceFile: URL, unit: ErrorRateUnit) throws -> ErrorRateReport {
        let hyp = KaldiTextFile.fromLines(ids.map { ($0, lines[$0]!.text) })
        let report = ErrorRateReport(
            references: try KaldiTextFile(contentsOf: referenceFile), hypotheses: hyp, unit: unit)
        try Self.atomicWrite(report.render(), to: directory.appendingPathComponent("text.cer"))
        return report
    }

    /// Joins shard outputs (`<dir>/1best_recog` of each) into `outputDirectory`, in `order`
    /// where given (the `wav.scp`), else in the order of `shards`.
    /// - Throws: `ParaformerError.invalidOption` if an id is in two shards;
    ///   `.cannotOpenFile` on I/O errors.
    package static func merge(shards: [URL], into outputDirectory: URL, order: [String]? = nil) throws
        -> RecogOutput
    {
        var merged: [(String, RecogLines)] = []
        var source: [String: URL] = [:]
        for shard in shards {
            let part = try RecogOutput(outputDirectory: shard)
            part.closeHandles()
            for id in part.ids {
                if let other = source[id] {
                    throw ParaformerError.invalidOption(
                        name: "shards",
                        reason: "utterance \(id) is in both \(other.path) and \(shard.path)")
                }
                source[id] = shard
                merged.append((id, part.lines[id]!))
            }
        }
        let out = try RecogOutput(outputDirectory: outputDirectory)
        out.ids = merged.map(\.0)
        out.lines = Dictionary(uniqueKeysWithValues: merged)
        try out.finalize(order: order ?? out.ids)
        return out
    }

    // MARK: - Files

    private func rewrite(order: [String]) throws {
        closeHandles()
        let values: [(RecogLines) -> String] = [\.token, \.timestamp, \.text]
        for (name, value) in zip(Self.fileNames, values) {
            var content = ""
            for id in order { content += KaldiTextFile.line(id, value(lines[id]!)) }
            try Self.atomicWrite(content, to: directory.appendingPathComponent(name))
        }
        ids = order
    }

    private func openHandles() throws {
        for name in Self.fileNames {
            let url = directory.appendingPathComponent(name)
            do {
                let h = try FileHandle(forWritingTo: url)
                try h.seekToEnd()
                handles.append(h)
            } catch {
                closeHandles()
                throw ParaformerError.cannotOpenFile(path: url.path, reason: error.localizedDescription)
            }
        }
    }

    /// Closes the append handles (reopened by the next `append`).
    package func closeHandles() {
        for h in handles { try? h.close() }
        handles = []
    }

    package static func atomicWrite(_ text: String, to url: URL) throws {
        do {
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw ParaformerError.cannotOpenFile(path: url.path, reason: error.localizedDescription)
        }
    }
}

extension KaldiTextFile {
    /// A file holding `pairs` in order.
    package static func fromLines(_ pairs: [(String, String)]) -> KaldiTextFile {
        var f = KaldiTextFile()
        for (id, value) in pairs { f.set(id, value) }
        return f
    }
}
