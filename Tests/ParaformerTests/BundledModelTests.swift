import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// The bundled models (Weights/, trained by Tools/train.py on espeak-ng speech) on held-out
/// clips that no training sentence shares: the exact text FunASR itself gets from the same
/// checkpoints (Tests/ParaformerTests/Fixtures/heldout/transcripts.tsv), which is also the
/// reference text for every committed clip.
final class BundledModelTests: XCTestCase {
    /// Weights/ relative to this file (the package root is three levels up).
    static let weights = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Weights")

    struct Clip { let file: String; let model: String; let reference: String; let funasr: String }

    static func clips() throws -> [Clip] {
        let url = Bundle.module.url(forResource: "Fixtures/heldout/transcripts", withExtension: "tsv")!
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst().map {
            let f = $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Clip(file: f[0], model: f[1], reference: f[2], funasr: f[3])
        }
    }

    func testOfflineModelTranscribesHeldOutClipsExactlyAsFunASR() throws {
        let recognizer = try Recognizer(model: URL(fileURLWithPath: Self.weights.appendingPathComponent("paraformer-zh-small.gguf").path))
        let clips = try Self.clips().filter { $0.model == "offline" }
        XCTAssertGreaterThanOrEqual(clips.count, 5)
        for clip in clips {
            let url = Bundle.module.url(forResource: "Fixtures/heldout/\(clip.file)", withExtension: nil)!
            XCTAssertEqual(try recognizer.transcribe(.file(url)).text, clip.funasr, clip.file)
            XCTAssertEqual(clip.funasr, clip.reference, "\(clip.file) is a correctly recognised clip")
        }
    }

    func testStreamingModelTranscribesHeldOutClipsExactlyAsFunASR() throws {
        let recognizer = try Recognizer(
            model: URL(fileURLWithPath: Self.weights.appendingPathComponent("paraformer-zh-small-online.gguf").path))
        let clips = try Self.clips().filter { $0.model == "online" }
        XCTAssertGreaterThanOrEqual(clips.count, 5)
        for clip in clips {
            let url = Bundle.module.url(forResource: "Fixtures/heldout/\(clip.file)", withExtension: nil)!
            let audio = try AudioDecoder.load(contentsOf: url)
            // FunASR's README loop: 600 ms strides, look-back 4/1, is_final on the last call.
            let stream = try recognizer.makeStream(options: StreamingOptions(chunkSize: [0, 10, 5]))
            var offset = 0
            while offset < audio.samples.count {
                let end = min(offset + stream.chunkSamples, audio.samples.count)
                _ = try stream.accept(samples: Array(audio.samples[offset..<end]))
                offset = end
            }
            XCTAssertEqual(try stream.finish().text, clip.funasr, clip.file)
            XCTAssertEqual(clip.funasr, clip.reference, clip.file)
        }
    }

    /// The bundled FSMN-VAD (Weights/fsmn-vad-small.gguf, issue #17): one segment over the sample,
    /// none in digital silence, low noise or a tone, and the README's pipeline example.
    func testBundledVADFindsSpeechOnlyAndThePipelineTranscribesTheSample() throws {
        let vadPath = Self.weights.appendingPathComponent("fsmn-vad-small.gguf").path
        let vad = try VoiceActivityDetector(modelPath: vadPath)
        let sample = Self.weights.appendingPathComponent("sample.wav")
        let audio = try AudioDecoder.load(contentsOf: sample)
        XCTAssertEqual(try vad.detect(samples: audio.samples, sampleRate: 16000), [SpeechSegment(startMs: 0, endMs: 2820)])
        var lcg: UInt32 = 1
        let noise: [Float] = (0..<160_000).map { _ in
            lcg = lcg &* 1_664_525 &+ 1_013_904_223
            return (Float(lcg >> 16) / 65536 - 0.5) * 0.001  // about -65 dBFS
        }
        let tone: [Float] = (0..<16_000).map { Float(0.25 * sin(2 * Double.pi * 440 * Double($0) / 16000)) }
        for (name, x) in [("silence", [Float](repeating: 0, count: 160_000)), ("noise", noise), ("tone", tone)] {
            XCTAssertEqual(try vad.detect(samples: x, sampleRate: 16000), [], name)
        }
        let pipeline = try SpeechPipeline(modelPath: Self.weights.appendingPathComponent("paraformer-zh-small.gguf").path,
                                          vadModelPath: vadPath)
        XCTAssertEqual(try pipeline.transcribe(file: sample).text.replacingOccurrences(of: " ", with: ""), "在奶录撤联根刊统盆常")
    }

    /// The offline model writes nothing for audio without speech (issue #17's checks).
    func testOfflineModelTranscribesNoSpeechAsNothing() throws {
        let recognizer = try Recognizer(model: URL(fileURLWithPath: Self.weights.appendingPathComponent("paraformer-zh-small.gguf").path))
        let tone: [Float] = (0..<16_000).map { Float(0.25 * sin(2 * Double.pi * 440 * Double($0) / 16000)) }
        XCTAssertEqual(try recognizer.transcribe(.samples([Float](repeating: 0, count: 160_000), sampleRate: 16000)).text, "")
        XCTAssertEqual(try recognizer.transcribe(.samples(tone, sampleRate: 16000)).text, "")
    }

    /// The README's main job.
    func testSampleIsTranscribedCorrectlyByBothModels() throws {
        let sample = Self.weights.appendingPathComponent("sample.wav")
        for name in ["paraformer-zh-small.gguf", "paraformer-zh-small-online.gguf"] {
            for preload in [false, true] {
                let r = try Recognizer(
                    model: URL(fileURLWithPath: Self.weights.appendingPathComponent(name).path),
                    options: RecognizerOptions(preload: preload))
                XCTAssertEqual(try r.transcribe(.file(sample)).text, "在奶录撤联根刊统盆常", "\(name), preload \(preload)")
            }
        }
    }
}
