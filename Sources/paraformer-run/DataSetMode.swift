import ArgumentParser
import Foundation
import Synchronization
import Paraformer
import ParaformerCore
import ParaformerModels
import ParaformerDataSet

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Options of data-set mode (FunASR's `infer.sh`: `wav.scp` in, `1best_recog` out, CER).
struct DataSetArguments: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Kaldi data directory: DIR/wav.scp (`id path` per line; paths may be relative to DIR) and, "
            + "optionally, DIR/text (references: the CER is written to OUT/1best_recog/text.cer).",
        valueName: "dir"))
    var dataDir: String?

    @Option(help: ArgumentHelp(
        "Output directory: OUT/1best_recog/{text,token,timestamp,text.cer} in FunASR's formats. "
            + "Rerunning with the same OUT resumes: utterances already there are not decoded again.",
        valueName: "dir"))
    var outputDir: String?

    @Option(help: ArgumentHelp(
        "Parallel decoding jobs sharing one memory-mapped model. With more than one "
            + "job, BLAS runs one thread per job and --threads is ignored.",
        valueName: "n"))
    var jobs: Int = 1

    @Option(help: ArgumentHelp(
        "Decode only the K-th of N contiguous slices of wav.scp (K from 1), for job arrays; "
            + "join the shard outputs with --merge.",
        valueName: "K/N"))
    var shard: ShardSpec?

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp(
            "Join these shard output directories into --output-dir (in --data-dir's wav.scp "
                + "order when given, and recompute the CER against its text).",
            valueName: "dir"))
    var merge: [String] = []

    @Option(help: ArgumentHelp(
        "Unit of text.cer: char (FunASR's recipe: characters, English spelled out) or word "
            + "(whitespace-separated, funasr.metrics.wer as is).",
        valueName: "unit"))
    var cerUnit: ErrorRateUnit = .char

    @Flag(help: "No progress bar, even when standard error is a terminal.")
    var noProgress = false

    /// Whether data-set mode was asked for.
    var isActive: Bool { dataDir != nil || !merge.isEmpty }

    func validate() throws {
        guard isActive else { return }
        guard outputDir != nil else { throw ValidationError("--output-dir is required with --data-dir or --merge.") }
        guard jobs >= 1 && jobs <= 256 else {
            throw ValidationError("--jobs must be between 1 and 256 (got \(jobs)).")
        }
        if shard != nil && !merge.isEmpty { throw ValidationError("--shard and --merge cannot be combined.") }
    }
}

/// `--cer-unit char|word`.
extension ErrorRateUnit: ExpressibleByArgument {}

/// `--shard K/N`.
extension ShardSpec: ExpressibleByArgument {
    public init?(argument: String) {
        guard let spec = try? ShardSpec(parsing: argument) else { return nil }
        self = spec
    }

    public var defaultValueDescription: String { description }
}

