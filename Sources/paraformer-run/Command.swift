import ArgumentParser
import Foundation
import Paraformer

@main
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

    func validate() throws {
        if !dataSet.isActive && args.files.isEmpty {
            throw ValidationError("Give at least one audio file, or --data-dir.")
        }
        if streaming.streaming {
            _ = try streaming.options()
        } else if args.files.contains("-") {
            throw ValidationError("Standard input (-) is read only with --streaming.")
        }
    }

    func run() throws {
        if dataSet.isActive {
            let status = try runDataSet(
                dataSet, model: args.model, threads: args.threads, batchSize: args.batchSize, json: args.json)
            if status != 0 { throw ExitCode(status) }
            return
        }
        let recognizer: Recognizer
        let clock = ContinuousClock()
        let loadStart = clock.now
        do {
            recognizer = try Recognizer(modelPath: args.model, options: makeOptions(from: args))
            if args.timings { printError("load: \(formatSeconds(clock.now - loadStart))") }
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
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
            do {
                let results = try recognizer.transcribe(batch: loaded.map(\.1))
                for ((path, _), r) in zip(loaded, results) {
                    let key = utteranceKey(path)
                    print(args.json ? jsonLine(key: key, r) : plainLine(key: key, r))
                    if args.timings { printError(timingLine(key: key, r)) }
                }
            } catch {
                printError("error: \(error)")
                failed += loaded.count
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
