import CParaformerKernels
import Foundation
import XCTest

@testable import ParaformerCore

/// The fp32 product on prepacked weights (`pk_sgemm_packed`) and FSMN-VAD's memory kernel
/// (`pk_fsmn_memory`), every variant this CPU runs, against naive loops written here that
/// spell out the documented order of operations (so the comparison is exact, bit for bit).
final class PackedGEMMTests: XCTestCase {
    let variants: [Int32] = [PK_VARIANT_PORTABLE, PK_VARIANT_AVX2, PK_VARIANT_AVX512].filter {
        Int8GEMM.isSupported($0)
    }

    /// (M, N, K); none a multiple of the 6 × 16 tile but the last two.
    let shapes = [(1, 1, 1), (5, 17, 3), (7, 15, 64), (13, 33, 130), (6, 16, 40), (12, 48, 400)]

    /// y[r, c] = ((acc over k by FMA) [+ y] [+ bias]) then ReLU.
    private func naive(_ x: [Float], _ w: [Float], m: Int, n: Int, k: Int, bias: [Float]?, y0: [Float], flags: Int32)
        -> [Float]
    {
        var y = y0
        for r in 0..<m {
            for c in 0..<n {
                var acc: Float = 0
                for i in 0..<k { acc = fmaf(x[r * k + i], w[c * k + i], acc) }
                var v = acc
                if flags & PK_ACCUMULATE != 0 { v = y0[r * n + c] + v }
                if let bias { v = v + bias[c] }
                if flags & PK_RELU != 0 && !(v > 0) && !v.isNaN { v = 0 }
                y[r * n + c] = v
            }
        }
        return y
    }

    func testProductEqualsTheNaiveFMAChainInEveryVariant() {
        var seed: UInt64 = 21
        for (m, n, k) in shapes {
            let x = TestRandom.floats(m * k, seed: &seed)
            let w = TestRandom.floats(n * k, seed: &seed)
            let bias = TestRandom.floats(n, seed: &seed)
            let y0 = TestRandom.floats(m * n, seed: &seed)
            var packed = [Float](repeating: .nan, count: pk_f32_packed_count(Int32(n), Int32(k)))
            pk_f32_pack(w, Int32(n), Int32(k), 0, &packed)
            // The transposed ([k, n]) source packs to the same panels.
            var wt = [Float](repeating: 0, count: n * k)
            for c in 0..<n { for i in 0..<k { wt[i * n + c] = w[c * k + i] } }
            var packedT = [Float](repeating: .nan, count: packed.count)
            pk_f32_pack(wt, Int32(n), Int32(k), 1, &packedT)
            XCTAssertEqual(packedT, packed, "transposed packing \(n)×\(k)")
            for flags in [0, PK_RELU, PK_ACCUMULATE] {
                for withBias in [false, true] {
                    let expected = naive(x, w, m: m, n: n, k: k, bias: withBias ? bias : nil, y0: y0, flags: flags)
                    for v in variants {
                        var y = y0
                        pk_sgemm_packed(
                            v, x, Int32(m), Int32(k), Int32(k), packed, Int32(n), 0, Int32(n),
                            withBias ? bias : nil, &y, Int32(n), flags)
                        XCTAssertEqual(y, expected, "\(Int8GEMM.name(of: v)) \(m)×\(n)×\(k) flags \(flags) bias \(withBias)")
                    }
                }
            }
        }
    }

    func testColumnRangesAndRowStridesWriteOnlyTheirPart() {
        var seed: UInt64 = 22
        let m = 9, n = 50, k = 23, ldx = 30, ldy = 57
        let x = TestRandom.floats(m * ldx, seed: &seed)
        let w = TestRandom.floats(n * k, seed: &seed)
        var packed = [Float](repeating: 0, count: pk_f32_packed_count(Int32(n), Int32(k)))
        pk_f32_pack(w, Int32(n), Int32(k), 0, &packed)
        var dense = [Float](repeating: 0, count: m * k)
        for r in 0..<m { for i in 0..<k { dense[r * k + i] = x[r * ldx + i] } }
        let expected = naive(dense, w, m: m, n: n, k: k, bias: nil, y0: [Float](repeating: 0, count: m * n), flags: 0)
        for v in variants {
            var y = [Float](repeating: -7, count: m * ldy)
            for (lo, hi) in [(0, 16), (16, 48), (48, 50)] {
                pk_sgemm_packed(v, x, Int32(m), Int32(k), Int32(ldx), packed, Int32(n), Int32(lo), Int32(hi), nil, &y, Int32(ldy), 0)
            }
            for r in 0..<m {
                XCTAssertEqual(Array(y[(r * ldy)..<(r * ldy + n)]), Array(expected[(r * n)..<(r * n + n)]), "row \(r)")
                XCTAssertEqual(Array(y[(r * ldy + n)..<(r * ldy + ldy)]), [Float](repeating: -7, count: ldy - n), "padding \(r)")
            }
        }
    }

