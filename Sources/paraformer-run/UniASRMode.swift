import ArgumentParser
import Foundation
import Paraformer
import ParaformerCore

/// Transcribes each file with a UniASR model in `--decoding-mode` (default: the model's,
/// FunASR's "normal"). Prints the same lines as Paraformer models (UniASR has no timestamps).
/// Returns the number of files that failed.
func runUniASR(_ args: Arguments, model: String, options: RecognizerOptions) throws -> Int {
    let clock = ContinuousClock()
    let loadStart = clock.now
    let recognizer = try loadOrExit {
        let recognizer = try UniASRRecognizer(modelPath: model, options: options)
        if args.timings {
            printError("load: \(formatSeconds(clock.now - loadStart)), BLAS kernel \(BLAS.coreName), \(options.threads ?? BLAS.threads) thread(s)")
        }
        return recognizer
    }
    var failed = 0
    for path in args.files {
        let key = utteranceKey(path)
        do {
            let r = try recognizer.transcribe(.file(URL(fileURLWithPath: path)), decodingMode: args.decodingMode)
            emit(args.json ? jsonLine(key: key, r, streaming: true) : plainLine(key: key, r))
            if args.timings { printError(timingLine(key: key, r)) }
        } catch {
            printError("error: \(path): \(error)")
            failed += 1
        }
    }
    return failed
}
