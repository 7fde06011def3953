import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// Exact code points: `String ==` would accept canonically equivalent strings.
private func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

final class TextPostprocessorTests: XCTestCase {
    func testTextWithoutTimestampsMatchesFunASR() {
        for (i, c) in TextFixture.shared.text_cases.enumerated() {
            let (text, words) = TextPostprocessor.postprocess(tokens: c.tokens)
            XCTAssertEqual(scalars(text), scalars(c.text), "case \(i) \(c.tokens)")
            XCTAssertEqual(words.map(scalars), c.words.map(scalars), "case \(i) \(c.tokens)")
            XCTAssertEqual(TextPostprocessor.text(from: c.tokens), c.text)
        }
    }

    func testTextWithTimestampsMatchesFunASR() {
        for (i, c) in TextFixture.shared.text_cases.enumerated() {
            let result = TextPostprocessor.postprocess(
                tokens: c.tokens, timestamps: TextFixture.spans(c.timestamps_in))
            guard c.ts_raises != true else { continue }  // FunASR raised: only must not trap
            XCTAssertEqual(scalars(result.text), scalars(c.ts_text ?? ""), "case \(i) \(c.tokens)")
            XCTAssertEqual(
                result.words.map(scalars), (c.ts_words ?? []).map(scalars), "case \(i) \(c.tokens)")
            XCTAssertEqual(
                result.timestamps, TextFixture.spans(c.ts_timestamps ?? []),
                "case \(i) \(c.tokens)")
        }
    }

    func testTimestampModeJoinsWordsWithSpaces() {
        let tokens = ["你", "好", "com@@", "pu@@", "ter", "a", "b", "c"]
        let stamps = (0..<8).map { TimestampSpan(startMs: $0 * 100, endMs: $0 * 100 + 100) }
        XCTAssertEqual(TextPostprocessor.text(from: tokens), "你好computer ABC")
        let result = TextPostprocessor.postprocess(tokens: tokens, timestamps: stamps)
        XCTAssertEqual(result.text, "你 好 computer ABC")
        XCTAssertEqual(result.words, ["你", "好", "computer", "ABC"])
        XCTAssertEqual(
            result.timestamps,
            [(0, 100), (100, 200), (200, 500), (500, 800)].map {
                TimestampSpan(startMs: $0.0, endMs: $0.1)
            })
    }

    func testCommaBeforeChineseAfterEnglishWordIsDroppedLikeFunASR() {
        XCTAssertEqual(TextPostprocessor.text(from: ["hello", ",", "你"]), "hello 你")
    }

    func testComparesCodePointsNotCharacters() {
        // "e" + U+0301 is one Character but two code points; U+0301 is not a letter.
        let text = TextPostprocessor.text(from: ["e\u{301}", "a"])
        XCTAssertEqual(Array(text.unicodeScalars), ["e", "\u{301}", "a"])
    }
}
