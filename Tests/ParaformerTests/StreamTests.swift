import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// Behaviour of `Stream` beyond FunASR parity: slicing, concurrency, options, lifecycle.
final class StreamTests: XCTestCase {
    private struct Run: Equatable {
        var ids: [Int]
        var text: String
        var encoder: [[Float]]
        var chunks: Int
    }

    /// Feeds `audio` in pieces of `slice` samples (0: all at once) and finishes.
    private func run(_ c: StreamFixtures.Case, slice: Int) throws -> Run {
        let stream = try StreamFixtures.recognizer(c.model).makeStream(options: c.options)
        stream.keepIntermediates = true
        let audio = StreamFixtures.audio(c.audio)
        var partialIds: [Int] = []
        var chunks = 0
        if slice == 0 {
            let p = try stream.accept(samples: audio)
            partialIds += p.tokenIds
            chunks += p.chunks
        } else {
            var start = 0
            while start < audio.count {
                let p = try stream.accept(samples: Array(audio[start..<min(start + slice, audio.count)]))
                partialIds += p.tokenIds
                chunks += p.chunks
                start += slice
            }
        }
        let (last, result) = try stream.finishPartial()
        partialIds += last.tokenIds
        XCTAssertEqual(partialIds, result.tokenIds, "partials add up to the final result")
        XCTAssertEqual(chunks + 1, stream.chunkCount)
        return Run(
            ids: result.tokenIds, text: result.text,
            encoder: stream.chunkOutputs.map { $0.encoderOut! }, chunks: stream.chunkCount)
    }

    func testSliceSizesGiveIdenticalResults() throws {
        for name in ["tiny_10_lb4_1_mid", "small_8_lb4_1_tail"] {
            let c = StreamFixtures.cases.first { $0.name == name }!
            let whole = try run(c, slice: 0)
            XCTAssertEqual(whole.ids, c.fake_token_ids, name)
            for slice in [1, 1600, 16000, 9599] {
                XCTAssertEqual(try run(c, slice: slice), whole, "\(name), slices of \(slice)")
            }
        }
    }

    func testStreamsShareOneRecognizerConcurrently() throws {
        let c = StreamFixtures.cases.first { $0.name == "small_10_lb4_1_mid" }!
        let expected = try run(c, slice: 0)
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<Run?>.allocate(capacity: 4)
        nonisolated(unsafe) let test = self
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            results[i] = try? test.run(c, slice: [1600, 4800, 16000, 0][i])
        }
        for r in results { XCTAssertEqual(r, expected) }
    }

    func testResetStartsOver() throws {
        let c = StreamFixtures.cases.first { $0.name == "tiny_8_lb4_1_mid" }!
        let stream = try StreamFixtures.recognizer(c.model).makeStream(options: c.options)
        let audio = StreamFixtures.audio(c.audio)
        _ = try stream.accept(samples: audio)
        let first = try stream.finish()
        XCTAssertThrowsError(try stream.accept(samples: [Float(0)])) {
            XCTAssertEqual($0 as? ParaformerError, .streamFinished)
        }
        XCTAssertThrowsError(try stream.finish())
        stream.reset()
        _ = try stream.accept(samples: Array(audio[..<12345]))
        stream.reset()  // mid-utterance
        _ = try stream.accept(samples: audio)
        let again = try stream.finish()
        XCTAssertEqual(again.tokens, first.tokens)
        XCTAssertEqual(again.text, first.text)
        XCTAssertEqual(again.duration, first.duration)
        XCTAssertEqual(first.text, c.fake_text)
    }

    func testPartialResultsAreIncremental() throws {
        let c = StreamFixtures.cases.first { $0.name == "small_10_lb4_1_mid" }!
        let stream = try StreamFixtures.recognizer(c.model).makeStream(options: c.options)
        let audio = StreamFixtures.audio(c.audio)
        var ids: [Int] = []
        let p0 = try stream.accept(samples: Array(audio[..<9599]))
        XCTAssertEqual(p0.chunks, 0)
        XCTAssertEqual(p0.tokens, [])
        let p1 = try stream.accept(samples: [audio[9599]])
        XCTAssertEqual(p1.chunks, 1)
        ids += p1.tokenIds
        let p2 = try stream.accept(samples: Array(audio[9600..<(9600 * 3)]))
        XCTAssertEqual(p2.chunks, 2)
        ids += p2.tokenIds
        XCTAssertEqual(p2.textSoFar, TextPostprocessor.text(from: stream.tokens.map(\.text)))
        XCTAssertEqual(ids, stream.tokens.map(\.id))
        XCTAssertEqual(Array(c.strides[0..<3].flatMap(\.token_ids)), ids)
        for t in stream.tokens { XCTAssertLessThanOrEqual(t.startMs, t.endMs) }
    }

    func testRejectsInvalidOptions() throws {
        let recognizer = try StreamFixtures.recognizer("tiny-online")
        for bad in [[0, 0, 5], [0, 10], [-1, 10, 5], [0, 10, 0], [0, 10, 5, 1], [0, 1001, 5]] {
            XCTAssertThrowsError(try recognizer.makeStream(options: StreamingOptions(chunkSize: bad))) {
                XCTAssertEqual($0 as? ParaformerError, .invalidChunkSize(bad))
            }
        }
        XCTAssertThrowsError(try recognizer.makeStream(options: StreamingOptions(encoderChunkLookBack: -2)))
        XCTAssertThrowsError(try recognizer.makeStream(options: StreamingOptions(decoderChunkLookBack: 5000)))
        XCTAssertNoThrow(try recognizer.makeStream(options: StreamingOptions(chunkSize: [5, 10, 0])))
        let stream = try recognizer.makeStream()
        XCTAssertEqual(stream.chunkSamples, 9600)
        XCTAssertThrowsError(try stream.accept(samples: [0, .nan]))
    }

    func testShortAndEmptyStreamsFinish() throws {
        let recognizer = try StreamFixtures.recognizer("tiny-online")
        for count in [0, 1, 500, 959, 960, 5000] {
            let stream = try recognizer.makeStream()
            _ = try stream.accept(samples: [Float](repeating: 0.01, count: count))
            let r = try stream.finish()
            XCTAssertEqual(r.duration, Double(count) / 16000)
            XCTAssertEqual(stream.chunkCount, 1)
        }
    }

    /// The split products of the streaming window equal one product (forced on any BLAS).
    func testWindowLinearMatchesOneProduct() {
        var seed: UInt64 = 7
        func random(_ shape: Shape) -> Tensor {
            let t = Tensor(zeros: shape)
            for i in 0..<t.count {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                t[i] = Float(Int(seed >> 40) % 2001 - 1000) / 1000
            }
            return t
        }
        for (m, k, n) in [(15, 512, 2048), (15, 2048, 512), (3, 512, 8404), (2, 2048, 512), (15, 100, 1000)] {
            let x = random([m, k])
            let w = random([n, k])
            let b = random([n])
            for accumulate in [false, true] {
                for bias in [b, nil] as [Tensor?] {
                    let start = random([m, n])
                    let one = Tensor(start.array, shape: [m, n])
                    let split = Tensor(start.array, shape: [m, n])
                    BLAS.linear(x, w, bias: bias, into: one, accumulate: accumulate)
                    WindowLinear.apply(weight: w, bias: bias, x, into: split, accumulate: accumulate, split: true, Workspace())
                    XCTAssertLessThanOrEqual(
                        StreamFixtures.relativeError(split.array, one.array), 1e-5, "\(m)×\(k)×\(n)")
                }
            }
        }
    }
}
