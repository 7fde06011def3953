import ArgumentParser
import Foundation
import Paraformer
import ParaformerCore
import ParaformerModels

/// Options of punctuation restoration (a CT-Transformer model given with --model).
struct PunctuationArguments: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Text to punctuate with a punctuation model (--model PUNC.gguf). Without it, each line of standard input is punctuated and printed as one line.",
        valueName: "text"))
    var text: String?

    @Option(help: ArgumentHelp(
        "Words per window of the punctuation model (FunASR's split_size).", valueName: "n"))
    var splitSize: Int = 20

    mutating func validate() throws {
        guard splitSize >= 2 && splitSize <= 100_000 else {
            throw ValidationError("--split-size must be between 2 and 100000 (got \(splitSize)).")
        }
    }
}

/// Whether `path` is a punctuation model (`general.architecture` ct-transformer…).
func isPunctuationModel(_ path: String?) -> Bool {
    guard let path, let file = try? GGUFFile(path: path), let family = try? ModelRegistry.family(of: file) else {
        return false
    }
    return family.kind == .punctuation
}

/// Punctuates `--text`, or every line of standard input (a streaming model carries its context
/// from line to line, as FunASR's cache does). Prints one line per input: the text, or with
/// --json `{"key", "text", "punc_array"}`.
func runPunctuation(_ p: PunctuationArguments, model: String?, threads: Int, json: Bool, timings: Bool) throws {
    guard let model else {
        printError("error: --text needs a punctuation model: --model PUNC.gguf.")
        throw ExitCode(2)
    }
    let punctuator = try loadOrExit {
        try Punctuator(modelPath: model, options: PunctuatorOptions(splitSize: p.splitSize, threads: threads))
    }
    let stream = punctuator.isStreaming ? try punctuator.makeStream() : nil
    let clock = ContinuousClock()
    var elapsed = Duration.zero
    var characters = 0
    func emit(_ key: String, _ line: String) {
        let t0 = clock.now
        let r = stream?.accept(line) ?? punctuator.punctuate(line)
        elapsed += clock.now - t0
        characters += line.unicodeScalars.count
        if json {
            let object: [String: Any] = ["key": key, "text": r.text, "punc_array": r.puncArray]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            writeLine(String(decoding: data, as: UTF8.self))
        } else {
            writeLine(r.text)
        }
    }
    if let text = p.text {
        emit("text", text)
    } else {
        var n = 0
        while let line = readLine(strippingNewline: true) {
            n += 1
            emit("line\(n)", line)
        }
    }
    if timings {
        let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        printError(String(format: "punctuation: %d characters in %.3f s (%.0f characters/s), %d thread(s)",
                          characters, s, s > 0 ? Double(characters) / s : 0, threads))
    }
}

/// One line on standard output, unbuffered (each input line is answered at once).
private func writeLine(_ line: String) {
    emit(line)
}
