import ArgumentParser
import Foundation
import Paraformer
import ParaformerCore
import ParaformerModels
import ParaformerDataSet

@main
struct Main {
    static func main() {
        let command = ParaformerRun.parseOrExit()
        // A file size limit (`ulimit -f`) then fails the write (EFBIG), which is reported with
        // the file's path like a full disk, rather than killing the process with a core dump.
        signal(SIGXFSZ, SIG_IGN)
        // OpenBLAS reads its kernel choice only at load: restart with the preferred one.
        BLASKernel.reexecWithPreferredKernel(workload: command.streaming.streaming ? .streaming : .offline)
        do {
            try command.run()
        } catch {
            ParaformerRun.exit(withError: error)
        }
    }
}

struct ParaformerRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paraformer-run",
        abstract: "Transcribe speech with a FunASR Paraformer model, natively on the CPU.",
        discussion: """
            Prints one line per file: the file's name, a tab, and the transcript. With --json, one \
            JSON object per line instead. Exit status is 1 if any file failed (the others are still \
            transcribed).

            Examples:
              paraformer-run --model Weights/paraformer-zh-small.gguf Weights/sample.wav
              paraformer-run --streaming -m Weights/paraformer-zh-small-online.gguf Weights/sample.wav
              arecord -f S16_LE -r 16000 -c 1 | paraformer-run --streaming -m M-online.gguf -
            """)

    @OptionGroup var args: Arguments
    @OptionGroup(title: "Streaming (paraformer-online models)")
    var streaming: StreamingArguments
    @OptionGroup(title: "Data-set decoding (Kaldi wav.scp in, FunASR's 1best_recog out)")
    var dataSet: DataSetArguments
    @OptionGroup(title: "Punctuation (CT-Transformer models)")
    var punctuation: PunctuationArguments
    @OptionGroup(title: "VAD (FSMN-VAD models) and the VAD → ASR → punctuation pipeline")
    var pipeline: PipelineArguments

    func validate() throws {
        if args.calibrateBlas || args.blasProbe { return }
        if punctuation.text != nil || isPunctuationModel(args.model) { return }
        if !dataSet.isActive && args.files.isEmpty {
            throw ValidationError("Give at least one audio file, or --data-dir.")
        }
        if !streaming.streaming && args.files.contains("-") {
            throw ValidationError("Standard input (-) is read only with --streaming.")
        }
    }

    /// The library options of every mode (`makeOptions`).
    var options: RecognizerOptions { makeOptions(from: args, streaming: streaming, dataSet: dataSet) }

    /// --model, or the bundled model found by `DefaultModel`.
    func modelPath() throws -> String {
        try args.model ?? DefaultModel.path(streaming: streaming.streaming)
    }

    func run() throws {
        if args.blasProbe {
            BLAS.setThreads(1)
            emit(String(format: "%@ %.2f", BLAS.coreName, BLASKernel.measureEncoderGemm()))
            return
        }
        if args.calibrateBlas {
            try calibrateBLAS()
            return
        }
        if punctuation.text != nil || isPunctuationModel(args.model) {
            if !args.files.isEmpty {
                // A punctuation model reads text, never audio: a file argument is a mistake to
                // report, not to ignore.
                printError(
                    "error: a punctuation model takes text (--text \"...\" or lines on stdin), not files: \(args.files.joined(separator: " "))")
                throw ExitCode(2)
            }
            try runPunctuation(punctuation, model: args.model, threads: args.threads, json: args.json, timings: args.timings)
            return
        }
        if let vadModel = args.model, modelArchitecture(vadModel) == FSMNVADConfiguration.architecture {
            BLAS.setThreads(args.threads)
            let failed = try runVAD(model: vadModel, files: args.files, options: pipeline.vadOptions, timings: args.timings)
            if failed > 0 { throw ExitCode(1) }
            return
        }
        if pipeline.vadModel != nil {
            let failed = try runPipeline(args: args, model: try modelPath(), pipeline: pipeline, recognizerOptions: options)
            if failed > 0 { throw ExitCode(1) }
            return
        }
        let mfcca = isMFCCAModel((try? modelPath()) ?? "")
        if !mfcca && (args.beamSize != nil || args.ctcWeight != nil) {
            throw ValidationError("--beam-size and --ctc-weight apply to MFCCA models only.")
        }
        if mfcca && args.hotword != nil {
            throw ValidationError("--hotword applies to SeACo and Contextual Paraformer models, not MFCCA.")
        }
        let uniasr = !mfcca && UniASRRecognizer.isUniASRModel(path: (try? modelPath()) ?? "")
        if !uniasr && args.decodingMode != nil {
            throw ValidationError("--decoding-mode applies to UniASR models only.")
        }
        if uniasr && (args.hotword != nil || streaming.streaming) {
            throw ValidationError("UniASR models take neither --hotword nor --streaming.")
        }
        if dataSet.isActive {
            let status = try runDataSet(
                dataSet, model: modelPath, options: options, json: args.json,
                hotword: args.hotword,
                mfccaSearch: mfcca ? (args.beamSize, args.ctcWeight) : nil,
                uniasr: uniasr ? .some(args.decodingMode) : nil)
            if status != 0 { throw ExitCode(status) }
            return
        }
        if mfcca {
            if try runMFCCA(args, model: try modelPath()) > 0 { throw ExitCode(1) }
            return
        }
        if uniasr {
            if try runUniASR(args, model: try modelPath(), options: options) > 0 { throw ExitCode(1) }
            return
        }
        let clock = ContinuousClock()
        let loadStart = clock.now
        let (recognizer, hotwords) = try loadOrExit {
            let recognizer = try Recognizer(model: URL(fileURLWithPath: try modelPath()), options: options)
            if args.timings { printError("load: \(formatSeconds(clock.now - loadStart)), kernel \(recognizer.linearKernel), BLAS kernel \(BLAS.coreName), \(options.threads ?? BLAS.threads) thread(s)") }
            return (recognizer, try args.hotword.map { try recognizer.hotwords($0) })
        }
        if streaming.streaming {
            let failed = try runStreaming(streaming, recognizer: recognizer, files: args.files, json: args.json)
            if failed > 0 { throw ExitCode(1) }
            return
        }
        var failed = 0
        var start = 0
        while start < args.files.count {
            let paths = Array(args.files[start..<min(start + args.batchSize, args.files.count)])
            start += paths.count
            var loaded: [(String, AudioBuffer)] = []
            for path in paths {
                do {
                    loaded.append((path, try AudioDecoder.load(contentsOf: URL(fileURLWithPath: path), channel: recognizer.options.channel)))
                } catch {
                    printError("error: \(error)")
                    failed += 1
                }
            }
            // One bad input must not sink its batch: on failure, decode the batch one by one.
            let results: [Result<RecognitionResult, Error>]
            if let batch = try? recognizer.transcribe(batch: loaded.map(\.1), hotwords: hotwords) {
                results = batch.map { .success($0) }
            } else {
                results = loaded.map { input in Result { try recognizer.transcribe(batch: [input.1], hotwords: hotwords)[0] } }
            }
            for ((path, _), r) in zip(loaded, results) {
                let key = utteranceKey(path)
                switch r {
                case .success(let r):
                    // FunASR's result has a timestamp for Paraformer and SeACo, text only for Contextual.
                    emit(args.json ? jsonLine(key: key, r, streaming: !recognizer.reportsTimestamps) : plainLine(key: key, r))
                    if args.timings { printError(timingLine(key: key, r)) }
                case .failure(let error):
                    printError("error: \(path): \(error)")
                    failed += 1
                }
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}

/// Times every OpenBLAS kernel that can run here on the encoder's products (each in a child
/// process, since the kernel is fixed at load) and stores the fastest for later runs.
func calibrateBLAS() throws {
    let candidates = ["default", "Haswell", "SkylakeX", "Cooperlake", "Zen", "SapphireRapids"]
    var best: (name: String, gflops: Double)? = nil
    for name in candidates {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        p.arguments = ["--blas-probe"]
        var env = ProcessInfo.processInfo.environment
        env["PARAFORMER_BLAS_REEXEC"] = "1"
        env["OPENBLAS_NUM_THREADS"] = "1"
        if name == "default" { env.removeValue(forKey: "OPENBLAS_CORETYPE") } else { env["OPENBLAS_CORETYPE"] = name }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let fields = text.split(separator: " ")
        guard p.terminationStatus == 0, fields.count == 2, let g = Double(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) else {
            printError("\(name): not available")
            continue
        }
        printError(String(format: "%@ (runs %@): %.1f GFLOP/s", name, String(fields[0]), g))
        // A kernel OpenBLAS cannot run here falls back to another one: keep only the names
        // that really ran.
        if name != "default" && String(fields[0]).lowercased() != name.lowercased() { continue }
        if best == nil || g > best!.gflops * 1.02 { best = (name, g) }
    }
    guard let best else { throw ValidationError("No OpenBLAS kernel could be measured.") }
    let file = BLASKernel.calibrationFile
    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try (best.name + "\n").write(to: file, atomically: true, encoding: .utf8)
    emit("fastest: \(best.name) (\(String(format: "%.1f", best.gflops)) GFLOP/s); saved to \(file.path)")
}
