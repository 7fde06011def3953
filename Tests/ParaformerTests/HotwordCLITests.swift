import Foundation
import XCTest

@testable import Paraformer
import ParaformerCore
import ParaformerModels

/// `paraformer-run --hotword` in file, batch and data-set modes, against FunASR's texts in the
/// hotword fixtures (Tools/gen_hotword_fixtures.py).
final class HotwordCLITests: XCTestCase {
    private func run(_ arguments: [String]) throws -> (Int32, String, String) {
        try CLITests.run(arguments)
    }

    private func expected(_ model: String, _ clip: String, _ c: String) throws -> String {
        let fx = try GGUFFile(path: HotwordParityTests.path("\(model)__expected.gguf"))
        return try XCTUnwrap(fx.metadata["fixture.\(clip).\(c).text"]?.stringValue)
    }

    private var seaco: String { HotwordParityTests.path("seaco-tiny.gguf") }
    private func audio(_ clip: String) -> String { HotwordParityTests.audio(clip).path }

    func testFileModeWithHotwordFileAndString() throws {
        var (status, out, err) = try run(["-m", seaco, "--hotword", HotwordParityTests.path("hotwords_several.txt"), audio("zh_long")])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, "zh_long\t\(try expected("seaco-tiny", "zh_long", "several_file"))\n")
        (status, out, err) = try run(["-m", seaco, "--hotword", "达摩院 hello 魔搭 北京", audio("en")])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, "en\t\(try expected("seaco-tiny", "en", "several_str"))\n")
        // no hotword, and "" (which is not the same for SeACo)
        (status, out, _) = try run(["-m", seaco, audio("zh_long")])
        XCTAssertEqual(out, "zh_long\t\(try expected("seaco-tiny", "zh_long", "none"))\n")
        (status, out, _) = try run(["-m", seaco, "--hotword", "", audio("zh_long")])
        XCTAssertEqual(out, "zh_long\t\(try expected("seaco-tiny", "zh_long", "empty"))\n")
    }

    func testBatchModeAndJSON() throws {
        let clips = ["zh_short", "zh_long", "en"]
        let (status, out, err) = try run(
            ["-m", seaco, "--json", "--batch-size", "3", "--hotword", HotwordParityTests.path("hotwords_many.txt")]
                + clips.map(audio))
        XCTAssertEqual(status, 0, err)
        let fx = try GGUFFile(path: HotwordParityTests.path("seaco-tiny__expected.gguf"))
        let lines = out.split(separator: "\n")
        XCTAssertEqual(lines.count, clips.count)
        for (clip, line) in zip(clips, lines) {
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(obj["text"] as? String, try expected("seaco-tiny", clip, "many"))
            let ts = (obj["timestamp"] as? [[Int]])?.flatMap { $0 }
            XCTAssertEqual(ts, fx.metadata["fixture.\(clip).many.timestamps"]?.arrayValue?.compactMap(\.intValue))
        }
    }

    func testContextualJSONHasTextOnly() throws {
        let (status, out, err) = try run(
            ["-m", HotwordParityTests.path("contextual-tiny.gguf"), "--json", "--hotword", "达摩院", audio("mix")])
        XCTAssertEqual(status, 0, err)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        XCTAssertEqual(obj["text"] as? String, try expected("contextual-tiny", "mix", "one"))
        XCTAssertNil(obj["timestamp"])
    }

    func testDataSetModeWithHotwordFile() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "hot-data-\(UUID().uuidString)")
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let clips = ["en", "mix", "zh_long", "zh_short"]
        let scp = clips.map { "\($0) \(audio($0))" }.joined(separator: "\n") + "\n"
        try scp.write(to: dir.appendingPathComponent("wav.scp"), atomically: true, encoding: .utf8)
        let (status, _, err) = try run(
            ["-m", seaco, "--data-dir", dir.path, "--output-dir", out.path, "--batch-size", "2",
             "--hotword", HotwordParityTests.path("hotwords_several.txt")])
        XCTAssertEqual(status, 0, err)
        let text = try String(contentsOf: out.appendingPathComponent("1best_recog/text"), encoding: .utf8)
        let want = try clips.map { "\($0) \(try expected("seaco-tiny", $0, "several_file"))" }.joined(separator: "\n") + "\n"
        XCTAssertEqual(text, want)
    }

    func testBadHotwordsFailWithTheirName() throws {
        var (status, _, err) = try run(["-m", seaco, "--hotword", "/missing/hot.txt", audio("en")])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(err.contains("/missing/hot.txt"), err)
        // a plain Paraformer has no hotword biasing: refused rather than silently ignored
        (status, _, err) = try run(["-m", ModelFixtures.path("tiny.gguf"), "--hotword", "达摩院", audio("en")])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(err.contains("hotword"), err)
    }
}
