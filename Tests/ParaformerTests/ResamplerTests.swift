import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

final class ResamplerTests: XCTestCase {
    /// torchaudio's kernel and convolution written out in full (every tap, no trimming).
    private func naiveResample(_ x: [Float], from inRate: Int, to outRate: Int) -> [Float] {
        var a = inRate, b = outRate
        while b != 0 { (a, b) = (b, a % b) }
        let o = inRate / a, n = outRate / a
        let base = Double(min(o, n)) * 0.99
        let w = Int((6 * Double(o) / base).rounded(.up))
        var kernel = [[Float]](repeating: [], count: n)
        for k in 0..<n {
            for m in 0..<(2 * w + o) {
                var t = (Double(Float(-k) / Float(n)) + Double(m - w) / Double(o)) * base
                t = min(max(t, -6), 6)
                let win = pow(cos(t * .pi / 6 / 2), 2)
                t *= .pi
                kernel[k].append(Float((t == 0 ? 1 : sin(t) / t) * (win * base / Double(o))))
            }
        }
        let padded = [Float](repeating: 0, count: w) + x + [Float](repeating: 0, count: w + o)
        let frames = (padded.count - (2 * w + o)) / o + 1
        var y: [Float] = []
        for i in 0..<frames {
            for k in 0..<n {
                var acc: Float = 0
                for m in 0..<(2 * w + o) { acc += padded[i * o + m] * kernel[k][m] }
                y.append(acc)
            }
        }
        return Array(y.prefix((n * x.count + o - 1) / o))
    }

    private func noise(_ count: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<count).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 20000) / 20000 - 0.5
        }
    }

    func testMatchesTheFullTorchaudioKernel() throws {
        for (from, to) in [(8000, 16000), (48000, 16000), (22050, 16000), (16000, 44100), (1000, 1500)] {
            let x = noise(777, seed: UInt64(from + to))
            let got = try Resampler(from: from, to: to)(x)
            let want = naiveResample(x, from: from, to: to)
            XCTAssertEqual(got.count, want.count)
            let d = zip(got, want).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(d, 1e-6, "\(from) → \(to)")
        }
    }

    func testOutputLengthIsCeilOfScaledLength() throws {
        let r = try Resampler(from: 44100, to: 16000)
        for n in [1, 2, 440, 441, 442, 44100, 12345] {
            XCTAssertEqual(r([Float](repeating: 0.1, count: n)).count, (n * 160 + 440) / 441)
        }
    }

    func testSameRateIsIdentity() throws {
        let x = noise(100, seed: 1)
        XCTAssertEqual(try Resampler(from: 16000, to: 16000)(x), x)
    }

    /// Coprime rates keep only the non-zero taps, so the kernel stays small and fast.
    func testCoprimeRatesPreserveATone() throws {
        let r = try Resampler(from: 44101, to: 16000)
        XCTAssertLessThan(r.taps.count, 100 * 44101)
        let x = (0..<44101).map { Float(sin(2 * Double.pi * 440 * Double($0) / 44101)) }
        let y = r(x)
        XCTAssertEqual(y.count, 16000)
        for i in stride(from: 1000, to: 15000, by: 997) {
            XCTAssertEqual(y[i], Float(sin(2 * Double.pi * 440 * Double(i) / 16000)), accuracy: 2e-3)
        }
    }

    func testRejectsAbsurdRates() {
        for rate in [0, -16000, 999, 384_001] {
            XCTAssertThrowsError(try Resampler(from: rate, to: 16000)) {
                XCTAssertEqual($0 as? ParaformerError, .unsupportedSampleRate(rate))
            }
        }
    }
}
