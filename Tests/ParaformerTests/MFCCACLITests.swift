import Foundation
import XCTest

@testable import ParaformerCore

/// `paraformer-run` with an MFCCA model: FunASR 0.8.8's text per multi-channel file, the
/// search overrides, data-set mode.
final class MFCCACLITests: XCTestCase {
    private func run(_ arguments: [String]) throws -> (Int32, String, String) {
        try CLITests.run(arguments)
    }

    private func expected(_ clip: String, _ key: String) throws -> String {
        let fx = try GGUFFile(path: MFCCAParityTests.path("\(MFCCAParityTests.model)__\(clip).gguf"))
        return fx.metadata[key]?.stringValue ?? "?"
    }

    private var model: String { MFCCAParityTests.path("\(MFCCAParityTests.model).gguf") }
    private func audio(_ clip: String) -> String { MFCCAParityTests.path("audio/\(clip).wav") }

    func testJSONKeyAndTextPerFile() throws {
        let (status, out, err) = try run(["--model", model, "--json", audio("ch8"), audio("ch1")])
        XCTAssertEqual(status, 0, err)
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2)
        for (line, clip) in zip(lines, ["ch8", "ch1"]) {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            XCTAssertEqual(obj?["key"], clip)
            XCTAssertEqual(obj?["text"], try expected(clip, "expected.text"))
            XCTAssertEqual(obj?.count, 2, line)
        }
    }

    func testBeamSizeAndCTCWeightOverrideTheFile() throws {
        let (status, out, err) = try run(["--model", model, "--beam-size", "4", "--ctc-weight", "0.3", audio("ch2")])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, "ch2\t\(try expected("ch2", "expected.override.text"))\n")
        let (bad, _, message) = try run(["--model", model, "--ctc-weight", "1.5", audio("ch2")])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(message.contains("--ctc-weight"), message)
        let (other, _, otherMessage) = try run(["--model", ModelFixtures.path("tiny.gguf"), "--beam-size", "4", audio("ch2")])
        XCTAssertNotEqual(other, 0)
        XCTAssertTrue(otherMessage.contains("MFCCA"), otherMessage)
    }

    func testDataSetModeWritesFunASRTexts() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "mfcca-data-\(UUID().uuidString)")
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let clips = ["ch4", "ch6"]
        try clips.map { "\($0) \(audio($0))" }.joined(separator: "\n")
            .write(to: dir.appendingPathComponent("wav.scp"), atomically: true, encoding: .utf8)
        let (status, _, err) = try run(["-m", model, "--data-dir", dir.path, "--output-dir", out.path])
        XCTAssertEqual(status, 0, err)
        let text = try String(contentsOf: out.appendingPathComponent("1best_recog/text"), encoding: .utf8)
        let want = try clips.map { "\($0) \(try expected($0, "expected.text"))" }.joined(separator: "\n") + "\n"
        XCTAssertEqual(text, want)
    }
}
