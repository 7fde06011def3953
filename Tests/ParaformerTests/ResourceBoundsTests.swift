import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// Sizes that would need more memory than a stated limit are refused up front with a named
/// error, or split, never left to the allocator (issue #16).
final class ResourceBoundsTests: XCTestCase {
    private func clip(_ name: String) throws -> AudioBuffer {
        try AudioDecoder.load(contentsOf: URL(fileURLWithPath: ModelFixtures.path("audio/\(name).wav")))
    }

    func testAbsurdOptionsAreRefusedUpFront() throws {
        let model = URL(fileURLWithPath: ModelFixtures.path("tiny.gguf"))
        for options in [
            RecognizerOptions(batchSize: 0), RecognizerOptions(batchSize: 1_000_000),
            RecognizerOptions(maxDuration: .infinity), RecognizerOptions(maxDuration: -1),
            RecognizerOptions(threads: 0), RecognizerOptions(threads: 100_000),
        ] {
            XCTAssertThrowsError(try Recognizer(model: model, options: options), "\(options)") {
                guard case .invalidOption = $0 as? ParaformerError else { return XCTFail("\($0)") }
            }
        }
        let online = try Recognizer(model: URL(fileURLWithPath: ModelFixtures.path("tiny-online.gguf")))
        for chunk in [[0, 1_000_000, 5], [0, Int.max, 5], [Int.max, 10, Int.max], [0, 0, 0], [0, 10, -1], [0, 10]] {
            XCTAssertThrowsError(try online.makeStream(options: StreamingOptions(chunkSize: chunk)), "\(chunk)") {
                XCTAssertEqual($0 as? ParaformerError, .invalidChunkSize(chunk))
            }
        }
        XCTAssertThrowsError(try online.makeStream(options: StreamingOptions(encoderChunkLookBack: Int.max)))
        let vad = try VoiceActivityDetector(modelPath: VADFixtures.path("vad-speech.gguf"))
        for options in [VADOptions(chunkSizeMs: Int.max), VADOptions(chunkSizeMs: 0), VADOptions(maxEndSilenceTime: Int.max)] {
            XCTAssertThrowsError(try vad.makeStream(options: options), "\(options)")
            XCTAssertThrowsError(try vad.detect(samples: [0, 0], sampleRate: 16000, options: options), "\(options)")
        }
    }

    func testABatchHoldsAtMostMaxDurationOfPaddedAudio() throws {
        let model = URL(fileURLWithPath: ModelFixtures.path("tiny.gguf"))
        // Clips of 1.58, 2.86, 3.59 and 2.77 s; 6 s of padded audio per pass at most.
        let inputs = try ["zh_short", "en", "zh_long", "mix"].map(clip)
        let bounded = try Recognizer(model: model, options: RecognizerOptions(threads: 1, batchSize: 4, maxDuration: 6))
        XCTAssertEqual(bounded.batchRanges(inputs), [0..<2, 2..<3, 3..<4])  // 2 × 2.86; 3.59; 2.77
        let roomy = try Recognizer(model: model, options: RecognizerOptions(threads: 1, batchSize: 4))
        XCTAssertEqual(roomy.batchRanges(inputs), [0..<4])
        let pairs = try Recognizer(model: model, options: RecognizerOptions(threads: 1, batchSize: 2))
        XCTAssertEqual(pairs.batchRanges(inputs), [0..<2, 2..<4])
        // An utterance longer than the bound alone is a batch of its own (and refused), the
        // others still go in groups.
        let tight = try Recognizer(model: model, options: RecognizerOptions(threads: 1, batchSize: 4, maxDuration: 3))
        XCTAssertEqual(tight.batchRanges(inputs), [0..<1, 1..<2, 2..<3, 3..<4])
        XCTAssertEqual(tight.batchRanges([inputs[0], inputs[0], inputs[2], inputs[0]]), [0..<1, 1..<2, 2..<3, 3..<4])
        XCTAssertEqual(bounded.batchRanges([]), [])

        // The grouping changes nothing in the results.
        let one = try inputs.map { try roomy.transcribe(.samples($0.samples, sampleRate: $0.sampleRate)) }
        for recognizer in [bounded, roomy, pairs] {
            let batched = try recognizer.transcribe(batch: inputs)
            XCTAssertEqual(batched.map(\.tokenIds), one.map(\.tokenIds))
            XCTAssertEqual(batched.map(\.text), one.map(\.text))
        }
    }
}
