import CParaformerKernels
import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// The few-rows product of a beam step (`pk_rows_linear`, `FewRowsLinear`): every variant this
/// CPU runs against a float64 loop, F16 weights bit-identical to their fp32 expansion, and a
/// UniASR model stored in F16 decoding exactly as its fp32 expansion.
final class FewRowsTests: XCTestCase {
    /// Variants this CPU runs (AVX-512 machines run the AVX2 code).
    let variants: [Int32] = [PK_VARIANT_PORTABLE, PK_VARIANT_AVX2].filter { pk_variant_supported($0) != 0 }

    /// The halves nearest `values` (round to nearest even, as torch's `.half()`).
    static func halves(_ values: [Float]) -> [UInt16] { values.map { Float16($0).bitPattern } }

    /// y = x · Wᵀ + b through the kernel: x [m, k], w [n, k] (F32 floats or F16 bit patterns).
    func product(
        _ variant: Int32, _ x: [Float], m: Int, k: Int, n: Int, weights: Any, bias: [Float]?,
        initial y0: [Float], range: Range<Int>? = nil, flags: Int32 = 0
    ) -> [Float] {
        var y = y0
        let r = range ?? 0..<n
        y.withUnsafeMutableBufferPointer { yp in
            func call(_ w: UnsafeRawPointer, _ type: Int32, _ b: UnsafePointer<Float>?) {
                pk_rows_linear(
                    variant, x, Int32(m), Int32(k), w, type, Int32(k), Int32(k), Int32(r.lowerBound),
                    Int32(r.upperBound), b, yp.baseAddress, Int32(n), flags)
            }
            func withBias(_ w: UnsafeRawPointer, _ type: Int32) {
                if let bias { bias.withUnsafeBufferPointer { call(w, type, $0.baseAddress) } } else { call(w, type, nil) }
            }
            if let w = weights as? [Float] {
                w.withUnsafeBytes { withBias($0.baseAddress!, Int32(PK_WEIGHT_F32)) }
            } else if let w = weights as? [UInt16] {
                w.withUnsafeBytes { withBias($0.baseAddress!, Int32(PK_WEIGHT_F16)) }
            }
        }
        return y
    }

    func testProductsMatchAFloat64LoopForEveryShapeAndVariant() {
        var seed: UInt64 = 11
        // Rows past one group (6), K with and without an 8-lane tail, odd N.
        for m in [1, 2, 5, 6, 7, 9] {
            for (n, k) in [(1, 1), (3, 5), (2, 8), (17, 13), (33, 64), (9, 203)] {
                let x = TestRandom.floats(m * k, seed: &seed)
                let w = TestRandom.floats(n * k, seed: &seed)
                let bias = TestRandom.floats(n, seed: &seed)
                let y0 = TestRandom.floats(m * n, seed: &seed)
                for variant in variants {
                    for flags in [Int32(0), Int32(PK_ACCUMULATE), Int32(PK_RELU)] {
                        let y = product(variant, x, m: m, k: k, n: n, weights: w, bias: bias, initial: y0, flags: flags)
                        for r in 0..<m {
                            for j in 0..<n {
                                var s = Double(bias[j])
                                for i in 0..<k { s += Double(x[r * k + i]) * Double(w[j * k + i]) }
                                if flags == PK_ACCUMULATE { s += Double(y0[r * n + j]) }
                                if flags == PK_RELU { s = max(s, 0) }
                                XCTAssertEqual(
                                    Double(y[r * n + j]), s, accuracy: 1e-5 * Double(k + 1),
                                    "variant \(variant) m \(m) n \(n) k \(k) flags \(flags) [\(r), \(j)]")
                            }
                        }
                    }
                }
            }
        }
    }

    func testColumnRangeAndNoBias() {
        var seed: UInt64 = 12
        let (m, n, k) = (5, 37, 19)
        let x = TestRandom.floats(m * k, seed: &seed)
        let w = TestRandom.floats(n * k, seed: &seed)
        let y0 = TestRandom.floats(m * n, seed: &seed)
        for variant in variants {
            let full = product(variant, x, m: m, k: k, n: n, weights: w, bias: nil, initial: y0)
            let part = product(variant, x, m: m, k: k, n: n, weights: w, bias: nil, initial: y0, range: 16..<33)
            for r in 0..<m {
                for j in 0..<n {
                    // Inside the range: the full product's value (each output is one call's);
                    // outside: untouched.
                    XCTAssertEqual(part[r * n + j], (16..<33).contains(j) ? full[r * n + j] : y0[r * n + j])
                }
            }
        }
    }

