import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// How far the int8 model's intermediate outputs are from the fp32 model's on the same audio:
/// relative RMS error ‖int8 − fp32‖ / ‖fp32‖ of the encoder output and of the decoder logits
/// (the logits only when both fire the same number of tokens).
final class Int8AccuracyTests: XCTestCase {
    struct Errors: Codable {
        var clip: String
        var frames: Int
        var tokensFp32: Int
        var tokensInt8: Int
        var encoderRelRMS: Double
        /// Raw decoder logits.
        var logitsRelRMS: Double?
        /// log_softmax of the logits (what FunASR's ONNX export outputs).
        var logProbsRelRMS: Double?
        /// Logits minus their row mean (invariant to log_softmax: comparable with the ONNX
        /// model's output treated the same way).
        var centredLogitsRelRMS: Double?
        var tokensEqual: Bool
    }

    static func relativeRMS(_ a: [Float], _ b: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for (x, y) in zip(a, b) {
            num += Double(x - y) * Double(x - y)
            den += Double(y) * Double(y)
        }
        return (num / max(den, 1e-30)).squareRoot()
    }

    /// Each row of V values transformed by `f` (row → row).
    static func rows(_ x: [Float], _ v: Int, _ f: ([Double]) -> [Double]) -> [Float] {
        stride(from: 0, to: x.count, by: v).flatMap { i in f(x[i..<(i + v)].map(Double.init)).map(Float.init) }
    }

    static func logSoftmax(_ r: [Double]) -> [Double] {
        let m = r.max() ?? 0
        let lse = m + Foundation.log(r.reduce(0) { $0 + Foundation.exp($1 - m) })
        return r.map { $0 - lse }
    }

    static func centred(_ r: [Double]) -> [Double] {
        let mean = r.reduce(0, +) / Double(max(r.count, 1))
        return r.map { $0 - mean }
    }

    static func measure(fp32 fp32Path: String, int8 int8Path: String, clip: URL) throws -> Errors {
        let f = try GGUFFile(path: fp32Path)
        let q = try GGUFFile(path: int8Path)
        let mf = try ParaformerModel(file: f)
        let mq = try ParaformerModel(file: q)
        let audio = try AudioDecoder.load(contentsOf: clip)
        let features = try OfflineFrontend(file: f, hparams: mf.hparams).features(audio: audio)
        let a = mf.run([features], keepIntermediates: true, Workspace())[0]
        let b = mq.run([features], keepIntermediates: true, Workspace())[0]
        let sameCount = a.tokenIds.count == b.tokenIds.count
        let v = mf.hparams.vocabSize
        return Errors(
            clip: clip.lastPathComponent, frames: a.frames, tokensFp32: a.tokenIds.count,
            tokensInt8: b.tokenIds.count, encoderRelRMS: relativeRMS(b.encoderOut!, a.encoderOut!),
            logitsRelRMS: sameCount ? relativeRMS(b.logits!, a.logits!) : nil,
            logProbsRelRMS: sameCount
                ? relativeRMS(rows(b.logits!, v, logSoftmax), rows(a.logits!, v, logSoftmax)) : nil,
            centredLogitsRelRMS: sameCount
                ? relativeRMS(rows(b.logits!, v, centred), rows(a.logits!, v, centred)) : nil,
            tokensEqual: a.tokenIds == b.tokenIds)
    }

    /// The bundled model on the held-out clips: the int8 error stays small (about 1–3 %).
    func testBundledModelInt8ErrorIsSmall() throws {
        let fp32 = BundledModelTests.weights.appendingPathComponent("paraformer-zh-small.gguf").path
        let int8 = try QuantizeTests.quantized("paraformer-zh-small.gguf")
        for clip in try BundledModelTests.clips().filter({ $0.model == "offline" }) {
            let url = Bundle.module.url(forResource: "Fixtures/heldout/\(clip.file)", withExtension: nil)!
            let e = try Self.measure(fp32: fp32, int8: int8, clip: url)
            print("int8 vs fp32 \(clip.file): encoder \(e.encoderRelRMS), logits \(e.logitsRelRMS ?? .nan)")
            XCTAssertLessThan(e.encoderRelRMS, 0.05, clip.file)
            XCTAssertEqual(e.tokensFp32, e.tokensInt8, clip.file)
            XCTAssertLessThan(e.logitsRelRMS ?? 1, 0.05, clip.file)
        }
    }

    /// A measurement on any model (the benchmark's paraformer-large): with
    /// `PARAFORMER_INT8_ACCURACY=fp32.gguf:int8.gguf:clip.wav[:out.json]` it prints (and writes)
    /// the errors; without it there is nothing to measure.
    func testLargeModelInt8Error() throws {
        guard let spec = ProcessInfo.processInfo.environment["PARAFORMER_INT8_ACCURACY"] else {
            print("PARAFORMER_INT8_ACCURACY not set: no large-model measurement")
            return
        }
        let parts = spec.split(separator: ":").map(String.init)
        XCTAssertGreaterThanOrEqual(parts.count, 3)
        let e = try Self.measure(fp32: parts[0], int8: parts[1], clip: URL(fileURLWithPath: parts[2]))
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let json = String(decoding: try enc.encode(e), as: UTF8.self)
        print("int8 accuracy: \(json)")
        if parts.count > 3 { try json.write(toFile: parts[3], atomically: true, encoding: .utf8) }
    }
}