/// Runs data-set mode: decodes (`--data-dir`) or joins shards (`--merge`). Returns the exit
/// status: 0 all decoded, 1 some utterances failed or wav.scp lines were skipped, 2 nothing could
/// be done (model, data directory or output not usable).
func runDataSet(
    _ args: DataSetArguments, model: () throws -> String, options: RecognizerOptions, json: Bool,
    hotword: String? = nil,
    mfccaSearch: (beamSize: Int?, ctcWeight: Double?)? = nil,
    uniasr: UniASRDecodingMode?? = nil
) throws -> Int32 {
    let out = URL(fileURLWithPath: args.outputDir ?? ".")
    let unit = args.cerUnit
    let dataDir = args.dataDir.map { URL(fileURLWithPath: $0) }
    var scp: WavScp?
    if let dataDir {
        do {
            scp = try WavScp(contentsOf: dataDir.appendingPathComponent("wav.scp"))
        } catch {
            printError("error: \(error)")
            return 2
        }
        for problem in scp!.problems { printError("warning: \(problem)") }
    }
    let reference = dataDir.map { $0.appendingPathComponent("text") }
        .flatMap { FileManager.default.fileExists(atPath: $0.path) ? $0 : nil }

    if !args.merge.isEmpty {
        do {
            let output = try RecogOutput.merge(
                shards: args.merge.map { URL(fileURLWithPath: $0) }, into: out,
                order: scp?.entries.map(\.id))
            printError("Merged \(output.count) utterances from \(args.merge.count) shard(s) into \(output.directory.path).")
            let report = try reference.map { try output.writeErrorRate(referenceFile: $0, unit: unit) }
            if let report { printErrorRate(report) }
            if json { emit(summaryJSON(utterances: output.count, summary: nil, report: report)) }
            if let scp, output.count < scp.entries.count {
                printError("warning: \(scp.entries.count - output.count) utterance(s) of wav.scp are in no shard output (failed or not decoded).")
                return 1
            }
            return 0
        } catch {
            printError("error: \(error)")
            return 2
        }
    }

    guard let scp else { return 2 }
    let shard = args.shard ?? .all
    let entries = Array(shard.slice(scp.entries))
    let output: RecogOutput
    let runDecoder: (@escaping @Sendable (DataSetProgress, [DataSetSummary.Failure]) -> Void) throws -> DataSetSummary
    do {
        output = try RecogOutput(outputDirectory: out)
        if let mfccaSearch {
            if hotword != nil {
                printError("error: --hotword applies to SeACo and Contextual Paraformer models, not MFCCA.")
                return 2
            }
            // makeOptions already keeps one thread per call when jobs run in parallel.
            let recognizer = try MFCCARecognizer(modelPath: try model(), threads: options.threads)
            let search = try mfccaSearchOptions(recognizer, mfccaSearch.beamSize, mfccaSearch.ctcWeight)
            let decoder = DataSetDecoder<MultiChannelAudio>(
                jobs: args.jobs, batchSize: 1, load: { try MultiChannelAudio.load(contentsOf: $0.url) },
                decode: { try $0.map { try recognizer.transcribe($0, search: search).recognitionResult } })
            runDecoder = { try decoder.run(entries: entries, output: output, onEvent: $0) }
        } else if let uniasr {
            let recognizer = try UniASRRecognizer(modelPath: try model(), options: options)
            let decoder = DataSetDecoder<AudioBuffer>(
                jobs: args.jobs, batchSize: options.batchSize,
                load: { try AudioDecoder.load(contentsOf: $0.url, channel: recognizer.options.channel) },
                decode: { try recognizer.transcribe(batch: $0, decodingMode: uniasr) })
            runDecoder = { try decoder.run(entries: entries, output: output, onEvent: $0) }
        } else {
            let recognizer = try Recognizer(model: URL(fileURLWithPath: try model()), options: options)
            let hotwords = try hotword.map { try recognizer.hotwords($0) }
            let decoder = DataSetDecoder<AudioBuffer>(
                jobs: args.jobs, batchSize: options.batchSize,
                load: { try AudioDecoder.load(contentsOf: $0.url, channel: recognizer.options.channel) },
                decode: { try recognizer.transcribe(batch: $0, hotwords: hotwords) })
            runDecoder = { try decoder.run(entries: entries, output: output, onEvent: $0) }
        }
    } catch {
        printError("error: \(error)")
        return 2
    }

    let bar = ProgressBar(enabled: !args.noProgress && isatty(STDERR_FILENO) != 0)
    let summary: DataSetSummary
    do {
        summary = try runDecoder { progress, failures in
            for f in failures { bar.printAbove("error: \(f.id) (\(f.path)): \(f.message)") }
            bar.update(progress)
        }
    } catch {
        bar.finish()
        printError("error: \(error)")
        return 2
    }
    bar.finish()
    writeFailures(summary.failures, to: out.appendingPathComponent("failed"))

    var report: ErrorRateReport?
    if let reference {
        do {
            report = try output.writeErrorRate(referenceFile: reference, unit: unit)
        } catch {
            printError("error: \(error)")
        }
    }
    printError(
        "\(summary.decoded) decoded, \(summary.resumed) already done, \(summary.failures.count) failed "
            + "of \(summary.utterances) utterances" + (shard == .all ? "" : " (shard \(shard))")
            + String(format: "; %.1f s of audio in %.1f s, RTF %.4f", summary.audioSeconds,
                summary.wallSeconds, summary.realTimeFactor))
    if let report { printErrorRate(report) }
    if json { emit(summaryJSON(utterances: entries.count, summary: summary, report: report)) }
    return summary.failures.isEmpty && scp.problems.isEmpty ? 0 : 1
}

