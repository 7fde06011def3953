import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// `ErrorRateReport` against FunASR's `compute_wer` (fixtures from `Tools/gen_cer_fixture.py`).
final class DataSetErrorRateTests: XCTestCase {
    static func fixture(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/dataset/cer/\(name)", withExtension: nil)!
    }

    func testCountsAHandCheckableExample() {
        // ref 今天天气很好 (6), hyp 今天气很好啊: 天 deleted, 啊 inserted.
        let c = ErrorRateReport.align(
            hypothesis: ["今", "天", "气", "很", "好", "啊"], reference: ["今", "天", "天", "气", "很", "好"])
        XCTAssertEqual(
            c, ErrorCounts(words: 6, correct: 5, insertions: 1, deletions: 1, substitutions: 0, errors: 2))
    }

    func testPrefersSubstitutionOnTies() {
        // "a b" against "b a": two substitutions, not an insertion and a deletion.
        let c = ErrorRateReport.align(hypothesis: ["a", "b"], reference: ["b", "a"])
        XCTAssertEqual(c.substitutions, 2)
        XCTAssertEqual(c.insertions + c.deletions, 0)
    }

    func testCountsEmptyHypothesisAsDeletions() {
        let c = ErrorRateReport.align(hypothesis: [], reference: ["x", "y", "z"])
        XCTAssertEqual(c, ErrorCounts(words: 3, correct: 0, insertions: 0, deletions: 3, substitutions: 0, errors: 3))
    }

    func testRendersTextCerForAHandCheckableExample() {
        let ref = KaldiTextFile(parsing: "u1 今天天气很好\nu2 ABC\nu3 没有假设\n")
        let hyp = KaldiTextFile(parsing: "u1 今天气很好啊\nu2 abd\nu4 多余\n")
        let report = ErrorRateReport(references: ref, hypotheses: hyp, unit: .char)
        XCTAssertEqual(
            report.render(),
            """
            u1(nwords=6,cor=5,ins=1,del=1,sub=0) corr:83.33%,cer:33.33%
            ref:\t今 天 天 气 很 好
            hyp:\t今 天 气 很 好 啊
            u2(nwords=3,cor=2,ins=0,del=0,sub=1) corr:66.67%,cer:33.33%
            ref:\ta b c
            hyp:\ta b d

            %WER 33.33 [ 3 / 9, 1 ins, 1 del, 1 sub ]
            %SER 100.0 [ 2 / 2 ]
            Scored 3 sentences, 1 not present in hyp.

            """)
    }

    func testCharacterCerEqualsFunASRByteForByte() throws {
        let report = try ErrorRateReport(
            referenceFile: Self.fixture("ref.txt"), hypothesisFile: Self.fixture("hyp.txt"), unit: .char)
        let expected = try String(contentsOf: Self.fixture("expected_char.cer"), encoding: .utf8)
        XCTAssertEqual(report.render(), expected)
    }

    func testWordCerEqualsFunASRByteForByte() throws {
        let report = try ErrorRateReport(
            referenceFile: Self.fixture("ref.txt"), hypothesisFile: Self.fixture("hyp.txt"), unit: .word)
        let expected = try String(contentsOf: Self.fixture("expected_word.cer"), encoding: .utf8)
        XCTAssertEqual(report.render(), expected)
    }

    func testRoundsTotalsLikeNumpyAndSentencesLikePython() {
        // numpy rounds 2.675 (stored as 2.67499999...) up; Python's round() gives 2.67.
        XCTAssertEqual(ErrorRateReport.numpyRound2(2.675), "2.68")
        XCTAssertEqual(ErrorRateReport.pythonRound2(2.675), "2.67")
        XCTAssertEqual(ErrorRateReport.numpyRound2(100), "100.0")
        XCTAssertEqual(ErrorRateReport.pythonRound2(1.0 / 3 * 100), "33.33")
    }
}
