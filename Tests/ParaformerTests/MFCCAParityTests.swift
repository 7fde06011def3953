import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// MFCCA against FunASR 0.8.8 (fixtures from Tools/gen_mfcca_fixtures.py: a random-weight
/// model, clips of 1, 2, 4, 6 and 8 channels, and 0.8.8's outputs at every stage).
final class MFCCAParityTests: XCTestCase {
    /// Features (log-mel after GlobalMVN): absolute.
    let featureTolerance: Float = 1e-3
    /// Encoder output and CTC log-probabilities: relative to the tensor's largest magnitude.
    let encoderTolerance: Float = 1e-4
    let ctcTolerance: Float = 1e-4
    /// Hypothesis scores (sums of up to ~40 float32 log-probabilities, decoder and CTC computed
    /// with different summation orders): absolute.
    let scoreTolerance: Float = 1e-3
    static let clips = ["ch1", "ch2", "ch4", "ch6", "ch8"]
    static let model = "mfcca-tiny"

    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/mfcca/\(name)", withExtension: nil)!.path
    }

    private func recognizer() throws -> MFCCARecognizer {
        try MFCCARecognizer(modelPath: Self.path("\(Self.model).gguf"))
    }

    private func expected(_ clip: String) throws -> GGUFFile {
        try GGUFFile(path: Self.path("\(Self.model)__\(clip).gguf"))
    }

    private func ints(_ f: GGUFFile, _ key: String) -> [Int] {
        let v = f.metadata[key]?.arrayValue?.compactMap(\.intValue) ?? []
        return v == [-1] ? [] : v
    }

    private func maxAbs(_ a: [Float]) -> Float { a.map { abs($0) }.max() ?? 0 }

    private func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    private func audio(_ clip: String) throws -> MultiChannelAudio {
        try MultiChannelAudio.load(contentsOf: URL(fileURLWithPath: Self.path("audio/\(clip).wav")))
    }

    func testFeaturesMatchPerChannel() throws {
        let r = try recognizer()
        for clip in Self.clips {
            let fx = try expected(clip)
            let want = try fx.tensor("features")  // [C, T, 80]
            let feats = try r.model.features(try audio(clip), source: clip)
            XCTAssertEqual(feats.count, want.shape[0], clip)
            XCTAssertEqual(feats.count, fx.metadata["expected.channels"]?.intValue, clip)
            let got = feats.flatMap(\.array)
            XCTAssertEqual(got.count, want.count, clip)
            let err = maxDiff(got, want.array)
            print("MFCCA \(clip): features max |diff| \(err)")
            XCTAssertLessThanOrEqual(err, featureTolerance, "\(clip): features differ by \(err)")
        }
    }

    func testEncoderOutputMatchesFromFunASRFeatures() throws {
        let r = try recognizer()
        for clip in Self.clips {
            let fx = try expected(clip)
            let f = try fx.tensor("features")
            let (c, t) = (f.shape[0], f.shape[1])
            let feats = (0..<c).map { Tensor(Array(f.array[($0 * t * 80)..<(($0 + 1) * t * 80)]), shape: [t, 80]) }
            let want = try fx.tensor("encoder_out")
            let enc = r.model.encoder(feats, Workspace())
            XCTAssertEqual(enc.shape, want.shape, clip)
            let err = maxDiff(enc.array, want.array) / maxAbs(want.array)
            XCTAssertLessThanOrEqual(err, encoderTolerance, "\(clip): encoder output differs by \(err) (relative)")
            let ctc = r.model.ctcLogProbs(want)
            let wantCTC = try fx.tensor("ctc_logp")
            let ctcErr = maxDiff(ctc.array, wantCTC.array) / maxAbs(wantCTC.array)
            print("MFCCA \(clip): encoder rel \(err), CTC rel \(ctcErr), T' \(enc.rows)")
            XCTAssertLessThanOrEqual(ctcErr, ctcTolerance, "\(clip): CTC log-probabilities differ by \(ctcErr)")
        }
    }

    /// The search from FunASR's own encoder output: every ended hypothesis, in order, with its
    /// scores (the n-best list, not just the best).
    func testSearchReproducesTheNBestFromFunASREncoderOutput() throws {
        let r = try recognizer()
        for clip in Self.clips {
            let fx = try expected(clip)
            let enc = try fx.tensor("encoder_out")
            for prefix in ["expected", "expected.override"] {
                var options = r.config.search
                options.beamSize = fx.metadata["\(prefix).beam_size"]?.intValue ?? 10
                options.ctcWeight = Float(fx.metadata["\(prefix).ctc_weight"]?.doubleValue ?? 0.5)
                let hyps = r.model.search(enc, options, Workspace())
                let count = fx.metadata["\(prefix).nbest.count"]?.intValue ?? -1
                var worst: Float = 0
                defer { print("MFCCA \(clip) \(prefix): \(hyps.count) hypotheses, worst score diff \(worst)") }
                XCTAssertEqual(hyps.count, count, "\(clip) \(prefix): ended hypotheses")
                for (i, h) in hyps.prefix(count).enumerated() {
                    let label = "\(clip) \(prefix) #\(i)"
                    XCTAssertEqual(h.tokens, ints(fx, "\(prefix).nbest.\(i).yseq"), label)
                    let want = Float(fx.metadata["\(prefix).nbest.\(i).score"]?.doubleValue ?? .nan)
                    XCTAssertEqual(h.score, want, accuracy: scoreTolerance, label)
                    worst = max(worst, abs(h.score - want))
                }
            }
        }
    }

    /// Audio file to text, end to end, with the file's search defaults and an override.
    func testTextAndTokenIdsMatchEndToEnd() throws {
        let r = try recognizer()
        for clip in Self.clips {
            let fx = try expected(clip)
            let result = try r.transcribe(try audio(clip))
            XCTAssertEqual(result.channels, fx.metadata["expected.channels"]?.intValue, clip)
            XCTAssertEqual(result.text, fx.metadata["expected.text"]?.stringValue, clip)
            XCTAssertEqual(result.nbest.first?.tokenIds ?? [], ints(fx, "expected.token_ids"), clip)
            let alt = try r.transcribe(
                try audio(clip), search: MFCCASearchOptions(beamSize: 4, ctcWeight: 0.3))
            XCTAssertEqual(alt.text, fx.metadata["expected.override.text"]?.stringValue, "\(clip) override")
        }
    }

    func testFixturesAreNonTrivial() throws {
        var texts = Set<String>()
        for clip in Self.clips {
            let fx = try expected(clip)
            let text = fx.metadata["expected.text"]?.stringValue ?? ""
            XCTAssertFalse(text.isEmpty, clip)
            texts.insert(text)
            XCTAssertGreaterThan(fx.metadata["expected.nbest.count"]?.intValue ?? 0, 1, clip)
        }
        XCTAssertGreaterThanOrEqual(texts.count, Self.clips.count - 1, "texts repeat across clips")
    }

    func testSentencePostprocessMatches088() throws {
        let fx = try GGUFFile(path: Self.path("\(Self.model)__text.gguf"))
        let n = fx.metadata["text.count"]?.intValue ?? 0
        XCTAssertGreaterThan(n, 0)
        for i in 0..<n {
            let tokens = fx.metadata["text.\(i).tokens"]?.arrayValue?.compactMap(\.stringValue) ?? []
            XCTAssertEqual(
                TextPostprocessor.postprocess(tokens: tokens).text, fx.metadata["text.\(i).text"]?.stringValue,
                "\(tokens)")
        }
    }

    func testInterleavedInputEqualsChannels() throws {
        let r = try recognizer()
        let a = try audio("ch2")
        let frames = a.channels[0].count
        var inter = [Float](repeating: 0, count: frames * 2)
        for f in 0..<frames { (inter[2 * f], inter[2 * f + 1]) = (a.channels[0][f], a.channels[1][f]) }
        let x = try r.transcribe(interleaved: inter, channelCount: 2, sampleRate: a.sampleRate)
        let y = try r.transcribe(channels: a.channels, sampleRate: a.sampleRate)
        XCTAssertEqual(x.text, y.text)
        XCTAssertEqual(x.nbest.first?.tokenIds, y.nbest.first?.tokenIds)
    }

    func testRejectsMoreThanEightChannels() throws {
        let r = try recognizer()
        let a = try audio("ch8")
        let nine = a.channels + [a.channels[0]]
        XCTAssertThrowsError(try r.transcribe(channels: nine, sampleRate: a.sampleRate)) { e in
            guard case ParaformerError.invalidAudio(_, let reason)? = e as? ParaformerError else {
                return XCTFail("\(e)")
            }
            XCTAssertTrue(reason.contains("9 channels"), reason)
        }
    }

    func testRejectsTooShortAndBadOptions() throws {
        let r = try recognizer()
        XCTAssertThrowsError(try r.transcribe(channels: [[Float](repeating: 0.1, count: 200)], sampleRate: 16000))
        XCTAssertThrowsError(try r.transcribe(channels: [[Float](repeating: 0.1, count: 900)], sampleRate: 16000))
        let a = try audio("ch1")
        XCTAssertThrowsError(try r.transcribe(a, search: MFCCASearchOptions(beamSize: 0)))
        XCTAssertThrowsError(try r.transcribe(a, search: MFCCASearchOptions(ctcWeight: 1.5)))
        XCTAssertThrowsError(try r.transcribe(channels: [[0.1, 0.2], [0.1]], sampleRate: 16000))
    }

    /// A second model with `macaron_style` (a half-step FFN before each conformer attention):
    /// encoder output, every ended hypothesis, and the text from audio.
    func testMacaronModelMatches() throws {
        let name = "mfcca-tiny-macaron"
        let r = try MFCCARecognizer(modelPath: Self.path("\(name).gguf"))
        XCTAssertNotNil(r.model.encoder.blocks[0].conformer.macaron)
        for clip in ["ch2", "ch4"] {
            let fx = try GGUFFile(path: Self.path("\(name)__\(clip).gguf"))
            let f = try fx.tensor("features")
            let (c, t) = (f.shape[0], f.shape[1])
            let feats = (0..<c).map { Tensor(Array(f.array[($0 * t * 80)..<(($0 + 1) * t * 80)]), shape: [t, 80]) }
            let want = try fx.tensor("encoder_out")
            let enc = r.model.encoder(feats, Workspace())
            let err = maxDiff(enc.array, want.array) / maxAbs(want.array)
            XCTAssertLessThanOrEqual(err, encoderTolerance, "\(clip): encoder output differs by \(err)")
            let hyps = r.model.search(want, r.config.search, Workspace())
            XCTAssertEqual(hyps.count, fx.metadata["expected.nbest.count"]?.intValue, clip)
            for (i, h) in hyps.enumerated() {
                XCTAssertEqual(h.tokens, ints(fx, "expected.nbest.\(i).yseq"), "\(clip) #\(i)")
                let s = Float(fx.metadata["expected.nbest.\(i).score"]?.doubleValue ?? .nan)
                XCTAssertEqual(h.score, s, accuracy: scoreTolerance, "\(clip) #\(i)")
            }
            let result = try r.transcribe(try audio(clip))
            XCTAssertEqual(result.text, fx.metadata["expected.text"]?.stringValue, clip)
        }
    }
}