    func testHalfWeightsGiveTheBitsOfTheirFloatExpansion() {
        var seed: UInt64 = 13
        for (m, n, k) in [(1, 3, 7), (5, 33, 256), (8, 17, 203), (3, 9, 1024)] {
            let x = TestRandom.floats(m * k, seed: &seed).map { $0 * 3 }
            let h = Self.halves(TestRandom.floats(n * k, seed: &seed).map { $0 * 0.37 })
            let expanded = h.map { Float(Float16(bitPattern: $0)) }
            let bias = TestRandom.floats(n, seed: &seed)
            let y0 = [Float](repeating: 0, count: m * n)
            for variant in variants {
                let a = product(variant, x, m: m, k: k, n: n, weights: h, bias: bias, initial: y0)
                let b = product(variant, x, m: m, k: k, n: n, weights: expanded, bias: bias, initial: y0)
                XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "variant \(variant) \(m)×\(n)×\(k)")
            }
        }
    }

    func testEveryHalfWidensExactly() {
        // W [65536, 1]: every bit pattern, x = 1, so y = 0 + 1 · w.
        let h = (0...UInt16.max).map { $0 }
        let y0 = [Float](repeating: 0, count: h.count)
        for variant in variants {
            let y = product(variant, [1], m: 1, k: 1, n: h.count, weights: h, bias: nil, initial: y0)
            for (i, bits) in h.enumerated() {
                let want = Float(Float16(bitPattern: bits))
                if want.isNaN {
                    XCTAssertTrue(y[i].isNaN, "half \(bits)")
                } else if y[i] != want {
                    XCTFail("variant \(variant): half \(String(bits, radix: 16)) widened to \(y[i]), not \(want)")
                    return
                }
            }
        }
    }

    // MARK: - A UniASR model stored in F16

    /// Writes `file` again with every tensor of 2+ dimensions as F16 (what `convert.py --dtype
    /// f16` does) and, when `expand` is set, as F32 holding the F16 values.
    static func rewrite(_ file: GGUFFile, to path: String, expand: Bool) throws {
        var writer = GGUFWriter()
        writer.metadata = file.metadata.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        var buffers: [UnsafeMutableBufferPointer<UInt16>] = []
        defer { buffers.forEach { $0.deallocate() } }
        for info in file.tensorInfos {
            guard info.type == .f32, info.shape.count >= 2 else {
                writer.add(info.name, shape: info.shape, type: info.type, .view(file.bytes(info)))
                continue
            }
            let h = halves(try file.tensor(info.name).array)
            if expand {
                writer.add(info.name, shape: info.shape, type: .f32, .float(h.map { Float(Float16(bitPattern: $0)) }))
            } else {
                let b = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: h.count)
                _ = b.initialize(from: h)
                buffers.append(b)
                writer.add(info.name, shape: info.shape, type: .f16, .view(UnsafeRawBufferPointer(b)))
            }
        }
        try withExtendedLifetime(file) { try writer.write(to: path) }
    }

    func testAnF16UniASRModelDecodesAsItsFloatExpansion() throws {
        let tiny = try GGUFFile(path: UniASRParityTests.fixture("uniasr-tiny.gguf"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fewrows-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let halfPath = dir.appendingPathComponent("f16.gguf").path
        let floatPath = dir.appendingPathComponent("f32.gguf").path
        try Self.rewrite(tiny, to: halfPath, expand: false)
        try Self.rewrite(tiny, to: floatPath, expand: true)
        let half = try UniASRModel(file: try GGUFFile(path: halfPath))
        let float = try UniASRModel(file: try GGUFFile(path: floatPath))
        // The decoders' step products read the halves.
        for d in [half.decoder, half.decoder2] {
            guard case .some(.f16) = d.output.weights, case .some(.f16) = d.layers[0].w1.weights,
                case .some(.f16) = d.layers[0].sourceAttention?.q.weights
            else { return XCTFail("F16 decoder weights were widened") }
        }
        guard case .some(.f32) = float.decoder.output.weights else { return XCTFail("F32 weights") }

        let fx = try GGUFFile(path: UniASRParityTests.fixture("uniasr-tiny__expected.gguf"))
        var decoded = 0
        for c in try UniASRParityTests.cases(fx) where c.error == nil {
            let mode = try XCTUnwrap(UniASRDecodingMode(rawValue: c.mode))
            let features = try fx.tensor("\(c.clip).features")
            let a = half.run(features, mode: mode, Workspace())
            let b = float.run(features, mode: mode, Workspace())
            // Two threads split the columns: each output is still computed by one call.
            let a2 = Parallel.withThreads(2) { half.run(features, mode: mode, Workspace()) }
            XCTAssertFalse(a.hypotheses.isEmpty, "\(c.mode)/\(c.clip)")
            for other in [b, a2] {
                XCTAssertEqual(a.hypotheses.map(\.tokens), other.hypotheses.map(\.tokens), "\(c.mode)/\(c.clip)")
                XCTAssertEqual(
                    a.hypotheses.map(\.score.bitPattern), other.hypotheses.map(\.score.bitPattern),
                    "\(c.mode)/\(c.clip)")
            }
            decoded += 1
        }
        XCTAssertGreaterThanOrEqual(decoded, 6)
    }
}
