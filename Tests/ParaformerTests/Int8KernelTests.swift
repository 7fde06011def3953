import CParaformerKernels
import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// The hand-written kernels (CParaformerKernels), every variant this CPU runs forced in turn,
/// against naive loops written here, on shapes that are not multiples of the tiles.
final class Int8KernelTests: XCTestCase {
    /// Variants this CPU runs (portable always; AVX2, AVX-512 VNNI where supported).
    let variants: [Int32] = [PK_VARIANT_PORTABLE, PK_VARIANT_AVX2, PK_VARIANT_AVX512].filter {
        Int8GEMM.isSupported($0)
    }

    override class func setUp() {
        let names = [PK_VARIANT_PORTABLE, PK_VARIANT_AVX2, PK_VARIANT_AVX512]
            .filter { Int8GEMM.isSupported($0) }.map(Int8GEMM.name(of:)).joined(separator: ", ")
        print("Int8KernelTests: variants this CPU runs: \(names)")
    }

    private func int8s(_ n: Int, seed: inout UInt64) -> [Int8] {
        TestRandom.floats(n, seed: &seed).map { Int8(($0 * 127).rounded()) }
    }

    /// (M, N, K): rows, output channels, reduction; none a multiple of the tiles but the last.
    let shapes = [(1, 1, 1), (3, 17, 5), (5, 15, 63), (9, 33, 130), (13, 40, 71), (8, 32, 64)]

    // MARK: - Packing

    func testPackingFollowsTheDocumentedLayoutAndSumsColumns() {
        var seed: UInt64 = 3
        let n = 19, k = 7
        let w = int8s(n * k, seed: &seed)
        let size = pk_s8_packed_size(Int32(n), Int32(k))
        XCTAssertEqual(size, 2 * 2 * 64)
        var packed = [Int8](repeating: 99, count: size)
        pk_s8_pack(w, Int32(n), Int32(k), &packed)
        for p in 0..<2 {
            for g in 0..<2 {
                for j in 0..<16 {
                    for i in 0..<4 {
                        let row = 16 * p + j
                        let col = 4 * g + i
                        let expected: Int8 = row < n && col < k ? w[row * k + col] : 0
                        XCTAssertEqual(packed[p * 128 + 64 * g + 4 * j + i], expected)
                    }
                }
            }
        }
        var sums = [Int32](repeating: 7, count: 32)
        pk_s8_column_sums(packed, Int32(n), Int32(k), &sums)
        for j in 0..<32 {
            let expected = j < n ? (0..<k).reduce(Int32(0)) { $0 + Int32(w[j * k + $1]) } : 0
            XCTAssertEqual(sums[j], expected)
        }
    }

    func testQuantizingATransposedMatrixGivesTheSameParts() {
        var seed: UInt64 = 4
        let n = 21, k = 10
        let w = TestRandom.floats(n * k, seed: &seed)
        var wt = [Float](repeating: 0, count: n * k)
        for r in 0..<n { for c in 0..<k { wt[c * n + r] = w[r * k + c] } }
        let a = Int8Matrix.quantize(w, out: n, in: k, transposed: false)
        let b = Int8Matrix.quantize(wt, out: n, in: k, transposed: true)
        XCTAssertEqual(a.packed, b.packed)
        XCTAssertEqual(a.columnSums, b.columnSums)
        XCTAssertEqual(a.scales, b.scales)
        // Per channel: the largest magnitude maps to ±127.
        for r in 0..<n {
            let m = (0..<k).map { abs(w[r * k + $0]) }.max()!
            XCTAssertEqual(a.scales[r], m / 127)
        }
    }

    // MARK: - Activation quantisation

