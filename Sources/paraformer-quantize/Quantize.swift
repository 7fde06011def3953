import ArgumentParser
import Foundation
import ParaformerCore
import ParaformerModels

/// `paraformer-quantize IN.gguf OUT.gguf`: writes an int8 copy of a converted model
/// (`Quantizer`; the format is in Weights/FORMAT.md). `paraformer-run` loads the result as it
/// is, with no flag.
@main
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paraformer-quantize",
        abstract: "Quantise a Paraformer GGUF model to int8 (Linear weights of encoder and decoder).")

    @Argument(help: "The fp32 (or f16) model file, as Tools/convert.py writes it.")
    var input: String

    @Argument(help: "The int8 model file to write.")
    var output: String

    func validate() throws {
        let a = URL(fileURLWithPath: input).standardizedFileURL.path
        let b = URL(fileURLWithPath: output).standardizedFileURL.path
        if a == b { throw ValidationError("OUT must differ from IN (the input is read while OUT is written).") }
    }

    func run() throws {
        do {
            let r = try Quantizer.quantize(input: input, output: output)
            let mb = { (b: Int) in String(format: "%.1f MB", Double(b) / 1e6) }
            print(
                "\(output): \(r.quantized.count) Linear weights int8, \(r.kept.count) tensors kept, "
                    + "\(r.dropped.count) training-only tensors left out; tensor data "
                    + "\(mb(r.inputBytes)) -> \(mb(r.outputBytes))")
        } catch let e as ParaformerError {
            FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}
