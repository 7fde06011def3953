import Foundation
import ArgumentParser
import Paraformer

/// Whether `path` is an MFCCA model (`general.architecture` = `mfcca`); false for anything
/// unreadable, which the ordinary path then reports.
func isMFCCAModel(_ path: String) -> Bool { MFCCARecognizer.isMFCCAModel(path: path) }

/// The model's search defaults (its decoding.yaml) with the command line's overrides.
func mfccaSearchOptions(_ recognizer: MFCCARecognizer, _ beamSize: Int?, _ ctcWeight: Double?) throws
    -> MFCCASearchOptions
{
    var options = recognizer.config.search
    if let beamSize { options.beamSize = beamSize }
    if let ctcWeight { options.ctcWeight = Float(ctcWeight) }
    return options
}

/// Transcribes each file with an MFCCA model, keeping its channels (1 to 8). Prints
/// `key<TAB>text`, or with --json `{"key": ..., "text": ...}` (FunASR 0.8.8's text).
/// Returns the number of files that failed.
func runMFCCA(_ args: Arguments, model: String) throws -> Int {
    let clock = ContinuousClock()
    let loadStart = clock.now
    let (recognizer, search) = try loadOrExit {
        let recognizer = try MFCCARecognizer(modelPath: model, threads: args.threads)
        let search = try mfccaSearchOptions(recognizer, args.beamSize, args.ctcWeight)
        if args.timings { printError("load: \(formatSeconds(clock.now - loadStart)), \(args.threads) thread(s)") }
        return (recognizer, search)
    }
    var failed = 0
    for path in args.files {
        let key = utteranceKey(path)
        do {
            let r = try recognizer.transcribe(file: URL(fileURLWithPath: path), search: search)
            emit(args.json ? "{\"key\":\(jsonString(key)),\"text\":\(jsonString(r.text))}" : "\(key)\t\(r.text)")
            if args.timings {
                let t = r.timings
                printError(String(
                    format: "%@: %d ch, %.2f s audio; features %.1f ms, encoder %.1f ms, search %.1f ms; RTF %.4f",
                    key, r.channels, r.duration, t.frontend * 1000, t.encoder * 1000, t.search * 1000,
                    t.total / max(r.duration, 1e-9)))
            }
        } catch {
            printError("error: \(path): \(error)")
            failed += 1
        }
    }
    return failed
}
