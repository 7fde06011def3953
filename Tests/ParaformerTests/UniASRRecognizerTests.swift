import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// UniASR through the public API and the CLI: FunASR's text in every decoding mode, the mode
/// chosen per call (FunASR keeps its first call's mode), the empty result below Σα = 1.
final class UniASRRecognizerTests: XCTestCase {
    static let model = UniASRParityTests.fixture("uniasr-tiny.gguf")

    struct Expected {
        var mode: UniASRDecodingMode
        var clip: String
        var text: String?
        var ids: [Int]
    }

    func expected() throws -> (GGUFFile, [Expected]) {
        let fx = try GGUFFile(path: UniASRParityTests.fixture("uniasr-tiny__expected.gguf"))
        let cases = try UniASRParityTests.cases(fx).map {
            Expected(
                mode: UniASRDecodingMode(rawValue: $0.mode)!, clip: $0.clip, text: $0.text,
                ids: $0.token_ids ?? [])
        }
        return (fx, cases)
    }

    func testEveryModeGivesFunASRsTextFromAudio() throws {
        let recognizer = try UniASRRecognizer(modelPath: Self.model)
        XCTAssertEqual(recognizer.decodingModes, [.fast, .normal, .offline])
        XCTAssertEqual(recognizer.defaultDecodingMode, .normal)
        let (fx, cases) = try expected()
        // Modes interleaved on one recognizer: each call decodes in the mode it asks for.
        for c in cases.sorted(by: {
            ($0.clip, $0.mode == .normal ? 1 : 0) < ($1.clip, $1.mode == .normal ? 1 : 0)
        }) {
            let wave = try fx.tensor("\(c.clip).waveform").array
            let r = try recognizer.transcribe(.samples(wave, sampleRate: 16000), decodingMode: c.mode)
            XCTAssertEqual(r.text, c.text ?? "", "\(c.mode)/\(c.clip)")
            XCTAssertEqual(r.tokenIds, c.ids, "\(c.mode)/\(c.clip)")
            if c.mode == .normal {
                let d = try recognizer.transcribe(.samples(wave, sampleRate: 16000))
                XCTAssertEqual(d.text, r.text, "default mode is normal (\(c.clip))")
            }
        }
    }

    func testBelowOneTokenTheResultIsEmpty() throws {
        let recognizer = try UniASRRecognizer(modelPath: Self.model)
        let (fx, cases) = try expected()
        let noise = try fx.tensor("noise.waveform").array
        for mode in UniASRDecodingMode.allCases {
            XCTAssertNotNil(cases.first { $0.clip == "noise" && $0.mode == mode }, "FunASR fails here")
            let r = try recognizer.transcribe(.samples(noise, sampleRate: 16000), decodingMode: mode)
            XCTAssertEqual(r.text, "")
            XCTAssertTrue(r.tokens.isEmpty)
        }
        XCTAssertThrowsError(try recognizer.transcribe(.samples([Float](), sampleRate: 16000))) {
            guard case ParaformerError.emptyAudio = $0 else { return XCTFail("\($0)") }
        }
    }

    func testOnlyUniASRFilesLoadAsUniASR() throws {
        XCTAssertTrue(UniASRRecognizer.isUniASRModel(path: Self.model))
        XCTAssertFalse(UniASRRecognizer.isUniASRModel(path: ModelFixtures.path("tiny.gguf")))
        XCTAssertThrowsError(try UniASRRecognizer(modelPath: ModelFixtures.path("tiny.gguf"))) {
            guard case ParaformerError.invalidOption(let name, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(name, "model")
        }
        XCTAssertThrowsError(try Recognizer(modelPath: Self.model))  // the Paraformer facade refuses it
    }

    // MARK: - CLI

    /// A 16-bit PCM WAV of samples that came from one (FunASR read the same values).
    static func writeWav(_ samples: [Float], to url: URL) throws {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8))
        u32(UInt32(36 + 2 * samples.count))
        d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16)
        u16(1)
        u16(1)
        u32(16000)
        u32(32000)
        u16(2)
        u16(16)
        d.append(contentsOf: Array("data".utf8))
        u32(UInt32(2 * samples.count))
        for s in samples { u16(UInt16(bitPattern: Int16((s * 32768).rounded()))) }
        try d.write(to: url)
    }

    private func run(_ arguments: [String]) throws -> (Int32, String, String) {
        try CLITests.run(arguments)
    }

    func testCLIDecodesFilesAndDataSetsInTheAskedMode() throws {
        let (fx, cases) = try expected()
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "uniasr-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("short.wav")
        try Self.writeWav(try fx.tensor("short.waveform").array, to: wav)
        for mode in UniASRDecodingMode.allCases {
            let want = try XCTUnwrap(cases.first { $0.clip == "short" && $0.mode == mode }?.text)
            let (status, out, err) = try run(["-m", Self.model, "--decoding-mode", mode.rawValue, wav.path])
            XCTAssertEqual(status, 0, err)
            XCTAssertEqual(out, "short\t\(want)\n", mode.rawValue)
        }
        let normal = try XCTUnwrap(cases.first { $0.clip == "short" && $0.mode == .normal }?.text)
        XCTAssertEqual(
            try run(["-m", Self.model, wav.path]).1, "short\t\(normal)\n", "FunASR's default: normal")
        // Data-set mode.
        try "short \(wav.path)\n".write(
            to: dir.appendingPathComponent("wav.scp"), atomically: true, encoding: .utf8)
        let offline = try XCTUnwrap(cases.first { $0.clip == "short" && $0.mode == .offline }?.text)
        let outDir = dir.appendingPathComponent("out")
        let (status, _, err) = try run([
            "-m", Self.model, "--data-dir", dir.path, "--output-dir", outDir.path, "--decoding-mode",
            "offline",
        ])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(
            try String(contentsOf: outDir.appendingPathComponent("1best_recog/text"), encoding: .utf8),
            "short \(offline)\n")
        // A Paraformer model refuses the option.
        let (bad, _, message) = try run([
            "-m", ModelFixtures.path("tiny.gguf"), "--decoding-mode", "fast", wav.path,
        ])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(message.contains("--decoding-mode"), message)
    }
}
