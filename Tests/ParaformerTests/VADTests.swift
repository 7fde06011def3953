import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// FSMN-VAD units: the window detector, the frame decision at FunASR's crash points, input
/// and option errors, and FunASR's documented whole-input results.
final class VADTests: XCTestCase {
    static let model = VADFixtures.path("vad-speech.gguf")

    func testWindowSwitchesAsymmetrically() throws {
        let c = try VoiceActivityDetector(modelPath: Self.model).configuration
        var w = VADWindowDetector(config: c)
        // 15 speech frames in the 20-frame window start speech ...
        for i in 0..<14 { XCTAssertEqual(w.detect(isSpeech: true), .silToSil, "frame \(i)") }
        XCTAssertEqual(w.detect(isSpeech: true), .silToSpeech)
        for _ in 0..<5 { XCTAssertEqual(w.detect(isSpeech: true), .speechToSpeech) }
        // ... and five silent frames (sum 15 ≤ 15) stop it.
        for _ in 0..<4 { XCTAssertEqual(w.detect(isSpeech: false), .speechToSpeech) }
        XCTAssertEqual(w.detect(isSpeech: false), .speechToSil)
    }

    func testCertainSilenceAndCertainSpeechDoNotCrash() throws {
        // FunASR raises math domain errors at p_sil = 1 (log(1 − p)) and p_sil = 0 (log p).
        let c = try VoiceActivityDetector(modelPath: Self.model).configuration
        var m = VADStateMachine(config: c, maxEndSilenceTime: 800, speechNoiseThreshold: 0.6)
        XCTAssertFalse(m.frameIsSpeech(silenceProbability: 1, decibel: -20))
        XCTAssertTrue(m.frameIsSpeech(silenceProbability: 0, decibel: -20))
        XCTAssertTrue(m.frameIsSpeech(silenceProbability: 0.2, decibel: -20))  // 0.8 ≥ 0.2 + 0.6
        XCTAssertFalse(m.frameIsSpeech(silenceProbability: 0.2001, decibel: -20))
    }

    func testSpeechOnlyInputIsOneSegmentOverEveryFrame() throws {
        // REFERENCE-2 B.11 (FunASR, run): 2 s of speech → [[0, 1980]] (198 frames).
        let vad = try VoiceActivityDetector(modelPath: Self.model)
        let tone = (0..<32000).map { Float(0.3 * sin(2 * Double.pi * 300 * Double($0) / 16000)) }
        XCTAssertEqual(try vad.detect(samples: tone, sampleRate: 16000), [SpeechSegment(startMs: 0, endMs: 1980)])
        XCTAssertEqual(try vad.detect(samples: tone, sampleRate: 16000, options: VADOptions(maxEndSilenceTime: 500)),
                       [SpeechSegment(startMs: 0, endMs: 1980)])
    }

    func testSilenceAndEmptyInputGiveNoSegments() throws {
        let vad = try VoiceActivityDetector(modelPath: Self.model)
        XCTAssertEqual(try vad.detect(samples: [Float](repeating: 0, count: 48000), sampleRate: 16000), [])
        XCTAssertEqual(try vad.detect(samples: [], sampleRate: 16000), [])
        XCTAssertEqual(try vad.detect(samples: [0.1, 0.2], sampleRate: 16000), [])  // under one frame
    }

    func testOtherRatesAreResampled() throws {
        let vad = try VoiceActivityDetector(modelPath: Self.model)
        let tone = (0..<16000).map { Float(0.3 * sin(2 * Double.pi * 300 * Double($0) / 8000)) }
        XCTAssertEqual(try vad.detect(samples: tone, sampleRate: 8000).count, 1)
    }

    func testBadInputAndOptionsAreErrors() throws {
        let vad = try VoiceActivityDetector(modelPath: Self.model)
        XCTAssertThrowsError(try vad.detect(samples: [0, .nan], sampleRate: 16000))
        XCTAssertThrowsError(try vad.detect(samples: [0], sampleRate: 16000, options: VADOptions(chunkSizeMs: 0))) {
            guard case ParaformerError.invalidOption(name: "chunkSizeMs", _) = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try vad.makeStream(options: VADOptions(maxEndSilenceTime: -1)))
        let stream = try vad.makeStream()
        XCTAssertThrowsError(try stream.accept(samples: [.infinity]))
        _ = try stream.finish()
        XCTAssertThrowsError(try stream.accept(samples: [0])) { XCTAssertEqual($0 as? ParaformerError, .streamFinished) }
        // An ASR model is not a VAD, and a VAD is not an ASR model.
        XCTAssertThrowsError(try VoiceActivityDetector(modelPath: ModelFixtures.path("tiny.gguf"))) {
            guard case ParaformerError.invalidOption(name: "model", _) = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Recognizer(model: URL(fileURLWithPath: Self.model)))
    }

