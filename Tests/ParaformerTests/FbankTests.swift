import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

final class FbankTests: XCTestCase {
    func testRealFFTMatchesANaiveDFT() {
        for n in [2, 8, 512] {
            let fft = RealFFT(size: n)
            let x = (0..<n).map { Float(sin(Double($0) * 0.37) + 0.1 * Double($0 % 5)) }
            for i in 0..<n { fft.input[i] = x[i] }
            var power = [Float](repeating: 0, count: n / 2 + 1)
            fft.powerSpectrum(into: &power)
            for k in 0...(n / 2) {
                var re = 0.0, im = 0.0
                for i in 0..<n {
                    re += Double(x[i]) * cos(2 * .pi * Double(i * k) / Double(n))
                    im -= Double(x[i]) * sin(2 * .pi * Double(i * k) / Double(n))
                }
                XCTAssertEqual(Double(power[k]), re * re + im * im, accuracy: 1e-4 * max(1, re * re + im * im))
            }
        }
    }

    func testFrameCountSnipsEdges() {
        let f = FbankComputer()
        XCTAssertEqual(f.windowSize, 400)
        XCTAssertEqual(f.windowShift, 160)
        XCTAssertEqual([0, 399, 400, 559, 560, 16000].map { f.frameCount(sampleCount: $0) }, [0, 0, 1, 1, 2, 98])
        XCTAssertEqual(f.compute([Float](repeating: 0, count: 399)).shape, [0, 80])
    }

    func testSilenceAndConstantsGiveTheLogFloor() {
        let f = FbankComputer()
        for value: Float in [0, 0.25] {  // DC removal turns a constant into silence
            let out = f.compute([Float](repeating: value, count: 1600))
            XCTAssertEqual(out.shape, [8, 80])
            XCTAssertTrue(out.array.allSatisfy { $0 == log(Float.ulpOfOne) })
        }
    }

    /// The mel bank: 80 triangles between 20 Hz and 8 kHz on 1127·ln(1 + f/700).
    func testMelBankCoversTheBandWithTriangles() {
        let f = FbankComputer()
        XCTAssertEqual(f.melStart.count, 80)
        XCTAssertEqual(f.melStart[0], 1)  // bin 0 (0 Hz) lies below 20 Hz
        XCTAssertLessThanOrEqual(f.melStart[79] + f.melOffset[80] - f.melOffset[79], 256)  // Nyquist unused
        XCTAssertTrue(f.melWeights.allSatisfy { $0 > 0 && $0 <= 1 })
    }

    /// One FbankComputer shared by several threads gives every thread the same answer.
    func testSharedAcrossThreads() throws {
        let f = FbankComputer()
        let x = (0..<16000).map { Float(sin(Double($0) * 0.05)) * 0.3 }
        let want = f.compute(x).array
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 8)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            // Different FFT sizes on some threads exercise the plan cache's lock.
            if i % 2 == 1 { _ = RealFFT(size: 1 << (4 + i)) }
            results[i] = f.compute(x).array == want
        }
        XCTAssertTrue(results.allSatisfy { $0 })
    }

    /// Not an assertion (timings vary): prints the cost of 60 s of audio.
    func testSpeedOfOneMinute() {
        let f = FbankComputer()
        let x = (0..<(60 * 16000)).map { Float(sin(Double($0) * 0.01)) * 0.3 }
        // CPU time rather than wall time: the machine may be busy.
        var best = Double.infinity
        for _ in 0..<5 {
            let start = clock()
            _ = f.compute(x)
            best = min(best, Double(clock() - start) / Double(CLOCKS_PER_SEC))
        }
        print("fbank of 60 s: best of 5 \(String(format: "%.1f", best * 1000)) ms CPU")
    }
}
