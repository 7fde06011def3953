import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore

/// The facade's ways in: one `transcribe(_:)` for every form of audio, the async adapters, and
/// errors that read well in UI code.
final class PublicAPITests: XCTestCase {
    private func fixtureURL(_ name: String) -> URL { URL(fileURLWithPath: ModelFixtures.path(name)) }

    func testEveryAudioInputGivesTheSameTranscript() throws {
        let recognizer = try Recognizer(model: fixtureURL("tiny.gguf"))
        let url = fixtureURL("audio/zh_short.wav")
        let reference = try recognizer.transcribe(.file(url))
        XCTAssertFalse(reference.tokens.isEmpty)
        let bytes = try Data(contentsOf: url)
        let audio = try AudioDecoder.load(contentsOf: url)
        let int16 = audio.samples.map { Int16(($0 * 32768).rounded()) }
        var pcm = Data()
        for v in int16 { withUnsafeBytes(of: v.littleEndian) { pcm.append(contentsOf: $0) } }
        for input in [
            AudioInput.wav(bytes), .samples(audio.samples, sampleRate: audio.sampleRate),
            .int16(int16, sampleRate: audio.sampleRate), .pcm16(pcm, sampleRate: audio.sampleRate),
        ] {
            XCTAssertEqual(try recognizer.transcribe(input).tokenIds, reference.tokenIds, "\(input)".prefix(20).description)
        }
        XCTAssertEqual(try recognizer.transcribe(batch: [.file(url), .wav(bytes)]).map(\.tokenIds), [reference.tokenIds, reference.tokenIds])
    }

    func testAsyncTranscribeMatchesSync() async throws {
        let recognizer = try Recognizer(model: fixtureURL("tiny.gguf"))
        let url = fixtureURL("audio/zh_short.wav")
        let sync = try Self.transcribeSynchronously(recognizer, .file(url))
        let async = try await recognizer.transcribe(.file(url))
        XCTAssertEqual(async.tokenIds, sync.tokenIds)
        XCTAssertEqual(async.text, sync.text)
    }

    /// In async code `transcribe(_:)` is the async overload; the synchronous one from here.
    private static func transcribeSynchronously(_ r: Recognizer, _ input: AudioInput) throws -> RecognitionResult {
        try r.transcribe(input)
    }

    func testPartialResultsFromAnAsyncSequenceMatchTheStream() async throws {
        let recognizer = try Recognizer(model: fixtureURL("tiny-online.gguf"))
        let audio = try AudioDecoder.load(contentsOf: fixtureURL("audio/stream_a.wav")).resampled(to: 16000)
        let blocks = stride(from: 0, to: audio.samples.count, by: 4800).map {
            Array(audio.samples[$0..<min($0 + 4800, audio.samples.count)])
        }
        // The synchronous stream, block by block.
        let stream = try recognizer.makeStream()
        var expected: [PartialResult] = []
        for block in blocks {
            let p = try stream.accept(samples: block)
            if p.chunks > 0 { expected.append(p) }
        }
        expected.append(try stream.finishPartial().partial)

        let source = AsyncStream<[Float]> { continuation in
            for block in blocks { continuation.yield(block) }
            continuation.finish()
        }
        var got: [PartialResult] = []
        for try await partial in recognizer.partialResults(of: source) { got.append(partial) }
        XCTAssertEqual(got, expected)
        XCTAssertFalse(got.last?.textSoFar.isEmpty ?? true)
    }

    func testErrorsAreLocalized() {
        let error: Error = ParaformerError.streamFinished
        XCTAssertEqual(error.localizedDescription, ParaformerError.streamFinished.description)
        XCTAssertThrowsError(try Recognizer(model: URL(fileURLWithPath: "/nonexistent/model.gguf"))) {
            XCTAssertTrue($0.localizedDescription.contains("/nonexistent/model.gguf"), $0.localizedDescription)
        }
    }
}
