import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// VAD → ASR against FunASR 1.4.16's `AutoModel(model, vad_model).generate(input,
/// output_timestamp=True)` (Tools/gen_vad_fixtures.py pipeline): the bundled
/// paraformer-zh-small and a loudness-detector FSMN-VAD on 173 s of held-out clips with pauses
/// of many lengths. Text and timestamps must be identical.
final class PipelineParityTests: XCTestCase {
    static let weights = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Weights")

    nonisolated(unsafe) static var cases: GGUFFile!
    nonisolated(unsafe) static var samples: [Float] = []
    nonisolated(unsafe) static var pipeline: SpeechPipeline!
    nonisolated(unsafe) static var punctuator: Punctuator!

    override class func setUp() {
        super.setUp()
        cases = try! GGUFFile(path: VADFixtures.path("pipeline-cases.gguf"))
        samples = VADFixtures.floats(try! VADFixtures.audio(cases, seed: UInt32(VADFixtures.int(cases, "fixture.synth_seed"))))
        // FunASR 1.4.16 passes the CIF arrays to its timestamp function swapped (README):
        // parity needs its order.
        let recognizer = try! Recognizer(
            modelPath: weights.appendingPathComponent("paraformer-zh-small.gguf").path,
            options: RecognizerOptions(threads: 1, timestampOrder: .funasr1416))
        punctuator = try! Punctuator(modelPath: VADFixtures.path("punc-pipeline.gguf"))
        pipeline = try! SpeechPipeline(recognizer: recognizer, vad: VoiceActivityDetector(modelPath: VADFixtures.path("vad-speech.gguf")))
    }

    /// Checks `key` (VAD → ASR) and then `puncKey` (the same transcripts punctuated:
    /// AutoModel(model, vad_model, punc_model).generate(..., sentence_timestamp=True)).
    func check(_ key: String, _ puncKey: String, options: VADOptions) throws {
        let p = try SpeechPipeline(recognizer: Self.pipeline.recognizer, vad: Self.pipeline.vad, options: PipelineOptions(vad: options))
        var r = try p.transcribe(samples: Self.samples, sampleRate: 16000)
        let f = Self.cases!
        XCTAssertEqual(r.segments.map(\.segment), VADFixtures.segments(f, "\(key).segments"), key)
        XCTAssertEqual(r.text, f.metadata["\(key).text"]?.stringValue, key)
        XCTAssertEqual(r.timestamps.flatMap { $0 }, VADFixtures.ints(f, "\(key).timestamp"), key)
        XCTAssertGreaterThan(r.segments.count, 10)

        r.punctuate(with: Self.punctuator)
        XCTAssertEqual(r.text, f.metadata["\(puncKey).text"]?.stringValue, puncKey)
        XCTAssertEqual(r.timestamps.flatMap { $0 }, VADFixtures.ints(f, "\(puncKey).timestamp"), puncKey)
        let sentences = r.sentences
        let texts = (f.metadata["\(puncKey).sentence_text"]?.arrayValue ?? []).compactMap(\.stringValue)
        XCTAssertGreaterThan(texts.count, 20)
        XCTAssertEqual(sentences.map(\.text), texts, puncKey)
        XCTAssertEqual(sentences.map(\.startMs), VADFixtures.ints(f, "\(puncKey).sentence_start"), puncKey)
        XCTAssertEqual(sentences.map(\.endMs), VADFixtures.ints(f, "\(puncKey).sentence_end"), puncKey)
        XCTAssertEqual(sentences.map(\.timestamps.count), VADFixtures.ints(f, "\(puncKey).sentence_words"), puncKey)
    }

    func testPipelineWithTheDynamicScheduleMatchesFunASR() throws {
        try check("pipeline_dynamic", "punc_dynamic", options: VADOptions())
    }

    func testPipelineReadingTheFileInBlocksMatchesFunASR() throws {
        // The bounded-memory path: libsndfile blocks of 4096 frames, segments decoded as they
        // close; with punctuation (the pipeline's own punctuator).
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString).wav")
        defer { try? FileManager.default.removeItem(at: url) }
        try writeWAV(Self.samples, to: url)
        let p = try SpeechPipeline(recognizer: Self.pipeline.recognizer, vad: Self.pipeline.vad, punctuator: Self.punctuator,
                                   options: PipelineOptions(vad: VADOptions(maxEndSilenceTime: 800), readBlockFrames: 4096))
        var streamed: [TranscribedSegment] = []
        let r = try p.transcribe(file: url, onSegment: { streamed.append($0) })
        let key = "pipeline_fixed800"
        XCTAssertEqual(r.segments.map(\.segment), VADFixtures.segments(Self.cases, "\(key).segments"))
        XCTAssertEqual(r.rawText, Self.cases.metadata["\(key).text"]?.stringValue)
        XCTAssertEqual(r.text, Self.cases.metadata["punc_fixed800.text"]?.stringValue)
        XCTAssertEqual(r.timestamps.flatMap { $0 }, VADFixtures.ints(Self.cases, "\(key).timestamp"))
        XCTAssertEqual(r.sentences.map(\.text), (Self.cases.metadata["punc_fixed800.sentence_text"]?.arrayValue ?? []).compactMap(\.stringValue))
        XCTAssertEqual(streamed, r.segments)
    }

    func testAsyncSegmentsArriveInTimeOrder() async throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString).wav")
        defer { try? FileManager.default.removeItem(at: url) }
        try writeWAV(Array(Self.samples[0..<(16000 * 30)]), to: url)
        var last = -1
        var n = 0
        for try await s in Self.pipeline.segments(file: url) {
            XCTAssertGreaterThan(s.segment.startMs, last)
            last = s.segment.startMs
            n += 1
        }
        XCTAssertGreaterThanOrEqual(n, 2)
    }
}

/// 16-bit mono WAV at 16 kHz.
func writeWAV(_ samples: [Float], to url: URL) throws {
    var d = Data()
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples.count * 2))
    d.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(1); u32(16000); u32(32000); u16(2); u16(16)
    d.append(contentsOf: Array("data".utf8)); u32(UInt32(samples.count * 2))
    for s in samples { u16(UInt16(bitPattern: Int16(max(-32768, min(32767, (s * 32768).rounded()))))) }
    try d.write(to: url)
}
