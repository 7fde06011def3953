import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// Findings of the FuzzStream target (issue #16), kept as tests: a stream's result must not
/// depend on how its samples were sliced or on whether the last call carried samples.
final class StreamFinishTests: XCTestCase {
    /// 0.4 s silence, 0.9 s tone, 0.5 s silence, 0.6 s tone, 0.3 s silence (2.7 s, 43200
    /// samples: a whole number of 10 ms and 200 ms VAD chunks).
    static let clip: [Float] = {
        var out: [Float] = []
        for (seconds, tone) in [(0.4, false), (0.9, true), (0.5, false), (0.6, true), (0.3, false)] {
            let n = Int(seconds * 16000)
            out += (0..<n).map { tone ? Float(0.3 * sin(2 * Double.pi * 300 * Double($0) / 16000)) : 0 }
        }
        return out
    }()

    /// Stream events joined into segments.
    private func segments(_ events: [VADEvent]) -> [SpeechSegment] {
        var out: [SpeechSegment] = []
        var open: Int?
        for e in events {
            if let s = e.startMs, let t = e.endMs {
                out.append(SpeechSegment(startMs: s, endMs: t))
            } else if let s = e.startMs {
                open = s
            } else if let t = e.endMs {
                out.append(SpeechSegment(startMs: open ?? -1, endMs: t))
                open = nil
            }
        }
        if let open { out.append(SpeechSegment(startMs: open, endMs: -1)) }
        return out
    }

    func testVADStreamFinishedByAnEmptyCallClosesItsSegment() throws {
        // FuzzStream crash (chunk 10 ms; 8209 samples, the rest, finish()): when the samples
        // fed so far filled whole chunks, nothing was pending, and the final call returned
        // before flushing the frontend and the state machine: the open segment never closed.
        let vad = try VoiceActivityDetector(modelPath: VADFixtures.path("vad-speech.gguf"))
        for chunk in [10, 200] {
            let options = VADOptions(chunkSizeMs: chunk)
            let one = try vad.makeStream(options: options)
            let expected = segments(try one.accept(samples: Self.clip, isFinal: true))
            XCTAssertFalse(expected.isEmpty)
            XCTAssertTrue(expected.allSatisfy { $0.endMs > $0.startMs }, "\(expected)")
            for slices in [[8209, 34991], [43200], [3200, 40000]] {
                let stream = try vad.makeStream(options: options)
                var events: [VADEvent] = []
                var start = 0
                for n in slices {
                    events += try stream.accept(samples: Array(Self.clip[start..<(start + n)]))
                    start += n
                }
                events += try stream.finish()
                XCTAssertEqual(segments(events), expected, "chunk \(chunk) ms, slices \(slices)")
            }
        }
        // A stream that never had samples still finishes with nothing.
        XCTAssertEqual(try vad.makeStream().finish(), [])
    }

    func testPipelineKeepsTheLastSegmentOfAudioAWholeNumberOfChunksLong() throws {
        // The pipeline feeds the audio, then an empty final call: audio of exactly N VAD
        // chunks (N minutes at the default 60 s chunk) lost the speech running to its end.
        let vad = try VoiceActivityDetector(modelPath: VADFixtures.path("vad-speech.gguf"))
        let recognizer = try Recognizer(
            model: URL(fileURLWithPath: ModelFixtures.path("tiny.gguf")), options: RecognizerOptions(threads: 1))
        let pipeline = try SpeechPipeline(
            recognizer: recognizer, vad: vad, options: PipelineOptions(vad: VADOptions(chunkSizeMs: 200)))
        let speechToEnd = Array(Self.clip[..<38400])  // ends inside the second tone, 12 chunks
        let offline = try vad.detect(samples: speechToEnd, sampleRate: 16000, options: VADOptions(chunkSizeMs: 200))
        let result = try pipeline.transcribe(samples: speechToEnd, sampleRate: 16000)
        XCTAssertEqual(result.segments.map(\.segment), offline)
        XCTAssertGreaterThanOrEqual(offline.last?.endMs ?? 0, 2300, "\(offline)")  // speech to the end
    }
}