    func testRegistryKnowsTheFamily() throws {
        let family = try XCTUnwrap(ModelRegistry.family(for: "fsmn-vad"))
        XCTAssertEqual(family.kind, .voiceActivityDetection)
    }

    func testSentencesFollowFunASRTimestampSentence() {
        // timestamp_sentence: a sentence ends at every id > 1; words after the last mark are dropped.
        let s = PipelineResult.timestampSentences(
            puncArray: [1, 2, 1, 3, 1], timestamps: [[0, 10], [10, 20], [30, 40], [40, 50], [60, 70]],
            text: "你 好 hello 世 界")
        XCTAssertEqual(s.map(\.text), ["你好，", " hello 世。"])  // FunASR: a space before every English word
        XCTAssertEqual(s.map(\.startMs), [0, 30])
        XCTAssertEqual(s.map(\.endMs), [20, 50])
        XCTAssertEqual(PipelineResult.joinForPunctuation(["你 好", "", " 世 界 ", "<|zh|>ok", "好"]), "你 好世 界 ok 好")
    }
}

/// `paraformer-run` with a VAD model and as the pipeline.
final class VADCLITests: XCTestCase {
    private func run(_ arguments: [String]) throws -> (Int32, String, String) {
        try CLITests.run(arguments)
    }

    /// The first 25 s of the pipeline fixture's audio as a wav.
    private func clip() throws -> (URL, [Float]) {
        let cases = try GGUFFile(path: VADFixtures.path("pipeline-cases.gguf"))
        let all = VADFixtures.floats(try VADFixtures.audio(cases, seed: 777))
        let samples = Array(all[0..<(16000 * 25)])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vadcli-\(UUID().uuidString).wav")
        try writeWAV(samples, to: url)
        return (url, samples.map { Float(Int16(max(-32768, min(32767, ($0 * 32768).rounded())))) / 32768 })
    }

    func testVADAlonePrintsFunASRsKeyAndValue() throws {
        let (url, samples) = try clip()
        defer { try? FileManager.default.removeItem(at: url) }
        let model = VADFixtures.path("vad-speech.gguf")
        let segments = try VoiceActivityDetector(modelPath: model).detect(samples: samples, sampleRate: 16000,
                                                                          options: VADOptions(maxEndSilenceTime: 500))
        XCTAssertGreaterThan(segments.count, 3)
        let (status, out, _) = try run(["--model", model, "--max-end-silence-time", "500", "--json", url.path])
        XCTAssertEqual(status, 0)
        let key = url.deletingPathExtension().lastPathComponent
        let value = segments.map { "[\($0.startMs),\($0.endMs)]" }.joined(separator: ",")
        XCTAssertEqual(out, "{\"key\":\"\(key)\",\"value\":[\(value)]}\n")
    }

    func testPipelinePrintsJSONAndSubtitles() throws {
        let (url, samples) = try clip()
        defer { try? FileManager.default.removeItem(at: url) }
        let asr = PipelineParityTests.weights.appendingPathComponent("paraformer-zh-small.gguf").path
        let vad = VADFixtures.path("vad-speech.gguf")
        let punc = VADFixtures.path("punc-pipeline.gguf")
        let pipeline = try SpeechPipeline(modelPath: asr, vadModelPath: vad, puncModelPath: punc)
        let r = try pipeline.transcribe(samples: samples, sampleRate: 16000)
        XCTAssertFalse(r.sentences.isEmpty)
        let (status, out, err) = try run(["--model", asr, "--vad-model", vad, "--punc-model", punc, "--json", "--sentence-info", url.path])
        XCTAssertEqual(status, 0, err)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        XCTAssertEqual(object["text"] as? String, r.text)
        XCTAssertEqual((object["timestamp"] as? [[Int]])?.count, r.timestamps.count)
        XCTAssertEqual((object["sentence_info"] as? [[String: Any]])?.count, r.sentences.count)

        let (s2, srt, _) = try run(["--model", asr, "--vad-model", vad, "--punc-model", punc, "--output-format", "srt", url.path])
        XCTAssertEqual(s2, 0)
        XCTAssertTrue(srt.hasPrefix("1\n00:00:"), srt)
        XCTAssertEqual(srt.components(separatedBy: " --> ").count - 1, r.sentences.count)
        let (s3, vtt, _) = try run(["--model", asr, "--vad-model", vad, "--output-format", "vtt", url.path])
        XCTAssertEqual(s3, 0)
        XCTAssertTrue(vtt.hasPrefix("WEBVTT\n\n00:00:"), vtt)
        let (s4, _, e4) = try run(["--model", asr, "--punc-model", punc, url.path])
        XCTAssertNotEqual(s4, 0)
        XCTAssertTrue(e4.contains("--vad-model"), e4)
    }
}