    func testRowQuantisationIsWithinHalfAStepAndTheSameInEveryVariant() {
        var seed: UInt64 = 5
        for k in [1, 5, 37, 70, 129] {
            var rows = TestRandom.floats(6 * k, seed: &seed).map { $0 * 3 }
            for i in 0..<k {
                rows[k + i] = 0  // all zeros
                rows[2 * k + i] = -abs(rows[2 * k + i]) - 0.1  // all negative
                rows[3 * k + i] = 0.75  // constant
                rows[4 * k + i] = abs(rows[4 * k + i])  // after a ReLU
            }
            rows[4 * k] = 0
            let ldq = Int(pk_quantized_stride(Int32(k)))
            var reference: [UInt8]?
            for v in variants {
                var q = [UInt8](repeating: 0xEE, count: 6 * ldq)
                var scale = [Float](repeating: 0, count: 6)
                var zero = [Int32](repeating: -1, count: 6)
                var offset = [Float](repeating: .nan, count: 6)
                pk_quantize_rows(v, rows, 6, Int32(k), Int32(k), &q, Int32(ldq), &scale, &zero, &offset)
                for r in 0..<6 {
                    XCTAssertEqual(zero[r], 128)
                    for i in 0..<k {
                        let code = q[r * ldq + i]
                        XCTAssert((1...255).contains(code))
                        let back = offset[r] + scale[r] * Float(Int32(code) - zero[r])
                        XCTAssertLessThanOrEqual(
                            abs(back - rows[r * k + i]), scale[r] * 0.5001 + 1e-6, "k \(k) row \(r)")
                    }
                    for i in k..<((k + 3) / 4 * 4) { XCTAssertEqual(q[r * ldq + i], 0, "padding") }
                    // A row that is not constant spans the codes: its extremes get 1 and 255,
                    // in steps of (max − min) / 254 around the midpoint.
                    let row = rows[(r * k)..<(r * k + k)]
                    let (lo, hi) = (row.min()!, row.max()!)
                    if lo < hi {
                        XCTAssertEqual(offset[r], 0.5 * lo + 0.5 * hi)
                        XCTAssertEqual(scale[r], max(hi - offset[r], offset[r] - lo) / 127)
                        let codes = q[(r * ldq)..<(r * ldq + k)]
                        XCTAssertEqual(codes.min(), 1, "k \(k) row \(r)")
                        XCTAssertEqual(codes.max(), 255, "k \(k) row \(r)")
                    }
                }
                XCTAssertEqual(scale[1], 1)
                XCTAssertEqual(offset[1], 0, "a row of zeros")
                XCTAssertEqual(offset[3], 0.75, "a constant row is its offset")
                XCTAssertEqual(q[3 * ldq], 128)
                let codes = (0..<6).flatMap { r in q[(r * ldq)..<(r * ldq + k)] }
                if let reference {
                    XCTAssertEqual(codes, reference, "\(Int8GEMM.name(of: v)) differs, k \(k)")
                } else {
                    reference = codes
                }
            }
        }
    }

    func testNonFiniteActivationsDoNotFault() {
        let k = 40
        var x = [Float](repeating: 1, count: k)
        x[3] = .nan
        x[17] = .infinity
        x[30] = -.infinity
        let ldq = Int(pk_quantized_stride(Int32(k)))
        for v in variants {
            var q = [UInt8](repeating: 0, count: ldq)
            var scale: Float = 0
            var zero: Int32 = 0
            var offset: Float = 0
            pk_quantize_rows(v, x, 1, Int32(k), Int32(k), &q, Int32(ldq), &scale, &zero, &offset)
            XCTAssert(q[0..<k].allSatisfy { (1...255).contains($0) })
        }
    }

    // MARK: - Product

    func testProductMatchesNaiveLoopOnOddShapesInEveryVariant() {
        var seed: UInt64 = 6
        for (m, n, k) in shapes {
            let x = TestRandom.floats(m * k, seed: &seed).map { $0 * 2 + 0.3 }
            let w = int8s(n * k, seed: &seed)
            let wScale = TestRandom.floats(n, seed: &seed).map { abs($0) * 0.01 + 0.001 }
            let bias = TestRandom.floats(n, seed: &seed)
            let y0 = TestRandom.floats(m * n, seed: &seed)
            var packed = [Int8](repeating: 0, count: pk_s8_packed_size(Int32(n), Int32(k)))
            pk_s8_pack(w, Int32(n), Int32(k), &packed)
            var sums = [Int32](repeating: 0, count: Int8Matrix.sumCount(out: n))
            pk_s8_column_sums(packed, Int32(n), Int32(k), &sums)
            let ldq = Int(pk_quantized_stride(Int32(k)))
            var q = [UInt8](repeating: 0, count: m * ldq)
            var aScale = [Float](repeating: 0, count: m)
            var aZero = [Int32](repeating: 0, count: m)
            var aOffset = [Float](repeating: 0, count: m)
            pk_quantize_rows(
                PK_VARIANT_PORTABLE, x, Int32(m), Int32(k), Int32(k), &q, Int32(ldq), &aScale, &aZero, &aOffset)
            for flags in [0, PK_RELU, PK_ACCUMULATE] {
                for withBias in [false, true] {
                    // The naive loop, in Double, from the same codes.
                    var expected = [Float](repeating: 0, count: m * n)
                    for r in 0..<m {
                        for c in 0..<n {
                            var acc = 0
                            for i in 0..<k { acc += Int(q[r * ldq + i]) * Int(w[c * k + i]) }
                            let sumW = (0..<k).reduce(0) { $0 + Int(w[c * k + $1]) }
                            var v = Double(aScale[r]) * Double(wScale[c])
                                * Double(acc - Int(aZero[r]) * sumW)
                                + Double(aOffset[r]) * Double(wScale[c]) * Double(sumW)
                            if withBias { v += Double(bias[c]) }
                            if flags == PK_RELU { v = max(v, 0) }
                            if flags == PK_ACCUMULATE { v += Double(y0[r * n + c]) }
                            expected[r * n + c] = Float(v)
                        }
                    }
                    var first: [Float]?
                    for v in variants {
                        var y = y0
                        pk_gemm_u8s8(
                            v, q, Int32(ldq), aScale, aZero, aOffset, Int32(m), packed, sums, wScale, Int32(k),
                            0, Int32(n), withBias ? bias : nil, &y, Int32(n), flags)
                        let scale = max(1, expected.map(abs).max()!)
                        let err = zip(y, expected).map { abs($0 - $1) }.max()!
                        XCTAssertLessThanOrEqual(
                            err / scale, 1e-6, "\(Int8GEMM.name(of: v)) \(m)×\(n)×\(k) flags \(flags)")
                        if let first {
                            XCTAssertEqual(y, first, "\(Int8GEMM.name(of: v)) not bit-identical")
                        } else {
                            first = y
                        }
                    }
                }
            }
        }
    }

