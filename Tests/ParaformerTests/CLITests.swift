import Foundation
import XCTest

/// `paraformer-run` end to end: output formats, exit codes, error messages, streaming stdin.
final class CLITests: XCTestCase {
    static var binary: URL {
        // The test bundle sits next to the products in the build folder (Linux reports that
        // folder as the bundle URL, macOS the .xctest bundle inside it).
        let bundle = Bundle(for: CLITests.self).bundleURL
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("paraformer-run")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return bundle.appendingPathComponent("paraformer-run")
    }

    static func fixture(_ name: String) -> String {
        ModelFixtures.path(name)
    }

    /// Runs the CLI; returns (exit status, stdout, stderr). Every CLI test file runs it so.
    static func run(
        _ arguments: [String], stdin: Data? = nil, in folder: URL? = nil, environment: [String: String] = [:]
    ) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        if let folder { p.currentDirectoryURL = folder }
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    private func run(
        _ arguments: [String], stdin: Data? = nil, in folder: URL? = nil, environment: [String: String] = [:]
    ) throws -> (Int32, String, String) {
        try Self.run(arguments, stdin: stdin, in: folder, environment: environment)
    }

    func testPrintsNameTabTextPerFile() throws {
        let audio = Self.fixture("audio/zh_short.wav")
        let (status, out, _) = try run(["--model", Self.fixture("tiny.gguf"), audio, audio])
        XCTAssertEqual(status, 0)
        let lines = out.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines[0], "zh_short\t我monday有c人")  // FunASR's text (fixture tiny__zh_short)
    }

    func testJSONHasFunASRResultShape() throws {
        let (status, out, _) = try run(["--json", "-m", Self.fixture("tiny.gguf"), Self.fixture("audio/zh_short.wav")])
        XCTAssertEqual(status, 0)
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        XCTAssertEqual(obj["key"] as? String, "zh_short")
        XCTAssertEqual(obj["text"] as? String, "我 monday 有 c 人")
        XCTAssertEqual((obj["timestamp"] as? [[Int]])?.count, 5)
        XCTAssertEqual((obj["tokens"] as? [[String: Any]])?.count, 5)
    }

    func testBadInputsFailWithClearMessagesAndExitStatus() throws {
        let tmp = NSTemporaryDirectory() + "cli-\(UUID().uuidString).wav"
        try Data("not audio at all".utf8).write(to: URL(fileURLWithPath: tmp))
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        // One bad file: reported, the good one still transcribed, exit 1.
        var (status, out, err) = try run(["-m", Self.fixture("tiny.gguf"), tmp, Self.fixture("audio/en.wav")])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(out.hasPrefix("en\t"))
        XCTAssertTrue(err.contains(tmp), err)
        // A file too long for one piece fails alone inside its batch; the others are decoded.
        (status, out, err) = try run([
            "-m", Self.fixture("tiny.gguf"), "--batch-size", "2", "--max-duration", "2",
            Self.fixture("audio/zh_long.wav"), Self.fixture("audio/zh_short.wav"),
        ])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(out, "zh_short\t我monday有c人\n")
        XCTAssertTrue(err.contains("zh_long.wav"), err)
        // A model that is not a model: exit 2, one sentence.
        (status, _, err) = try run(["-m", tmp, Self.fixture("audio/en.wav")])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(err.contains("not a valid Paraformer GGUF model"), err)
        // Absurd options are rejected before anything runs.
        (status, _, err) = try run(["-m", Self.fixture("tiny.gguf"), "--threads", "0", Self.fixture("audio/en.wav")])
        XCTAssertNotEqual(status, 0)
        (status, _, err) = try run(["--streaming", "--chunk-size", "0,0,5", "-m", Self.fixture("tiny-online.gguf"), Self.fixture("audio/en.wav")])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(err.contains("Chunk size [0, 0, 5] is invalid"), err)
    }

    func testStreamingFromStandardInputEqualsStreamingTheFile() throws {
        let model = Self.fixture("small-online.gguf")
        let wav = Self.fixture("audio/stream_a.wav")
        let (s1, fromFile, _) = try run(["--streaming", "-m", model, wav])
        XCTAssertEqual(s1, 0)
        // Raw PCM: the WAV's samples without its 44-byte header.
        let pcm = try Data(contentsOf: URL(fileURLWithPath: wav)).dropFirst(44)
        let (s2, fromStdin, partials) = try run(["--streaming", "-m", model, "-"], stdin: Data(pcm))
        XCTAssertEqual(s2, 0)
        XCTAssertEqual(fromStdin.replacingOccurrences(of: "stdin\t", with: "stream_a\t"), fromFile)
        XCTAssertTrue(partials.contains("…"), "partial results go to stderr")
    }

    /// wav.scp in, FunASR's 1best_recog out, with a real model; FunASR's own texts as
    /// references give a CER of 0; a second run resumes without decoding again.
    func testDataSetDecodingWithARealModel() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "cli-data-\(UUID().uuidString)")
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = ["zh_short": "我monday有c人", "en": "他c有f时c有时人", "zh_long": "c我c有FF时CC了有中"]  // FunASR, tiny
        let scp = expected.keys.sorted().map { "\($0) \(Self.fixture("audio/\($0).wav"))" }.joined(separator: "\n")
        try (scp + "\nmissing /nonexistent.wav\n").write(to: dir.appendingPathComponent("wav.scp"), atomically: true, encoding: .utf8)
        let refs = expected.keys.sorted().map { "\($0) \(expected[$0]!)" }.joined(separator: "\n") + "\n"
        try refs.write(to: dir.appendingPathComponent("text"), atomically: true, encoding: .utf8)
        let args = ["-m", Self.fixture("tiny.gguf"), "--data-dir", dir.path, "--output-dir", out.path, "--jobs", "2", "--batch-size", "2"]
        var (status, _, err) = try run(args)
        XCTAssertEqual(status, 1, "one utterance is missing: \(err)")
        let text = try String(contentsOf: out.appendingPathComponent("1best_recog/text"), encoding: .utf8)
        XCTAssertEqual(text, refs)
        let cer = try String(contentsOf: out.appendingPathComponent("1best_recog/text.cer"), encoding: .utf8)
        XCTAssertTrue(cer.contains("%WER 0.0 [ 0 / 31, 0 ins, 0 del, 0 sub ]"), cer)
        (status, _, err) = try run(args)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("1best_recog/text"), encoding: .utf8), refs)
        XCTAssertEqual(status, 1)
    }

    /// Without --model the bundled model is found from any folder (the package the binary was
    /// built in); PARAFORMER_MODEL_DIR comes first.
    func testDefaultModelIsFoundFromAnyFolder() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let sample = root.appendingPathComponent("Weights/sample.wav").path
        let elsewhere = URL(fileURLWithPath: NSTemporaryDirectory() + "cli-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        var (status, out, err) = try run([sample], in: elsewhere)
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, "sample\t在奶录撤联根刊统盆常\n")
        // PARAFORMER_MODEL_DIR wins: a folder whose paraformer-zh-small.gguf is the tiny fixture.
        try FileManager.default.copyItem(
            at: URL(fileURLWithPath: Self.fixture("tiny.gguf")),
            to: elsewhere.appendingPathComponent("paraformer-zh-small.gguf"))
        let audio = Self.fixture("audio/zh_short.wav")
        let (_, tiny, _) = try run(["-m", Self.fixture("tiny.gguf"), audio])
        (status, out, err) = try run([audio], in: elsewhere, environment: ["PARAFORMER_MODEL_DIR": elsewhere.path])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, tiny)
    }

    /// Data-set mode uses the same options as file mode (--max-duration, --channel, ...).
    func testDataSetModeHonoursTheDecodingOptions() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "cli-options-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "a \(Self.fixture("audio/zh_short.wav"))\n".write(
            to: dir.appendingPathComponent("wav.scp"), atomically: true, encoding: .utf8)
        let base = ["-m", Self.fixture("tiny.gguf"), "--data-dir", dir.path, "--no-progress"]
        var (status, _, err) = try run(base + ["--output-dir", dir.appendingPathComponent("o1").path, "--max-duration", "0.1"])
        XCTAssertEqual(status, 1, err)
        XCTAssertTrue(err.contains("longer than"), err)
        (status, _, err) = try run(base + ["--output-dir", dir.appendingPathComponent("o2").path, "--channel", "3"])
        XCTAssertEqual(status, 1, err)
        XCTAssertTrue(err.contains("channel"), err)
        (status, _, err) = try run(base + ["--output-dir", dir.appendingPathComponent("o3").path])
        XCTAssertEqual(status, 0, err)
    }
}
