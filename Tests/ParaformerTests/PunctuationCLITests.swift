import Foundation
import XCTest

/// `paraformer-run --model PUNC.gguf --text ...` and lines on standard input.
final class PunctuationCLITests: XCTestCase {
    private func run(_ arguments: [String], stdin: String? = nil) throws -> (Int32, String, String) {
        try CLITests.run(arguments, stdin: stdin.map { Data($0.utf8) })
    }

    private func expected(_ model: String, _ name: String) throws -> PunctuationParityTests.Case {
        let cases = try XCTUnwrap(PunctuationParityTests.expected[model]?.cases)
        return try XCTUnwrap(cases.first { $0.name == name })
    }

    func testTextPrintsFunASRsPunctuatedText() throws {
        let c = try expected("punc", "recipe")
        let (status, out, _) = try run(["--model", PunctuationParityTests.url("punc.gguf").path, "--text", c.input])
        XCTAssertEqual(status, 0)
        XCTAssertEqual(out, c.text + "\n")
    }

    func testStandardInputLineByLine() throws {
        let names = ["zh_long", "en_long", "mix_long", "empty", "oov"]
        let cases = try names.map { try expected("punc", $0) }
        let (status, out, _) = try run(
            ["-m", PunctuationParityTests.url("punc.gguf").path],
            stdin: cases.map(\.input).joined(separator: "\n") + "\n")
        XCTAssertEqual(status, 0)
        XCTAssertEqual(out, cases.map { $0.text + "\n" }.joined())
    }

    func testStreamingModelCarriesContextAcrossLines() throws {
        let calls = try XCTUnwrap(PunctuationParityTests.expected["punc-online"]?.calls)
        let (status, out, _) = try run(
            ["-m", PunctuationParityTests.url("punc-online.gguf").path, "--json"],
            stdin: calls.map(\.input).joined(separator: "\n") + "\n")
        XCTAssertEqual(status, 0)
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, calls.count)
        for (line, call) in zip(lines, calls) {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(object["text"] as? String, call.text)
            XCTAssertEqual(object["punc_array"] as? [Int], call.punc_array)
        }
    }

    func testBadSplitSizeAndMissingModel() throws {
        let (s1, _, e1) = try run(["-m", PunctuationParityTests.url("punc.gguf").path, "--text", "x", "--split-size", "1"])
        XCTAssertNotEqual(s1, 0)
        XCTAssertTrue(e1.contains("--split-size"))
        let (s2, _, e2) = try run(["-m", "/nonexistent/punc.gguf", "--text", "x"])
        XCTAssertEqual(s2, 2)
        XCTAssertTrue(e2.contains("Cannot open"))
        let (s3, _, e3) = try run(["--text", "x"])
        XCTAssertEqual(s3, 2)
        XCTAssertTrue(e3.contains("--model"))
        let (s4, _, e4) = try run(["-m", ModelFixtures.path("tiny.gguf"), "--text", "x"])
        XCTAssertEqual(s4, 2)
        XCTAssertTrue(e4.contains("not a punctuation model"))
        // An audio file given to a punctuation model is reported, not silently ignored.
        let (s5, o5, e5) = try run(["-m", PunctuationParityTests.url("punc.gguf").path, "a.wav"], stdin: "")
        XCTAssertEqual(s5, 2)
        XCTAssertEqual(o5, "")
        XCTAssertTrue(e5.contains("takes text"), e5)
    }
}
