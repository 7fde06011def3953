import ArgumentParser
import Foundation
import Paraformer
import ParaformerCore
import ParaformerModels
import ParaformerDataSet

/// Every command-line option, with units and defaults in its help.
struct Arguments: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp(
        "Model file (.gguf, converted with Tools/convert.py). Default: the bundled "
            + "paraformer-zh-small.gguf (paraformer-zh-small-online.gguf with --streaming), looked for in "
            + "$PARAFORMER_MODEL_DIR, ./Weights, next to the executable (and its ../share/paraformer), "
            + "and the Weights folder of the package the executable was built in.",
        valueName: "path"))
    var model: String?

    @Argument(help: ArgumentHelp(
        "Audio files (any format libsndfile reads: WAV, FLAC, OGG, ...; any sample rate).",
        valueName: "audio"))
    var files: [String] = []

    @Flag(help: "Print one JSON object per file (FunASR's result shape: key, text, timestamp) plus tokens.")
    var json = false

    @Option(help: ArgumentHelp(
        "Hotwords for a SeACo or Contextual Paraformer model, as FunASR's hotword= takes them: a .txt file (one hotword per line) or a space-separated list.",
        valueName: "file.txt|words"))
    var hotword: String?

    @Option(help: ArgumentHelp("Threads for matrix products and kernels", valueName: "n"))
    var threads: Int = 1

    @Option(help: ArgumentHelp(
        "Files decoded together in one padded forward pass", valueName: "n"))
    var batchSize: Int = 1

    @Option(help: ArgumentHelp(
        "Channel of multi-channel audio to use (0-based); default: average all channels.",
        valueName: "index"))
    var channel: Int?

    @Option(help: ArgumentHelp(
        "Longest audio decoded offline in one piece, in seconds; longer files are refused (split them, e.g. with VAD).",
        valueName: "seconds"))
    var maxDuration: Double = 1200

    @Option(help: ArgumentHelp(
        "UniASR decoding mode: fast (first pass only), normal (both passes), or offline (both passes, larger chunks). Default: the model's (FunASR's normal).",
        valueName: "mode"))
    var decodingMode: UniASRDecodingMode?

    @Flag(help: "Map every weight page at load rather than during the first decode (implied by --realtime).")
    var preload = false

    @Option(help: ArgumentHelp(
        "Beam size of the attention + CTC search (MFCCA models); default: the model's decoding.yaml (10).",
        valueName: "n"))
    var beamSize: Int?

    @Option(help: ArgumentHelp(
        "Weight of the CTC prefix score, 0...1, the decoder getting 1 - w (MFCCA models); default: the model's decoding.yaml (0.5).",
        valueName: "w"))
    var ctcWeight: Double?

    @Flag(help: "Print model load time, per-stage times and the real-time factor to standard error.")
    var timings = false

    @Flag(help: "Timestamps exactly as FunASR 1.4.16 computes them (it swaps two CIF arrays; see README).")
    var funasr1416Timestamps = false

    @Flag(help: "Measure OpenBLAS's sgemm kernels on the encoder's products, save the fastest for later runs, and exit.")
    var calibrateBlas = false

    @Flag(help: .hidden)
    var blasProbe = false

    mutating func validate() throws {
        guard threads >= 1 && threads <= 256 else {
            throw ValidationError("--threads must be between 1 and 256 (got \(threads)).")
        }
        guard batchSize >= 1 && batchSize <= 1024 else {
            throw ValidationError("--batch-size must be between 1 and 1024 (got \(batchSize)).")
        }
        guard maxDuration > 0 && maxDuration.isFinite else {
            throw ValidationError("--max-duration must be a positive number of seconds (got \(maxDuration)).")
        }
        if let beamSize, !(1...1000).contains(beamSize) {
            throw ValidationError("--beam-size must be between 1 and 1000 (got \(beamSize)).")
        }
        if let ctcWeight, !(ctcWeight >= 0 && ctcWeight <= 1) {
            throw ValidationError("--ctc-weight must be between 0 and 1 (got \(ctcWeight)).")
        }
        if let channel, channel < 0 {
            throw ValidationError("--channel must be 0 or more (got \(channel)).")
        }
    }
}

/// The one place where command-line arguments become library options, for every mode.
func makeOptions(
    from args: Arguments, streaming: StreamingArguments, dataSet: DataSetArguments
) -> RecognizerOptions {
    RecognizerOptions(
        // Parallel data-set jobs each run one thread (the jobs are the parallelism).
        threads: dataSet.isActive && dataSet.jobs > 1 ? 1 : args.threads,
        batchSize: args.batchSize,
        channel: args.channel.map { ChannelSelection.channel($0) } ?? .mix,
        timestampOrder: args.funasr1416Timestamps ? .funasr1416 : .intended,
        maxDuration: args.maxDuration,
        // Live input: the first chunk should not wait for the weights to be paged in.
        preload: args.preload
            || (streaming.streaming && (streaming.realtime || args.files.contains("-"))))
}

/// Where the CLI finds the bundled model when no --model is given, wherever it is run from.
enum DefaultModel {
    /// The bundled model's file name.
    static func fileName(streaming: Bool) -> String {
        streaming ? "paraformer-zh-small-online.gguf" : "paraformer-zh-small.gguf"
    }

    /// The folders searched, in order: $PARAFORMER_MODEL_DIR; ./Weights (the package root, where
    /// `swift run` runs); the executable's folder and its ../share/paraformer (an installed
    /// binary); the Weights folder of the package checkout the executable was built in
    /// (.build/<config>/paraformer-run).
    static func searchFolders(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executable: URL = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .resolvingSymlinksInPath()
    ) -> [URL] {
        var folders: [URL] = []
        if let dir = environment["PARAFORMER_MODEL_DIR"], !dir.isEmpty { folders.append(URL(fileURLWithPath: dir)) }
        folders.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Weights"))
        let exeDir = executable.deletingLastPathComponent()
        folders.append(exeDir)
        folders.append(exeDir.deletingLastPathComponent().appendingPathComponent("share/paraformer"))
        var dir = exeDir
        for _ in 0..<5 {
            dir = dir.deletingLastPathComponent()
            folders.append(dir.appendingPathComponent("Weights"))
        }
        var seen = Set<String>()
        return folders.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }

    /// The first folder holding the bundled model, or a message naming every place searched.
    static func path(streaming: Bool) throws -> String {
        let name = fileName(streaming: streaming)
        let folders = searchFolders()
        for folder in folders {
            let candidate = folder.appendingPathComponent(name).standardizedFileURL.path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        throw ValidationError(
            "No --model given and \(name) was not found in: "
                + folders.map(\.standardizedFileURL.path).joined(separator: ", ")
                + ". Pass --model, or set PARAFORMER_MODEL_DIR to the folder holding it.")
    }
}

extension UniASRDecodingMode: ExpressibleByArgument {}