    func testReLUKeepsNaNAndZeroesNegativeZero() {
        let x: [Float] = [1, 1, 1]
        let w: [Float] = [.nan, -0.0, -1]  // three output channels, k = 1
        var packed = [Float](repeating: 0, count: pk_f32_packed_count(3, 1))
        pk_f32_pack(w, 3, 1, 0, &packed)
        for v in variants {
            var y = [Float](repeating: 5, count: 3)
            pk_sgemm_packed(v, x, 1, 1, 1, packed, 3, 0, 3, nil, &y, 3, PK_RELU)
            XCTAssertTrue(y[0].isNaN)
            XCTAssertEqual(y[1].bitPattern, Float(0).bitPattern)
            XCTAssertEqual(y[2].bitPattern, Float(0).bitPattern)
        }
    }

    /// The engine's Linear through the packed kernel equals `BLAS.linear` (OpenBLAS, bias in C)
    /// to rounding, for 1–3 threads, and is thread-count independent.
    func testPackedLinearMatchesTheBLASLinear() throws {
        var seed: UInt64 = 23
        let m = 37, n = 70, k = 129
        let x = Tensor(TestRandom.floats(m * k, seed: &seed), shape: [m, k])
        let wf = Tensor(TestRandom.floats(n * k, seed: &seed), shape: [n, k])
        let bias = Tensor(TestRandom.floats(n, seed: &seed), shape: [n])
        let linear = Linear(matrix: .float(wf, transposed: false), bias: bias)
        let packed = PackedLinear(linear)
        let ref = Tensor(zeros: [m, n])
        BLAS.linear(x, wf, bias: bias, into: ref, activation: .relu)
        let saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        var outs: [[Float]] = []
        for threads in [1, 2, 3] {
            BLAS.setThreads(threads)
            let ws = Workspace()
            outs.append(packed(x, activation: .relu, ws).array)
        }
        XCTAssertEqual(outs[0], outs[1])
        XCTAssertEqual(outs[0], outs[2])
        let err = zip(outs[0], ref.array).map { abs($0 - $1) / max(1, abs($1)) }.max()!
        XCTAssertLessThan(err, 1e-5)
    }

    /// The dispatcher's self-check at first use passes for every SIMD variant this CPU runs
    /// (so the automatic choice is the best supported one); a rejected variant would be named
    /// in `--timings`.
    func testEverySupportedVariantPassesTheDispatchSelfCheck() {
        for v in variants where v != PK_VARIANT_PORTABLE {
            XCTAssertEqual(pk_variant_rejected(v), 0, Int8GEMM.name(of: v))
        }
        if ProcessInfo.processInfo.environment["PARAFORMER_KERNELS"] == nil {
            XCTAssertEqual(pk_best_variant(), variants.max()!)
        }
        XCTAssertFalse(Int8GEMM.variantName.contains("self-check"))
    }

    /// Every IEEE half widens to the float Swift's `Float16` gives, with F16C and without (NaNs
    /// stay NaN). `GGUFFile.tensor` widens f16 files through this.
    func testEveryHalfWidensExactlyWithAndWithoutF16C() {
        let halves = (0...UInt16.max).map { $0 }
        for v in [PK_VARIANT_AUTO, PK_VARIANT_PORTABLE] {
            var out = [Float](repeating: 0, count: halves.count)
            pk_f16_to_f32(v, halves, &out, halves.count)
            for (h, f) in zip(halves, out) {
                let expected = Float(Float16(bitPattern: h))
                if expected.isNaN {
                    XCTAssertTrue(f.isNaN, "0x\(String(h, radix: 16))")
                } else {
                    XCTAssertEqual(f.bitPattern, expected.bitPattern, "0x\(String(h, radix: 16)) variant \(v)")
                }
            }
        }
    }

    func testFSMNMemoryEqualsTheNaiveTapSumAcrossTheHistoryBoundary() {
        var seed: UInt64 = 24
        for (channels, lorder, lstride, frames) in [(13, 4, 1, 5), (16, 20, 1, 40), (9, 3, 2, 2), (128, 20, 1, 7), (8, 1, 1, 3)] {
            let past = (lorder - 1) * lstride
            let hist = TestRandom.floats(past * channels, seed: &seed)
            let proj = TestRandom.floats(frames * channels, seed: &seed)
            let taps = TestRandom.floats(lorder * channels, seed: &seed)
            let rows = hist + proj
            var expected = [Float](repeating: 0, count: frames * channels)
            for t in 0..<frames {
                for c in 0..<channels {
                    var m = proj[t * channels + c]
                    for kk in 0..<lorder { m = m + taps[kk * channels + c] * rows[(t + kk * lstride) * channels + c] }
                    expected[t * channels + c] = m
                }
            }
            for v in variants {
                var out = [Float](repeating: .nan, count: frames * channels)
                hist.withUnsafeBufferPointer { h in
                    pk_fsmn_memory(v, h.baseAddress, Int32(past), proj, Int32(frames), Int32(channels), taps, Int32(lorder), Int32(lstride), &out)
                }
                XCTAssertEqual(out, expected, "\(Int8GEMM.name(of: v)) C \(channels) K \(lorder) s \(lstride) T \(frames)")
            }
        }
    }
}
