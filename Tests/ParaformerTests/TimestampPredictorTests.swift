import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

final class TimestampPredictorTests: XCTestCase {
    private func cases(_ kind: String) -> [TextFixture.TimestampCase] {
        TextFixture.shared.timestamp_cases.filter { $0.kind == kind }
    }

    func testCIFFiresMatchCIFv1() {
        for c in cases("paraformer") + cases("intended") {
            let alphas = TextFixture.floats(c.alphas)
            let fires = TimestampPredictor.cifFires(alphas: alphas)
            XCTAssertEqual(
                fires.map(\.bitPattern), TextFixture.floats(c.fires).map(\.bitPattern), c.name)
        }
    }

    func testParaformerTimestampsMatchFunASR1416() {
        let all = cases("paraformer")
        XCTAssertTrue(all.contains { $0.fallback } && all.contains { !$0.fallback })
        for c in all {
            let spans = TimestampPredictor.paraformerTimestamps(
                alphas: TextFixture.floats(c.alphas), tokens: c.tokens,
                vadOffsetMs: c.vad_offset_ms)
            XCTAssertEqual(spans, TextFixture.spans(c.expected), c.name)
        }
    }

    func testIntendedArgumentOrderMatchesFunASRHelper() {
        for c in cases("intended") {
            let spans = TimestampPredictor.paraformerTimestamps(
                alphas: TextFixture.floats(c.alphas), tokens: c.tokens,
                vadOffsetMs: c.vad_offset_ms, order: .intended)
            XCTAssertEqual(spans, TextFixture.spans(c.expected), c.name)
        }
    }

    func testArbitraryWeightsAndPeaksMatchFunASR() {
        for c in cases("core") {
            let spans = TimestampPredictor.timestamps(
                weights: TextFixture.floats(c.weights), peaks: TextFixture.floats(c.peaks),
                tokens: c.tokens, vadOffsetMs: c.vad_offset_ms,
                forceTimeShift: c.force_time_shift, upsampleRate: c.upsample_rate)
            XCTAssertEqual(spans, TextFixture.spans(c.expected), c.name)
        }
    }

    func testSplitsLongTokensAndTrailingSilence() {
        // Boundaries at frames 2, 4 and 30 of 40: token 2 is cut 12 frames after its start,
        // and the last token ends midway to the end.
        var peaks = [Float](repeating: 0, count: 40)
        for k in [2, 4, 30] { peaks[k] = 1 }
        let spans = TimestampPredictor.timestamps(weights: peaks, peaks: peaks, tokens: ["a", "b"])
        XCTAssertEqual(
            spans,
            [TimestampSpan(startMs: 30, endMs: 150), TimestampSpan(startMs: 150, endMs: 870)])
    }

    func testAllZeroWeightsGiveNoTimestamps() {
        let zeros = [Float](repeating: 0, count: 10)
        XCTAssertEqual(
            TimestampPredictor.timestamps(weights: zeros, peaks: zeros, tokens: ["a"]), [])
    }
}