    /// Codes at both ends (1 and 255) against weights of ±127 everywhere: the largest pair sums
    /// a `vpmaddubsw` could see; every variant must still give the exact integer sums.
    func testExtremeCodesAgainstExtremeWeightsDoNotSaturate() {
        let m = 3, n = 16, k = 64
        var x = [Float](repeating: 1, count: m * k)
        for i in 0..<k {
            x[i] = i == 0 ? -1 : 1  // row 0: almost all at the top code
            x[k + i] = i == 0 ? 1 : -1  // row 1: almost all at the bottom code
            x[2 * k + i] = i % 2 == 0 ? 1 : -1  // row 2: alternating
        }
        let w = (0..<(n * k)).map { i -> Int8 in (i / k) % 2 == 0 ? 127 : -127 }
        var packed = [Int8](repeating: 0, count: pk_s8_packed_size(Int32(n), Int32(k)))
        pk_s8_pack(w, Int32(n), Int32(k), &packed)
        var sums = [Int32](repeating: 0, count: Int8Matrix.sumCount(out: n))
        pk_s8_column_sums(packed, Int32(n), Int32(k), &sums)
        let wScale = [Float](repeating: 1.0 / 127, count: n)
        let ldq = Int(pk_quantized_stride(Int32(k)))
        var q = [UInt8](repeating: 0, count: m * ldq)
        var aScale = [Float](repeating: 0, count: m)
        var aZero = [Int32](repeating: 0, count: m)
        var aOffset = [Float](repeating: 0, count: m)
        pk_quantize_rows(PK_VARIANT_PORTABLE, x, Int32(m), Int32(k), Int32(k), &q, Int32(ldq), &aScale, &aZero, &aOffset)
        XCTAssertEqual(Set(q[0..<k]), [1, 255])
        for v in variants {
            var y = [Float](repeating: 0, count: m * n)
            pk_gemm_u8s8(v, q, Int32(ldq), aScale, aZero, aOffset, Int32(m), packed, sums, wScale, Int32(k), 0, Int32(n), nil, &y, Int32(n), 0)
            for r in 0..<m {
                for c in 0..<n {
                    let exact = (0..<k).reduce(Float(0)) { $0 + x[r * k + $1] * Float(w[c * k + $1]) / 127 }
                    XCTAssertEqual(y[r * n + c], exact, accuracy: 1e-3, "\(Int8GEMM.name(of: v)) row \(r) col \(c)")
                }
            }
        }
    }

