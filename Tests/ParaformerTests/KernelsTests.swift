import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// Every kernel against a naive loop written here.
final class KernelsTests: XCTestCase {
    let tolerance: Float = 1e-5

    private func random(_ n: Int, seed: inout UInt64) -> [Float] {
        TestRandom.floats(n, seed: &seed)
    }

    private func assertClose(_ a: [Float], _ b: [Float], _ tol: Float? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        let scale = max(1, b.map(abs).max() ?? 1)
        let err = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(err / scale, tol ?? tolerance, file: file, line: line)
    }

    func testGemmAllTransposesMatchNaiveProduct() {
        var seed: UInt64 = 1
        let m = 7, n = 5, k = 9
        for transA in [false, true] {
            for transB in [false, true] {
                let a = random(m * k, seed: &seed)
                let b = random(k * n, seed: &seed)
                let c0 = random(m * n, seed: &seed)
                var c = c0
                BLAS.gemm(
                    transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a,
                    lda: transA ? m : k, b: b, ldb: transB ? k : n, beta: 2, c: &c, ldc: n)
                var expected = [Float](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        var s: Float = 0
                        for p in 0..<k {
                            let av = transA ? a[p * m + i] : a[i * k + p]
                            let bv = transB ? b[j * k + p] : b[p * n + j]
                            s += av * bv
                        }
                        expected[i * n + j] = 0.5 * s + 2 * c0[i * n + j]
                    }
                }
                assertClose(c, expected)
            }
        }
    }

    func testLinearAddsBiasAndAccumulates() {
        var seed: UInt64 = 2
        let x = Tensor(random(4 * 6, seed: &seed), shape: [4, 6])
        let w = Tensor(random(3 * 6, seed: &seed), shape: [3, 6])
        let b = Tensor(random(3, seed: &seed), shape: [3])
        let out = Tensor(zeros: [4, 3])
        BLAS.linear(x, w, bias: b, into: out)
        var expected = [Float](repeating: 0, count: 12)
        for r in 0..<4 {
            for o in 0..<3 {
                var s = b[o]
                for i in 0..<6 { s += x[r, i] * w[o, i] }
                expected[r * 3 + o] = s
            }
        }
        assertClose(out.array, expected)
        BLAS.linear(x, w, bias: b, into: out, accumulate: true)
        assertClose(out.array, expected.map { $0 * 2 })
    }

    func testLayerNormMatchesDefinition() {
        var seed: UInt64 = 3
        let d = 33
        let x = Tensor(random(5 * d, seed: &seed).map { $0 * 10 + 3 }, shape: [5, d])
        let g = Tensor(random(d, seed: &seed), shape: [d])
        let b = Tensor(random(d, seed: &seed), shape: [d])
        let out = Tensor(zeros: [5, d])
        Kernels.layerNorm(x, gamma: g, beta: b, eps: 1e-12, into: out)
        var expected: [Float] = []
        for r in 0..<5 {
            let row = (0..<d).map { Double(x[r, $0]) }
            let mean = row.reduce(0, +) / Double(d)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
            for i in 0..<d {
                expected.append(Float((row[i] - mean) / (variance + 1e-12).squareRoot()) * g[i] + b[i])
            }
        }
        assertClose(out.array, expected, 1e-5)
        // In place gives the same.
        Kernels.layerNorm(x, gamma: g, beta: b, eps: 1e-12, into: x)
        assertClose(x.array, expected, 1e-5)
    }

    func testReluAndSigmoid() {
        let x = Tensor([-2, -0.5, 0, 0.5, 3], shape: [5])
        Kernels.relu(x)
        XCTAssertEqual(x.array, [0, 0, 0, 0.5, 3])
        let y = Tensor([-30, 0, 2], shape: [3])
        Kernels.sigmoid(y)
        assertClose(y.array, [-30, 0, 2].map { Float(1 / (1 + exp(-Double($0)))) })
    }

    func testMaskedSoftmaxZeroesPaddingAndNormalises() {
        let x = Tensor([1, 2, 3, 100, 100, 0.5, 0.5, -1, 7, 7], shape: [2, 5])
        Kernels.softmax(x, valid: 3)
        for r in 0..<2 {
            let row = (0..<5).map { x[r, $0] }
            XCTAssertEqual(row[3], 0)
            XCTAssertEqual(row[4], 0)
            XCTAssertEqual(row[0..<3].reduce(0, +), 1, accuracy: 1e-6)
        }
        let e = [1.0, 2.0, 3.0].map { exp($0) }
        let s = e.reduce(0, +)
        assertClose((0..<3).map { x[0, $0] }, e.map { Float($0 / s) })
        // No valid keys → all zero (FunASR masks the NaN softmax to 0).
        let z = Tensor([1, 2], shape: [1, 2])
        Kernels.softmax(z, valid: 0)
        XCTAssertEqual(z.array, [0, 0])
    }

    func testDepthwiseConvMatchesNaiveConvolutionWithPadding() {
        var seed: UInt64 = 4
        let t = 9, c = 6, k = 5
        for leftPad in [0, 2, 4] {
            let x = Tensor(random(2 * t * c, seed: &seed), shape: [2, t, c])
            let w = Tensor(random(k * c, seed: &seed), shape: [k, c])
            let out = Tensor(zeros: [2, t, c])
            Kernels.depthwiseConv1D(x, weight: w, leftPad: leftPad, frames: t, into: out)
            var expected = [Float](repeating: 0, count: 2 * t * c)
            for b in 0..<2 {
                for i in 0..<t {
                    for ch in 0..<c {
                        var s: Float = 0
                        for j in 0..<k {
                            let src = i + j - leftPad
                            if src >= 0 && src < t { s += w[j, ch] * x[b * t + src, ch] }
                        }
                        expected[(b * t + i) * c + ch] = s
                    }
                }
            }
            assertClose(out.array, expected)
        }
    }

    func testConcatAndSplitRoundTrip() {
        let a = Tensor([1, 2, 3, 4], shape: [2, 2])
        let b = Tensor([5, 6, 7, 8, 9, 10], shape: [2, 3])
        let cat = Tensor(zeros: [2, 5])
        Kernels.concatColumns([a, b], into: cat)
        XCTAssertEqual(cat.array, [1, 2, 5, 6, 7, 3, 4, 8, 9, 10])
        let back = Tensor(zeros: [2, 3])
        Kernels.splitColumns(cat, start: 2, into: back)
        XCTAssertEqual(back.array, b.array)
        let rows = Tensor(zeros: [4, 2])
        Kernels.concatRows([a, a], into: rows)
        XCTAssertEqual(rows.array, [1, 2, 3, 4, 1, 2, 3, 4])
    }

    func testVectorExpIsAccurateOverTheSoftmaxRange() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            var v = SIMD16<Float>()
            for i in 0..<16 { v[i] = x + Float(i) * 0.0137 }
            let e = SIMDMath.exp(v)
            for i in 0..<16 {
                let ref = Foundation.exp(Double(v[i]))
                worst = max(worst, Float(abs(Double(e[i]) - ref) / ref))
            }
            x += 0.37
        }
        XCTAssertLessThan(worst, 5e-7)
        XCTAssertLessThan(SIMDMath.exp(SIMD16(repeating: -100))[3], 1e-37)
    }

    func testArgmaxTakesFirstOfTies() {
        let v: [Float] = [0, 3, 1, 3]
        XCTAssertEqual(Kernels.argmax(v, n: 4), 1)
    }

    func testViewsShareMemoryAndSliceRows() {
        let t = Tensor((0..<12).map(Float.init), shape: [4, 3])
        let s = t.slice(1..<3)
        XCTAssertEqual(s.shape, [2, 3])
        XCTAssertEqual(s.array, [3, 4, 5, 6, 7, 8])
        s[0, 0] = 42
        XCTAssertEqual(t[1, 0], 42)
        XCTAssertEqual(t.reshaped([2, 6]).rows, 2)
    }

    func testWorkspaceReusesMemoryAfterRewind() {
        let ws = Workspace()
        let mark = ws.mark
        let a = ws.tensor([1000, 10])
        ws.rewind(to: mark)
        let b = ws.tensor([1000, 10])
        XCTAssertEqual(a.data, b.data)
        let capacity = ws.capacity
        for _ in 0..<10 {
            let m = ws.mark
            _ = ws.tensor([500, 10])
            _ = ws.tensor([300, 7])
            ws.rewind(to: m)
        }
        XCTAssertEqual(ws.capacity, capacity, "steady state must not grow the arena")
        XCTAssertEqual(Int(bitPattern: ws.tensor([3]).data) % 64, 0)
    }
}
