import Foundation
import XCTest

/// Nothing lost, nothing doubled (issue #16): an output that cannot be written (a directory
/// under a file, a full device, a file size limit) is reported with its path and a non-zero
/// exit, and a rerun afterwards completes with exactly the output of an undisturbed run; a
/// reader that goes away (`| head -1`) ends the run at once, without a crash.
final class OutputFailureCLITests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = URL(fileURLWithPath: NSTemporaryDirectory() + "cli-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private static let expected = ["en": "他c有f时c有时人", "zh_long": "c我c有FF时CC了有中", "zh_short": "我monday有c人"]  // FunASR, tiny

    /// A data directory with the three clips (and their references).
    private func dataDir() throws -> URL {
        let dir = scratch.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let ids = Self.expected.keys.sorted()
        try ids.map { "\($0) \(CLITests.fixture("audio/\($0).wav"))\n" }.joined()
            .write(to: dir.appendingPathComponent("wav.scp"), atomically: true, encoding: .utf8)
        try ids.map { "\($0) \(Self.expected[$0]!)\n" }.joined()
            .write(to: dir.appendingPathComponent("text"), atomically: true, encoding: .utf8)
        return dir
    }

    private var refs: String { Self.expected.keys.sorted().map { "\($0) \(Self.expected[$0]!)\n" }.joined() }

    /// Runs the CLI through bash (for `ulimit`, redirections); returns (status, stderr).
    private func shell(_ script: String) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        p.environment = ProcessInfo.processInfo.environment.merging(["PARAFORMER_BIN": CLITests.binary.path]) { $1 }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    func testUnwritableOutputDirectoryIsReportedAndARerunCompletes() throws {
        let data = try dataDir()
        let blocker = scratch.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: blocker)
        let bad = blocker.appendingPathComponent("out")  // under a regular file: never writable, even for root
        let model = CLITests.fixture("tiny.gguf")
        var (status, _, err) = try CLITests.run(["-m", model, "--data-dir", data.path, "--output-dir", bad.path])
        XCTAssertEqual(status, 2, err)
        XCTAssertTrue(err.contains(bad.path), err)
        XCTAssertFalse(err.contains("Fatal error"), err)
        let good = scratch.appendingPathComponent("out")
        (status, _, err) = try CLITests.run(["-m", model, "--data-dir", data.path, "--output-dir", good.path])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(try String(contentsOf: good.appendingPathComponent("1best_recog/text"), encoding: .utf8), refs)
    }

    func testOutputFilesCutShortByAFileSizeLimitAreReportedAndARerunCompletesThem() throws {
        // `ulimit -f 1` (1 KiB per file) lets the run write about half of the lines (the
        // `timestamp` lines are the longest): the write that crosses it fails with EFBIG, as on a
        // full disk. The run must say which file, exit non-zero, and leave a directory the
        // rerun completes to exactly the uninterrupted output: no line lost or doubled.
        let data = try dataDir()
        // More utterances than fit in 1 KiB of `timestamp` lines.
        let scp = (0..<30).map { i -> String in
            let id = Self.expected.keys.sorted()[i % 3]
            return "\(id)_\(i) \(CLITests.fixture("audio/\(id).wav"))\n"
        }.joined()
        try scp.write(to: data.appendingPathComponent("wav.scp"), atomically: true, encoding: .utf8)
        try "".write(to: data.appendingPathComponent("text"), atomically: true, encoding: .utf8)
        let out = scratch.appendingPathComponent("out")
        let model = CLITests.fixture("tiny.gguf")
        let (limited, err) = try shell(
            "ulimit -f 1; exec \"$PARAFORMER_BIN\" -m '\(model)' --data-dir '\(data.path)' --output-dir '\(out.path)' --no-progress")
        XCTAssertNotEqual(limited, 0, err)
        XCTAssertTrue(err.contains(out.appendingPathComponent("1best_recog").path), err)
        XCTAssertFalse(err.contains("Fatal error") || err.contains("Illegal instruction"), err)
        let partial = try String(contentsOf: out.appendingPathComponent("1best_recog/text"), encoding: .utf8)
        XCTAssertLessThan(partial.split(separator: "\n").count, 30, "the limit should have cut the run short")

        var (status, _, err2) = try CLITests.run(["-m", model, "--data-dir", data.path, "--output-dir", out.path, "--no-progress"])
        XCTAssertEqual(status, 0, err2)
        let fresh = scratch.appendingPathComponent("fresh")
        (status, _, err2) = try CLITests.run(["-m", model, "--data-dir", data.path, "--output-dir", fresh.path, "--no-progress"])
        XCTAssertEqual(status, 0, err2)
        for name in ["text", "token", "timestamp"] {
            let resumed = try String(contentsOf: out.appendingPathComponent("1best_recog/\(name)"), encoding: .utf8)
            let whole = try String(contentsOf: fresh.appendingPathComponent("1best_recog/\(name)"), encoding: .utf8)
            XCTAssertEqual(resumed, whole, name)
            XCTAssertEqual(resumed.split(separator: "\n").count, 30, name)
        }
    }

    func testAFullStandardOutputIsAnErrorNamingIt() throws {
        // Offline results, VAD → ASR subtitles (--output-format srt) and punctuation, each to
        // /dev/full (every write fails with ENOSPC).
        let audio = CLITests.fixture("audio/zh_short.wav")
        let vad = URL(fileURLWithPath: CLITests.fixture("tiny.gguf")).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("vad").path
        for args in [
            "-m '\(CLITests.fixture("tiny.gguf"))' '\(audio)'",
            "-m '\(CLITests.fixture("tiny.gguf"))' --vad-model '\(vad)/vad-speech.gguf' --output-format srt '\(audio)'",
            "-m '\(vad)/punc-pipeline.gguf' --text '今天天气很好我们出去玩吧'",
        ] {
            let (status, err) = try shell("exec \"$PARAFORMER_BIN\" \(args) > /dev/full")
            XCTAssertEqual(status, 2, "\(args): \(err)")
            XCTAssertTrue(err.contains("/dev/full") && err.contains("No space left on device"), "\(args): \(err)")
        }
        // An unwritable standard error is no crash either (the message has nowhere to go).
        let (status, _) = try shell("exec \"$PARAFORMER_BIN\" -m /nonexistent.gguf x.wav 2> /dev/full")
        XCTAssertEqual(status, 2)
    }

    func testAReaderThatGoesAwayEndsTheRunPromptly() throws {
        // 200 files, `| head -1`: the first line arrives as soon as its file is decoded, and
        // the write after head has gone ends the run (status 141 as for SIGPIPE, no trace)
        // instead of decoding the 199 others.
        let audio = CLITests.fixture("audio/zh_long.wav")
        let files = Array(repeating: "'\(audio)'", count: 200).joined(separator: " ")
        let model = CLITests.fixture("tiny.gguf")
        let clock = ContinuousClock()
        let t0 = clock.now
        let (_, err0) = try shell("\"$PARAFORMER_BIN\" -m '\(model)' '\(audio)' '\(audio)' > /dev/null")
        let two = clock.now - t0
        let t1 = clock.now
        let (status, err) = try shell(
            "set -o pipefail; \"$PARAFORMER_BIN\" -m '\(model)' \(files) | head -1 > /dev/null; s=(\"${PIPESTATUS[@]}\"); exit ${s[0]}")
        let piped = clock.now - t1
        XCTAssertEqual(status, 141, err)  // 128 + SIGPIPE, whether by our exit or by the signal
        XCTAssertEqual(err, "", "no message, no trace")
        XCTAssertEqual(err0, "")
        // It stopped after a few files, not 200: well under the time of 50 files.
        XCTAssertLessThan(piped, two * 25, "\(piped) for the head -1 run, \(two) for 2 files")
    }
}