    func testColumnRangeWritesOnlyItsColumns() {
        var seed: UInt64 = 7
        let m = 5, n = 50, k = 23
        let x = TestRandom.floats(m * k, seed: &seed)
        let w = TestRandom.floats(n * k, seed: &seed)
        let parts = Int8Matrix.quantize(w, out: n, in: k, transposed: false)
        let ldq = Int(pk_quantized_stride(Int32(k)))
        var q = [UInt8](repeating: 0, count: m * ldq)
        var aScale = [Float](repeating: 0, count: m)
        var aZero = [Int32](repeating: 0, count: m)
        var aOffset = [Float](repeating: 0, count: m)
        pk_quantize_rows(PK_VARIANT_AUTO, x, Int32(m), Int32(k), Int32(k), &q, Int32(ldq), &aScale, &aZero, &aOffset)
        for v in variants {
            var whole = [Float](repeating: 0, count: m * n)
            pk_gemm_u8s8(
                v, q, Int32(ldq), aScale, aZero, aOffset, Int32(m), parts.packed, parts.columnSums,
                parts.scales, Int32(k), 0, Int32(n), nil, &whole, Int32(n), 0)
            var pieces = [Float](repeating: .nan, count: m * n)
            for (lo, hi) in [(0, 16), (16, 48), (48, 50)] {
                pk_gemm_u8s8(
                    v, q, Int32(ldq), aScale, aZero, aOffset, Int32(m), parts.packed, parts.columnSums,
                    parts.scales, Int32(k), Int32(lo), Int32(hi), nil, &pieces, Int32(n), 0)
            }
            XCTAssertEqual(pieces, whole)
        }
    }

    func testInt8LinearIsCloseToTheFloatLinearAndThreadIndependent() {
        var seed: UInt64 = 8
        let m = 37, n = 70, k = 129
        let x = Tensor(TestRandom.floats(m * k, seed: &seed), shape: [m, k])
        let wf = Tensor(TestRandom.floats(n * k, seed: &seed), shape: [n, k])
        let bias = Tensor(TestRandom.floats(n, seed: &seed), shape: [n])
        let w8 = Int8Matrix(Int8Matrix.quantize(wf.data, out: n, in: k, transposed: false), out: n, in: k)
        let ref = Tensor(zeros: [m, n])
        BLAS.linear(x, wf, bias: bias, into: ref, activation: .relu)
        let saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        var outs: [[Float]] = []
        for threads in [1, 2, 3] {
            BLAS.setThreads(threads)
            let y = Tensor(zeros: [m, n])
            Int8GEMM.linear(x, w8, bias: bias, into: y, activation: .relu)
            outs.append(y.array)
        }
        XCTAssertEqual(outs[0], outs[1])
        XCTAssertEqual(outs[0], outs[2])
        var num: Double = 0
        var den: Double = 0
        for (a, b) in zip(outs[0], ref.array) {
            num += Double((a - b) * (a - b))
            den += Double(b * b)
        }
        XCTAssertLessThan((num / den).squareRoot(), 0.01, "relative RMS error of the int8 product")
    }

    // MARK: - Row kernels

    func testSoftmaxRowsMatchNaiveLoopInEveryVariant() {
        var seed: UInt64 = 9
        for n in [1, 7, 8, 17, 33, 300] {
            for valid in Set([0, 1, n / 2, n]) {
                let x = TestRandom.floats(3 * n, seed: &seed).map { $0 * 20 }
                var expected = [Float](repeating: 0, count: 3 * n)
                for r in 0..<3 where valid > 0 {
                    let row = x[(r * n)..<(r * n + valid)]
                    let m = Double(row.max()!)
                    let s = row.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) }
                    for i in 0..<valid { expected[r * n + i] = Float(Foundation.exp(Double(x[r * n + i]) - m) / s) }
                }
                for v in variants {
                    var y = x
                    pk_softmax_rows(v, &y, 3, Int32(n), Int32(n), Int32(valid))
                    let err = zip(y, expected).map { abs($0 - $1) }.max()!
                    XCTAssertLessThanOrEqual(err, 2e-6, "\(Int8GEMM.name(of: v)) n \(n) valid \(valid)")
                }
            }
        }
    }

    func testLayerNormRowsMatchNaiveLoopInEveryVariant() {
        var seed: UInt64 = 10
        for d in [1, 7, 16, 37, 512] {
            let x = TestRandom.floats(4 * d, seed: &seed).map { $0 * 5 + 1 }
            let g = TestRandom.floats(d, seed: &seed)
            let b = TestRandom.floats(d, seed: &seed)
            var expected = [Float](repeating: 0, count: 4 * d)
            for r in 0..<4 {
                let row = x[(r * d)..<(r * d + d)].map(Double.init)
                let mean = row.reduce(0, +) / Double(d)
                let v = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(d)
                for i in 0..<d {
                    expected[r * d + i] = Float((row[i] - mean) / (v + 1e-12).squareRoot() * Double(g[i]) + Double(b[i]))
                }
            }
            for v in variants {
                var y = [Float](repeating: 0, count: 4 * d)
                pk_layer_norm_rows(v, x, 4, Int32(d), Int32(d), g, b, 1e-12, &y, Int32(d))
                let err = zip(y, expected).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(err, 1e-4, "\(Int8GEMM.name(of: v)) d \(d)")
            }
        }
    }
}
