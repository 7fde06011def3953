// paraformer-bench: measures the engine on given clips and prints one JSON object.
//
//   paraformer-bench --model M.gguf [--threads N] [--runs 3] [--warmup 1] [--no-gemm]
//                    [--gemm-min-seconds S] [--streaming] [--chunk-ms 600] [-o out.json] clip.wav ...
//
// For each clip: `runs` timed transcriptions after `warmup` untimed ones (model load excluded),
// per-run wall time and per-stage times (StageTimings), RTF median, token ids and text; then a
// cblas_sgemm microbenchmark on the encoder's own shapes for that clip's frame count (same
// thread count), giving the sustained GFLOP/s and the encoder's pure GEMM time.
// Also: model load time (Recognizer init), peak RSS (VmHWM) after the transcriptions, and
// the OpenBLAS kernel in use. Benchmarks/bench.py runs this once per (clip, threads) so that
// peak RSS is per clip.
import Foundation
import Paraformer
import ParaformerCore
import ParaformerModels

struct Options {
    var model = ""
    var threads = 1
    var runs = 3
    var warmup = 1
    var gemm = true
    var gemmMinSeconds = 0.25
    var streaming = false
    var chunkMs = 600
    var output: String?
    var clips: [String] = []
}

func usage() -> Never {
    FileHandle.standardError.write(Data("""
        usage: paraformer-bench --model M.gguf [--threads N] [--runs R] [--warmup W] [--no-gemm]
                                [--gemm-min-seconds S] [--streaming] [--chunk-ms 600] [-o out.json] clip.wav ...

        """.utf8))
    exit(2)
}

func parseOptions() -> Options {
    var o = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    func value(_ name: String) -> String {
        guard !args.isEmpty else {
            FileHandle.standardError.write(Data("\(name) needs a value\n".utf8))
            usage()
        }
        return args.removeFirst()
    }
    func int(_ name: String) -> Int {
        let v = value(name)
        guard let i = Int(v) else { usage() }
        return i
    }
    while !args.isEmpty {
        let a = args.removeFirst()
        switch a {
        case "--model", "-m": o.model = value(a)
        case "--threads", "-t": o.threads = int(a)
        case "--runs", "-r": o.runs = int(a)
        case "--warmup", "-w": o.warmup = int(a)
        case "--no-gemm": o.gemm = false
        case "--gemm-min-seconds": o.gemmMinSeconds = Double(value(a)) ?? 0.25
        case "--streaming": o.streaming = true
        case "--chunk-ms": o.chunkMs = int(a)
        case "-o", "--output": o.output = value(a)
        case "-h", "--help": usage()
        default:
            if a.hasPrefix("-") { usage() }
            o.clips.append(a)
        }
    }
    if o.model.isEmpty || o.clips.isEmpty || o.runs < 1 || o.warmup < 0 || o.threads < 1 { usage() }
    return o
}

// MARK: - Report types

struct RunTimings: Codable {
    /// Wall seconds of the whole `transcribe(samples:sampleRate:)` call.
    var wall: Double
    var frontend: Double
    var encoder: Double
    var predictor: Double
    var decoder: Double
}

struct ClipReport: Codable {
    var path: String
    var duration: Double
    var lfrFrames: Int
    var runs: [RunTimings]
    /// Median over runs of each field.
    var median: RunTimings
    var rtf: Double
    var rtfRuns: [Double]
    var tokenIds: [Int]
    var text: String
    /// Peak RSS (VmHWM) after this clip's transcriptions, before the GEMM benchmark.
    var peakRssBytes: Int
    var gemm: GemmReport?
    /// encoder median / pure GEMM time of its products (target ≤ 1.15).
    var encoderVsGemm: Double?
}

struct Report: Codable {
    var engine = "paraformer-swift"
    var model: String
    var architecture: String
    var threads: Int
    var blasCore: String
    /// The kernel of the Linear layers (`Recognizer.linearKernel`: fp32 sgemm or int8 variant).
    var linearKernel: String
    var blasThreads: Int
    var env: [String: String]
    var loadSeconds: Double
    var rssAfterLoadBytes: Int
    var peakRssBytes: Int
    var clips: [ClipReport]
    var streaming: StreamingReport?
}

