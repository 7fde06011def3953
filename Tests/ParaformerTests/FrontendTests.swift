import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

final class FrontendTests: XCTestCase {
    private func frontend() throws -> OfflineFrontend {
        try OfflineFrontend(cmvnShift: (0..<560).map { -Float($0 % 80) / 10 },
                            cmvnScale: (0..<560).map { 1 + Float($0 % 7) / 10 })
    }

    private func noise(_ count: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<count).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 20000) / 40000
        }
    }

    func testLFRPadsFirstAndLastFrames() {
        // fbank row t holds the value t in each of its 2 columns.
        for t in 1...20 {
            let fbank = Tensor((0..<t).flatMap { [Float($0), Float($0)] }, shape: [t, 2])
            let out = LFR(m: 7, n: 6)(fbank)
            XCTAssertEqual(out.shape, [(t + 5) / 6, 14])
            for i in 0..<out.rows {
                for j in 0..<7 {
                    XCTAssertEqual(out[i, 2 * j], Float(min(max(6 * i + j - 3, 0), t - 1)))
                }
            }
        }
    }

    func testCMVNShiftsThenScales() throws {
        let x = Tensor([1, 2, 3, 4], shape: [2, 2])
        try CMVN(shift: [1, -1], scale: [2, 0.5]).apply(to: x)
        XCTAssertEqual(x.array, [4, 0.5, 8, 1.5])
        XCTAssertThrowsError(try CMVN(shift: [1], scale: [1, 2]))
        XCTAssertThrowsError(try OfflineFrontend(cmvnShift: [Float](repeating: 0, count: 80),
                                                 cmvnScale: [Float](repeating: 1, count: 80)))
    }

    func testShortClipsFollowFunASR() throws {
        let fe = try frontend()
        XCTAssertEqual(try fe.features(samples: [0.1]).shape, [0, 560])
        for n in [2, 3, 100, 257, 399, 400] {
            XCTAssertEqual(try fe.features(samples: noise(n, seed: UInt64(n))).shape, [1, 560], "\(n)")
        }
        XCTAssertEqual(try fe.features(samples: noise(560, seed: 5)).shape, [1, 560])  // 2 fbank frames
        XCTAssertEqual(try fe.features(samples: noise(1360, seed: 5)).shape, [2, 560])  // 7 fbank frames
    }

    func testBadSamplesAreRejected() throws {
        let fe = try frontend()
        XCTAssertThrowsError(try fe.features(samples: [])) {
            XCTAssertEqual($0 as? ParaformerError, .emptyAudio(source: "samples"))
        }
        XCTAssertThrowsError(try fe.features(samples: [0, .nan])) {
            guard case .invalidAudio? = $0 as? ParaformerError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try fe.waveform(samples: [0.1], sampleRate: 0)) {
            XCTAssertEqual($0 as? ParaformerError, .unsupportedSampleRate(0))
        }
        let online = OnlineFrontend(frontend: fe)
        XCTAssertThrowsError(try online.accept(samples: [.infinity], isFinal: false))
    }

    /// Any chunking gives the offline features; each call returns only complete LFR frames.
    func testOnlineEqualsOfflineForAnyChunking() throws {
        let fe = try frontend()
        let online = OnlineFrontend(frontend: fe)
        var s: UInt64 = 7
        for trial in 0..<30 {
            let total = 400 + trial * 701
            let x = noise(total, seed: UInt64(trial))
            let want = try fe.features(samples: x)
            online.reset()
            var got: [Float] = []
            var pos = 0
            while pos < total {
                s = s &* 6364136223846793005 &+ 1442695040888963407
                let n = min(total - pos, Int(s >> 33) % 3000)
                let out = try online.accept(samples: Array(x[pos..<(pos + n)]), isFinal: false)
                got += out.array
                pos += n
            }
            got += try online.accept(samples: [], isFinal: true).array
            XCTAssertEqual(got.count, want.count, "trial \(trial)")
            XCTAssertEqual(got, want.array, "trial \(trial)")
        }
    }

    func test600msChunksGiveTenFramesEach() throws {
        let online = OnlineFrontend(frontend: try frontend())
        let x = noise(9600 * 4, seed: 3)
        for c in 0..<4 {
            let out = try online.accept(samples: Array(x[(c * 9600)..<((c + 1) * 9600)]), isFinal: false)
            XCTAssertEqual(out.rows, 10, "chunk \(c)")
        }
    }

    func testStreamMustBeResetAfterFinal() throws {
        let online = OnlineFrontend(frontend: try frontend())
        XCTAssertEqual(try online.accept(samples: noise(300, seed: 1), isFinal: true).rows, 0)
        XCTAssertThrowsError(try online.accept(samples: [0], isFinal: false)) {
            XCTAssertEqual($0 as? ParaformerError, .streamFinished)
        }
        online.reset()
        XCTAssertEqual(try online.accept(samples: noise(1000, seed: 1), isFinal: true).rows, 1)
    }
}
