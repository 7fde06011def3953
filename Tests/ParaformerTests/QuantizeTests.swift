import CParaformerKernels
import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// `paraformer-quantize` (`Quantizer`, `GGUFWriter`) and the engine on the int8 files it writes.
final class QuantizeTests: XCTestCase {
    static let weights = BundledModelTests.weights

    /// Quantises a bundled model once per test run into a temporary file.
    static func quantized(_ name: String) throws -> String {
        let out = FileManager.default.temporaryDirectory
            .appendingPathComponent("int8-\(ProcessInfo.processInfo.processIdentifier)-\(name)").path
        if !FileManager.default.fileExists(atPath: out) {
            _ = try Quantizer.quantize(input: weights.appendingPathComponent(name).path, output: out)
        }
        return out
    }

    /// Character edit distance.
    static func edits(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        var row = Array(0...y.count)
        for i in 1...max(x.count, 1) where !x.isEmpty {
            var prev = row[0]
            row[0] = i
            for j in 1...max(y.count, 1) where !y.isEmpty {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (x[i - 1] == y[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return x.isEmpty ? y.count : row[y.count]
    }

    func testQuantizedFileKeepsMetadataAndHasTheDocumentedTensors() throws {
        let src = try GGUFFile(path: Self.weights.appendingPathComponent("paraformer-zh-small.gguf").path)
        let q = try GGUFFile(path: try Self.quantized("paraformer-zh-small.gguf"))
        for (key, value) in src.metadata { XCTAssertEqual(q.metadata[key], value, key) }
        XCTAssertEqual(q.metadata[Quantizer.schemeKey], .string(Quantizer.scheme))
        let name = "encoder.encoders.3.feed_forward.w_1.weight"  // [512, 128]
        XCTAssertEqual(q.info(name)?.type, .i8)
        XCTAssertEqual(q.info(name)?.shape, [32, 32, 64])
        XCTAssertEqual(q.info(name + "_scale")?.shape, [512])
        XCTAssertEqual(q.info(name + "_sum")?.type, .i32)
        // Kept in fp32, bit for bit.
        for kept in ["decoder.output_layer.weight", "predictor.cif_output.weight", "encoder.encoders.3.norm1.weight"] {
            let a = try src.tensor(kept), b = try q.tensor(kept)
            XCTAssertEqual(a.array, b.array, kept)
        }
        XCTAssertNil(q.info("decoder.embed.0.weight"), "training-only tensor left out")
        // The packed bytes are what Int8Matrix.quantize makes of the source matrix.
        let w = try src.tensor(name)
        let parts = Int8Matrix.quantize(w.data, out: 512, in: 128, transposed: false)
        let packed = q.bytes(q.info(name)!)
        XCTAssertEqual(Array(packed.bindMemory(to: Int8.self)), parts.packed)
        let size = { (f: GGUFFile) in f.tensorInfos.reduce(0) { $0 + $1.byteCount } }
        print("int8 tensor data: \(size(q)) bytes, fp32: \(size(src)) (\(Double(size(q)) / Double(size(src))))")
        XCTAssertLessThan(Double(size(q)), 0.35 * Double(size(src)))
    }

    func testQuantizerRefusesAnInt8FileAndOtherArchitectures() throws {
        let q = try Self.quantized("paraformer-zh-small.gguf")
        XCTAssertThrowsError(try Quantizer.quantize(input: q, output: q + ".again")) { e in
            guard case ParaformerError.invalidModelFile(_, let reason)? = e as? ParaformerError else {
                return XCTFail("\(e)")
            }
            XCTAssert(reason.contains("already quantised"))
        }
        // An expected-outputs fixture (`general.architecture` paraformer-fixture).
        let fixture = Bundle.module.url(
            forResource: "Fixtures/model/small-online__stream_a__cs0-10-5_lb0-0", withExtension: "gguf")!
        XCTAssertThrowsError(try Quantizer.quantize(input: fixture.path, output: q + ".fixture")) { e in
            XCTAssertEqual(e as? ParaformerError, .unsupportedArchitecture("paraformer-fixture"))
        }
    }

    func testWrongInt8TensorShapeIsANamedError() throws {
        // A file whose scale tensor has the wrong length: rewrite one with the writer.
        let q = try GGUFFile(path: try Self.quantized("paraformer-zh-small.gguf"))
        var writer = GGUFWriter()
        writer.metadata = q.metadata.map { (key: $0.key, value: $0.value) }
        let bad = "encoder.encoders.0.self_attn.linear_out.weight_scale"
        for info in q.tensorInfos {
            if info.name == bad {
                writer.add(info.name, shape: [info.shape[0] - 1], type: .f32, .float([Float](repeating: 1, count: info.shape[0] - 1)))
            } else {
                writer.add(info.name, shape: info.shape, type: info.type, .view(q.bytes(info)))
            }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("int8-bad-\(ProcessInfo.processInfo.processIdentifier).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writer.write(to: path)
        XCTAssertThrowsError(try Recognizer(modelPath: path)) { e in
            XCTAssertEqual(e as? ParaformerError, .shapeMismatch(name: bad, expected: [128], found: [127]))
        }
    }

    func testInt8OfflineModelTranscribesTheHeldOutClips() throws {
        let fp32 = try Recognizer(modelPath: Self.weights.appendingPathComponent("paraformer-zh-small.gguf").path)
        let int8 = try Recognizer(modelPath: try Self.quantized("paraformer-zh-small.gguf"))
        XCTAssertEqual(int8.linearKernel, "int8 \(Int8GEMM.variantName)")
        XCTAssert(fp32.linearKernel.hasPrefix("fp32"))
        var errors = 0, chars = 0, same = 0
        let clips = try BundledModelTests.clips().filter { $0.model == "offline" }
        for clip in clips {
            let url = Bundle.module.url(forResource: "Fixtures/heldout/\(clip.file)", withExtension: nil)!
            let a = try fp32.transcribe(file: url).text
            let b = try int8.transcribe(file: url).text
            errors += Self.edits(b, clip.reference)
            chars += clip.reference.count
            same += a == b ? 1 : 0
        }
        print("int8 offline held-out: CER \(Double(errors) / Double(chars)), \(same)/\(clips.count) texts equal to fp32")
        XCTAssertLessThanOrEqual(Double(errors) / Double(chars), 0.003 + 0.0)
    }

    func testInt8StreamingModelTranscribesTheHeldOutClips() throws {
        let int8 = try Recognizer(modelPath: try Self.quantized("paraformer-zh-small-online.gguf"))
        var errors = 0, chars = 0
        for clip in try BundledModelTests.clips().filter({ $0.model == "online" }) {
            let url = Bundle.module.url(forResource: "Fixtures/heldout/\(clip.file)", withExtension: nil)!
            let audio = try AudioDecoder.load(contentsOf: url)
            let stream = try int8.makeStream(options: StreamingOptions(chunkSize: [0, 10, 5]))
            var offset = 0
            while offset < audio.samples.count {
                let end = min(offset + stream.chunkSamples, audio.samples.count)
                _ = try stream.accept(samples: Array(audio.samples[offset..<end]))
                offset = end
            }
            let text = try stream.finish().text
            errors += Self.edits(text, clip.reference)
            chars += clip.reference.count
        }
        print("int8 streaming held-out: CER \(Double(errors) / Double(chars))")
        XCTAssertLessThanOrEqual(Double(errors) / Double(chars), 0.003)
    }

    func testEveryKernelVariantGivesTheSameTokens() throws {
        // The variants compute identical int32 sums and epilogues, so the model's tokens are the
        // same on every CPU; checked by forcing each variant this CPU runs.
        let int8 = try Recognizer(modelPath: try Self.quantized("paraformer-zh-small.gguf"))
        let sample = Self.weights.appendingPathComponent("sample.wav")
        defer { Int8GEMM.override = PK_VARIANT_AUTO }
        var results: [[Int]] = []
        for v in [PK_VARIANT_PORTABLE, PK_VARIANT_AVX2, PK_VARIANT_AVX512] where Int8GEMM.isSupported(v) {
            Int8GEMM.override = v
            results.append(try int8.transcribe(file: sample).tokens.map(\.id))
        }
        XCTAssertGreaterThanOrEqual(results.count, 1)
        XCTAssertFalse(results[0].isEmpty)
        for r in results.dropFirst() { XCTAssertEqual(r, results[0]) }
    }

    func testInOutAndOutInFilesQuantiseToTheSameBytes() throws {
        let dir = FileManager.default.temporaryDirectory
        let pid = ProcessInfo.processInfo.processIdentifier
        var files: [GGUFFile] = []
        for name in ["small", "small-inout"] {
            let src = Bundle.module.url(forResource: "Fixtures/model/\(name)", withExtension: "gguf")!
            let out = dir.appendingPathComponent("int8-\(pid)-\(name).gguf").path
            defer { try? FileManager.default.removeItem(atPath: out) }
            let report = try Quantizer.quantize(input: src.path, output: out)
            XCTAssertGreaterThan(report.quantized.count, 10)
            files.append(try GGUFFile(path: out))
        }
        for info in files[0].tensorInfos where info.type == .i8 {
            XCTAssertEqual(Array(files[0].bytes(info)), Array(files[1].bytes(files[1].info(info.name)!)), info.name)
        }
    }
}
