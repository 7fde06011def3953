import ArgumentParser
import Foundation
import Paraformer
import ParaformerCore
import ParaformerModels
import ParaformerDataSet

/// Every command-line option, with units and defaults in its help.
struct Arguments: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp(
        "Model file (.gguf, converted with Tools/convert.py).", valueName: "path"))
    var model: String = Arguments.defaultModelPath

    @Argument(help: ArgumentHelp(
        "Audio files (any format libsndfile reads: WAV, FLAC, OGG, ...; any sample rate).",
        valueName: "audio"))
    var files: [String] = []

    @Flag(help: "Print one JSON object per file (FunASR's result shape: key, text, timestamp) plus tokens.")
    var json = false

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

    @Flag(help: "Map every weight page at load rather than during the first decode (implied by --realtime).")
    var preload = false

    @Flag(help: "Print model load time, per-stage times and the real-time factor to standard error.")
    var timings = false

    @Flag(help: "Timestamps exactly as FunASR 1.4.16 computes them (it swaps two CIF arrays; see README).")
    var funasr1416Timestamps = false

    @Flag(help: "Measure OpenBLAS's sgemm kernels on the encoder's products, save the fastest for later runs, and exit.")
    var calibrateBlas = false

    @Flag(help: .hidden)
    var blasProbe = false

    static var defaultModelPath: String {
        // The bundled model, relative to the package root (where `swift run` runs).
        "Weights/paraformer-zh-small.gguf"
    }

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
        if let channel, channel < 0 {
            throw ValidationError("--channel must be 0 or more (got \(channel)).")
        }
    }
}

/// The one place where command-line arguments become library options.
func makeOptions(from args: Arguments) -> RecognizerOptions {
    RecognizerOptions(
        threads: args.threads, batchSize: args.batchSize,
        channel: args.channel.map { ChannelSelection.channel($0) } ?? .mix,
        timestampOrder: args.funasr1416Timestamps ? .funasr1416 : .intended,
        maxDuration: args.maxDuration, preload: args.preload)
}