// MARK: - Process memory

func procStatus(_ key: String) -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in s.split(separator: "\n") where line.hasPrefix(key + ":") {
        let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
    }
    return -1
}

// MARK: - Main

// Run with the sgemm kernel the engine ships with (paraformer-run does the same).
BLASKernel.reexecWithPreferredKernel(workload: CommandLine.arguments.contains("--streaming") ? .streaming : .offline)
let opts = parseOptions()
let clock = ContinuousClock()
var env: [String: String] = [:]
for k in ["OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "GOTO_NUM_THREADS"] {
    if let v = ProcessInfo.processInfo.environment[k] { env[k] = v }
}

do {
    let t0 = clock.now
    let recognizer = try Recognizer(model: URL(fileURLWithPath: opts.model), options: RecognizerOptions(threads: opts.threads))
    let loadSeconds = (clock.now - t0).seconds
    let rssAfterLoad = procStatus("VmRSS")
    let hp = recognizer.hyperparameters

    var clips: [ClipReport] = []
    var streaming: StreamingReport?
    if opts.streaming {
        streaming = try StreamingBench.run(recognizer: recognizer, clip: opts.clips[0], chunkMs: opts.chunkMs,
                                           runs: opts.runs, warmup: opts.warmup)
    } else {
        for path in opts.clips {
            let audio = try AudioDecoder.load(contentsOf: URL(fileURLWithPath: path))
            let samples = audio.samples
            let rate = audio.sampleRate
            for _ in 0..<opts.warmup { _ = try recognizer.transcribe(.samples(samples, sampleRate: rate)) }
            var runs: [RunTimings] = []
            var last: RecognitionResult?
            for _ in 0..<opts.runs {
                let s = clock.now
                let r = try recognizer.transcribe(.samples(samples, sampleRate: rate))
                let wall = (clock.now - s).seconds
                runs.append(RunTimings(wall: wall, frontend: r.timings.frontend, encoder: r.timings.encoder,
                                       predictor: r.timings.predictor, decoder: r.timings.decoder))
                last = r
            }
            let result = last!
            let peak = procStatus("VmHWM")
            let med = RunTimings(
                wall: median(runs.map(\.wall)), frontend: median(runs.map(\.frontend)),
                encoder: median(runs.map(\.encoder)), predictor: median(runs.map(\.predictor)),
                decoder: median(runs.map(\.decoder)))
            let modelSamples = Int((result.duration * Double(hp.sampleRate)).rounded())
            let frames = GemmBench.lfrFrames(samples: modelSamples, hp: hp)
            var gemm: GemmReport?
            if opts.gemm && frames > 0 {
                gemm = GemmBench.run(frames: frames, hp: hp, threads: opts.threads, minSeconds: opts.gemmMinSeconds)
            }
            clips.append(ClipReport(
                path: path, duration: result.duration, lfrFrames: frames, runs: runs, median: med,
                rtf: med.wall / result.duration, rtfRuns: runs.map { $0.wall / result.duration },
                tokenIds: result.tokenIds, text: result.text, peakRssBytes: peak, gemm: gemm,
                encoderVsGemm: gemm.map { med.encoder / $0.pureGemmSeconds }))
        }
    }
    let report = Report(
        model: opts.model, architecture: hp.architecture.rawValue, threads: opts.threads,
        blasCore: BLAS.coreName, linearKernel: recognizer.linearKernel, blasThreads: BLAS.threads, env: env,
        loadSeconds: loadSeconds,
        rssAfterLoadBytes: rssAfterLoad, peakRssBytes: clips.map(\.peakRssBytes).max() ?? procStatus("VmHWM"),
        clips: clips, streaming: streaming)
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let data = try enc.encode(report)
    if let out = opts.output {
        try data.write(to: URL(fileURLWithPath: out))
    } else {
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
} catch {
    FileHandle.standardError.write(Data("paraformer-bench: \(error)\n".utf8))
    exit(1)
}
