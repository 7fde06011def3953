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

            Example:
              paraformer-run --model Weights/paraformer-zh-small.gguf Weights/sample.wav
            """)

    @OptionGroup var args: Arguments
    @OptionGroup(title: "Data-set decoding (Kaldi wav.scp in, FunASR's 1best_recog out)")
    var dataSet: DataSetArguments

    func validate() throws {
        if !dataSet.isActive && args.files.isEmpty {
            throw ValidationError("Give at least one audio file, or --data-dir.")
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