/// The last three lines of `text.cer`, as FunASR's recipes show them (`tail -n 3`).
private func printErrorRate(_ report: ErrorRateReport) {
    for line in report.render().split(separator: "\n").suffix(3) { printError(String(line)) }
}

/// `OUT/failed`: `id path message` per failed utterance of the last run; removed when none.
private func writeFailures(_ failures: [DataSetSummary.Failure], to url: URL) {
    if failures.isEmpty {
        try? FileManager.default.removeItem(at: url)
        return
    }
    let text = failures.map { "\($0.id)\t\($0.path)\t\($0.message)\n" }.joined()
    do {
        try Data(text.utf8).write(to: url, options: .atomic)
    } catch {
        // The failures were reported on standard error as they happened; the list is a copy.
        printError("error: cannot write the list of failed utterances to \(url.path): \(error.localizedDescription)")
    }
}

private func summaryJSON(utterances: Int, summary: DataSetSummary?, report: ErrorRateReport?) -> String {
    struct ErrorRateJSON: Encodable {
        let unit_count: Int, errors: Int, insertions: Int, deletions: Int, substitutions: Int
        let rate: Double
    }
    struct SummaryJSON: Encodable {
        let utterances: Int
        let decoded: Int?, resumed: Int?, failed: [String]?
        let audio_seconds: Double?, wall_seconds: Double?, rtf: Double?
        let error_rate: ErrorRateJSON?
    }
    let t = report?.total
    let value = SummaryJSON(
        utterances: utterances, decoded: summary?.decoded, resumed: summary?.resumed,
        failed: summary?.failures.map(\.id), audio_seconds: summary?.audioSeconds,
        wall_seconds: summary?.wallSeconds, rtf: summary?.realTimeFactor,
        error_rate: t.map {
            ErrorRateJSON(
                unit_count: $0.words, errors: $0.errors, insertions: $0.insertions,
                deletions: $0.deletions, substitutions: $0.substitutions, rate: report!.errorRate)
        })
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    return (try? encoder.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
}

/// A one-line progress bar on standard error (a terminal only): done/total, failures,
/// utterances per second, running real-time factor, time left.
private final class ProgressBar: Sendable {
    let enabled: Bool
    /// When the bar was last drawn, and whether it is on screen.
    private let state = Mutex((last: Date.distantPast, shown: false))

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: DataSetProgress) {
        guard enabled else { return }
        let finished = p.decoded + p.failed
        state.withLock { state in
            guard finished == p.total || Date().timeIntervalSince(state.last) >= 0.1 else { return }
            state.last = Date()
            let width = 30
            let fraction = p.total > 0 ? Double(finished) / Double(p.total) : 1
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let rate = p.utterancesPerSecond
            let eta = rate > 0 ? Int(Double(p.total - finished) / rate) : 0
            var line = "[\(bar)] \(finished)/\(p.total)"
            if p.failed > 0 { line += " (\(p.failed) failed)" }
            line += String(format: "  %.1f utt/s  RTF %.4f  ETA %d:%02d", rate, p.realTimeFactor, eta / 60, eta % 60)
            writeStandardError("\r\u{1B}[K" + line)
            state.shown = true
        }
    }

    /// Prints a message line without garbling the bar.
    func printAbove(_ message: String) {
        state.withLock { state in
            if enabled && state.shown { writeStandardError("\r\u{1B}[K") }
            printError(message)
        }
    }

    func finish() {
        state.withLock { state in
            if enabled && state.shown { writeStandardError("\n") }
            state.shown = false
        }
    }
}
