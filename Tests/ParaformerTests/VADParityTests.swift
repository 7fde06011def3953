import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// FSMN-VAD against FunASR 1.4.16 (`FsmnVADStreaming`, Tools/gen_vad_fixtures.py): segment
/// boundaries offline and every streaming call's events, with the dynamic silence schedule and
/// with a fixed `max_end_silence_time`, on 163 s of audio (three 60 s chunks).
final class VADParityTests: XCTestCase {
    /// p_sil of every frame vs FunASR's scores (absolute; decisions sit ≥ 1.3e-3 from the
    /// thresholds 0.2 / 0.25, so no decision can flip within it).
    let probabilityTolerance: Float = 1e-5
    /// Frame level in dB (FunASR computes it in float32 NumPy).
    let decibelTolerance = 1e-3

    nonisolated(unsafe) static var detector: VoiceActivityDetector!
    nonisolated(unsafe) static var cases: GGUFFile!
    nonisolated(unsafe) static var samples: [Float] = []

    override class func setUp() {
        super.setUp()
        detector = try! VoiceActivityDetector(modelPath: VADFixtures.path("vad-tiny.gguf"))
        cases = try! GGUFFile(path: VADFixtures.path("vad-cases.gguf"))
        samples = VADFixtures.floats(try! VADFixtures.audio(cases))
    }

    func testLoadsTheConvertedModel() {
        let c = Self.detector.configuration
        XCTAssertEqual(c.inputDim, 400)
        XCTAssertEqual(c.fsmnLayers, 4)
        XCTAssertEqual(c.lorder, 20)
        XCTAssertEqual(c.maxEndSilenceTime, 800)
        XCTAssertEqual(c.maxSingleSegmentTime, 60000)
        XCTAssertEqual(c.speechNoiseThres, 0.6, accuracy: 1e-6)
        XCTAssertEqual(c.silPdfIds, [0])
    }

    func testOfflineDynamicScheduleMatchesFunASR() throws {
        let expected = VADFixtures.segments(Self.cases, "offline_dynamic.segments")
        XCTAssertGreaterThan(expected.count, 5)
        XCTAssertEqual(try Self.detector.detect(samples: Self.samples, sampleRate: 16000), expected)
    }

    func testOfflineFixedEndSilenceMatchesFunASR() throws {
        for (ms, key) in [(800, "offline_fixed800"), (555, "offline_fixed555")] {
            let expected = VADFixtures.segments(Self.cases, "\(key).segments")
            let got = try Self.detector.detect(
                samples: Self.samples, sampleRate: 16000, options: VADOptions(maxEndSilenceTime: ms))
            XCTAssertEqual(got, expected, key)
        }
    }

    func testTheScheduleAndTheFixedThresholdDiffer() {
        // The fixture would prove nothing if both settings gave the same cut.
        XCTAssertNotEqual(VADFixtures.segments(Self.cases, "offline_dynamic.segments"),
                          VADFixtures.segments(Self.cases, "offline_fixed800.segments"))
        XCTAssertNotEqual(VADFixtures.segments(Self.cases, "offline_fixed555.segments"),
                          VADFixtures.segments(Self.cases, "offline_fixed800.segments"))
    }

    func testStreamingEventsMatchFunASRPerCall() throws {
        for (key, options) in [
            ("stream_fixed800", VADOptions(maxEndSilenceTime: 800, chunkSizeMs: 200)),
            ("stream_dynamic", VADOptions(chunkSizeMs: 200)),
        ] {
            let sizes = VADFixtures.ints(Self.cases, "\(key).call_sizes")
            let calls = VADFixtures.ints(Self.cases, "\(key).event_call")
            let starts = VADFixtures.ints(Self.cases, "\(key).event_start")
            let ends = VADFixtures.ints(Self.cases, "\(key).event_end")
            var expected = [[VADEvent]](repeating: [], count: sizes.count)
            for i in calls.indices {
                expected[calls[i]].append(VADEvent(startMs: starts[i] < 0 ? nil : starts[i], endMs: ends[i] < 0 ? nil : ends[i]))
            }
            let stream = try Self.detector.makeStream(options: options)
            var pos = 0
            for (i, n) in sizes.enumerated() {
                let got = try stream.accept(samples: Array(Self.samples[pos..<(pos + n)]), isFinal: i == sizes.count - 1)
                pos += n
                XCTAssertEqual(got, expected[i], "\(key) call \(i)")
            }
            XCTAssertThrowsError(try stream.accept(samples: [0]))
        }
    }

    func testFrameProbabilitiesAndLevelsMatchFunASR() throws {
        let expectedP = try Self.cases.tensor("frames.p_sil").array
        let expectedDb = try Self.cases.tensor("frames.decibel").array
        let d = Self.detector.model
        let frontend = OnlineFrontend(frontend: d.frontend)
        let feats = try frontend.accept(samples: Self.samples, isFinal: true)
        XCTAssertEqual(feats.rows, expectedP.count)
        var state = FSMNEncoder.State(config: d.configuration)
        let ws = Workspace()
        let scores = d.encoder(feats, state: &state, ws)
        var worst: Float = 0
        for t in 0..<feats.rows { worst = max(worst, abs(scores.row(t)[0] - expectedP[t])) }
        XCTAssertLessThan(worst, probabilityTolerance)
        // Every class of the first 400 frames.
        let head = try Self.cases.tensor("frames.scores_head")
        for t in 0..<head.rows {
            for k in 0..<head.cols { XCTAssertEqual(scores.row(t)[k], head.row(t)[k], accuracy: probabilityTolerance) }
        }
        XCTAssertEqual(expectedDb.count, feats.rows)
        let c = d.configuration
        let db = Self.samples.withUnsafeBufferPointer {
            FSMNVADSession.frameDecibels($0, firstFrameOffset: 0, frames: feats.rows, hop: c.frameShiftSamples, window: c.frameLengthSamples)
        }
        var worstDb = 0.0
        for t in db.indices { worstDb = max(worstDb, abs(db[t] - Double(expectedDb[t]))) }
        XCTAssertLessThan(worstDb, decibelTolerance)
    }
}
