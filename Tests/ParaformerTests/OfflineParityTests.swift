import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// Offline Paraformer against FunASR 1.4.16 (`Paraformer.inference`, dither 0) on random-weight
/// models built with FunASR's own classes (Tools/make_random_model.py, Tools/gen_model_fixtures.py).
///
/// Tolerances (max over all elements): features ≤ 1e-3 absolute; encoder output, alphas and
/// acoustic embeddings ≤ 1e-4 relative to the tensor's max magnitude; decoder logits ≤ 1e-3
/// relative; token counts, ids, text and timestamps exact.
final class OfflineParityTests: XCTestCase {
    let featureTolerance: Float = 1e-3
    let encoderTolerance: Float = 1e-4
    let logitTolerance: Float = 1e-3
    /// Committed fixtures, plus the full paraformer-large ones when PARAFORMER_LARGE_FIXTURES
    /// names the folder `Tools/gen_model_fixtures.py all --large` filled (with large.gguf).
    /// `small-inout` is `small` with its Linear weights stored [in, out] (Tools/relayout_gguf.py):
    /// the same weights, so FunASR's `small` outputs.
    var models: [String] { ["tiny", "small", "small-inout"] + (Self.largeDirectory != nil ? ["large"] : []) }

    /// The fixture prefix of FunASR's outputs for a model file.
    static func expected(_ modelName: String) -> String {
        modelName.hasSuffix("-inout") ? String(modelName.dropLast("-inout".count)) : modelName
    }
    let clips = ["zh_short", "en", "mix", "zh_long"]

    static let largeDirectory: String? = ProcessInfo.processInfo.environment["PARAFORMER_LARGE_FIXTURES"]

    static func fixture(_ name: String) -> String {
        if name.hasPrefix("large"), let dir = largeDirectory { return dir + "/" + name }
        return ModelFixtures.path(name)
    }

    private func relativeError(_ got: [Float], _ expected: Tensor) -> Float {
        let e = expected.array
        guard got.count == e.count else { return .infinity }
        let scale = max(e.map(abs).max() ?? 0, 1e-6)
        return (zip(got, e).map { abs($0 - $1) }.max() ?? 0) / scale
    }

    private func ints(_ v: GGUFFile.Value?) -> [Int] { v?.arrayValue?.compactMap(\.intValue) ?? [] }
    private func string(_ f: GGUFFile, _ key: String) -> String? { f.metadata[key]?.stringValue }

    func testEveryStageMatchesFunASR() throws {
        for modelName in models {
            let file = try GGUFFile(path: Self.fixture("\(modelName).gguf"))
            let model = try ParaformerModel(file: file)
            let frontend = try OfflineFrontend(file: file, hparams: model.hparams)
            for clip in clips {
                let label = "\(modelName)/\(clip)"
                let fx = try GGUFFile(path: Self.fixture("\(Self.expected(modelName))__\(clip).gguf"))
                // Frontend on FunASR's waveform.
                let features = try frontend.features(samples: try fx.tensor("waveform").array)
                let expectedFeatures = try fx.tensor("features")
                XCTAssertEqual(features.shape, expectedFeatures.shape, label)
                let featureError = zip(features.array, expectedFeatures.array).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(featureError, featureTolerance, "features \(label)")

                // The network on FunASR's features, stage by stage.
                let out = model.run([expectedFeatures], keepIntermediates: true, Workspace())[0]
                XCTAssertLessThanOrEqual(
                    relativeError(out.encoderOut!, try fx.tensor("encoder_out")), encoderTolerance, "encoder \(label)")
                XCTAssertLessThanOrEqual(
                    relativeError(out.alphas, try fx.tensor("alphas")), encoderTolerance, "alphas \(label)")
                XCTAssertLessThanOrEqual(
                    relativeError(out.firing.peaks, try fx.tensor("cif_peak")), encoderTolerance, "cif_peak \(label)")
                XCTAssertEqual(out.firing.tokenCount, Int(try fx.tensor("token_num")[0]), "token count \(label)")
                XCTAssertLessThanOrEqual(
                    relativeError(out.embeddings!, try fx.tensor("acoustic_embeds")), encoderTolerance,
                    "acoustic embeddings \(label)")
                XCTAssertLessThanOrEqual(
                    relativeError(out.logits!, try fx.tensor("logits")), logitTolerance, "logits \(label)")
                XCTAssertEqual(out.tokenIds, try fx.tensor("token_ids").array.map { Int($0) }, "token ids \(label)")
                if Self.largeDirectory != nil {
                    print("parity \(label): encoder \(relativeError(out.encoderOut!, try fx.tensor("encoder_out"))), "
                        + "alphas \(relativeError(out.alphas, try fx.tensor("alphas"))), "
                        + "embeds \(relativeError(out.embeddings!, try fx.tensor("acoustic_embeds"))), "
                        + "logits \(relativeError(out.logits!, try fx.tensor("logits"))), features \(featureError), "
                        + "tokens \(out.tokenIds.count)")
                }
            }
        }
    }

    func testTranscriptsAndTimestampsMatchFunASR() throws {
        for modelName in models {
            let path = Self.fixture("\(modelName).gguf")
            let fixed = try Recognizer(model: URL(fileURLWithPath: path))
            let legacy = try Recognizer(model: URL(fileURLWithPath: path), options: RecognizerOptions(timestampOrder: .funasr1416))
            for clip in clips {
                let label = "\(modelName)/\(clip)"
                let fx = try GGUFFile(path: Self.fixture("\(Self.expected(modelName))__\(clip).gguf"))
                let wave = try fx.tensor("waveform").array
                let r = try fixed.transcribe(.samples(wave, sampleRate: 16000))
                XCTAssertEqual(r.text, string(fx, "fixture.text"), label)
                XCTAssertEqual(r.timestampText, string(fx, "fixture.text_with_timestamp_mode"), label)
                XCTAssertEqual(r.tokens.map(\.text), fx.metadata["fixture.tokens"]?.arrayValue?.compactMap(\.stringValue), label)
                XCTAssertEqual(r.timestamps.flatMap { $0 }, ints(fx.metadata["fixture.timestamps_fixed_order"]), label)
                let l = try legacy.transcribe(.samples(wave, sampleRate: 16000))
                XCTAssertEqual(l.timestamps.flatMap { $0 }, ints(fx.metadata["fixture.timestamps"]), label)
                XCTAssertEqual(
                    l.tokens.flatMap { [$0.startMs, $0.endMs] }, ints(fx.metadata["fixture.token_timestamps"]), label)
            }
        }
    }

    /// A padded batch gives exactly what one-by-one decoding gives (FunASR's single-utterance
    /// text). FunASR's own batch lets padding frames leak into a shorter utterance's last CIF
    /// frame, so only the longest (unpadded) utterance must equal FunASR's batch output.
    func testBatchEqualsOneByOne() throws {
        let batchClips = ["zh_short", "en", "zh_long"]  // the last is the longest
        for modelName in models {
            let recognizer = try Recognizer(
                model: URL(fileURLWithPath: Self.fixture("\(modelName).gguf")), options: RecognizerOptions(batchSize: 3))
            let batchFixture = try GGUFFile(path: Self.fixture("\(Self.expected(modelName))__batch.gguf"))
            var inputs: [AudioBuffer] = []
            var singleTexts: [String?] = []
            for clip in batchClips {
                let fx = try GGUFFile(path: Self.fixture("\(Self.expected(modelName))__\(clip).gguf"))
                inputs.append(try AudioBuffer(samples: try fx.tensor("waveform").array, sampleRate: 16000))
                singleTexts.append(string(fx, "fixture.text"))
            }
            let batched = try recognizer.transcribe(batch: inputs)
            XCTAssertEqual(batched.count, 3)
            for (i, input) in inputs.enumerated() {
                let single = try recognizer.transcribe(.samples(input.samples, sampleRate: 16000))
                XCTAssertEqual(batched[i].tokenIds, single.tokenIds, "\(modelName) utterance \(i)")
                XCTAssertEqual(batched[i].text, single.text)
                XCTAssertEqual(batched[i].timestamps, single.timestamps)
                XCTAssertEqual(batched[i].text, singleTexts[i], "\(modelName) utterance \(i)")
            }
            XCTAssertEqual(batched[2].text, string(batchFixture, "fixture.u2.text"), modelName)
            let longest = batchFixture.metadata["fixture.u2.num_frames"]?.intValue ?? 0
            for i in 0..<2 {
                XCTAssertLessThan(batchFixture.metadata["fixture.u\(i).num_frames"]?.intValue ?? .max, longest)
            }
        }
    }

    func testSilenceAndTooShortAudioGiveEmptyText() throws {
        let recognizer = try Recognizer(model: URL(fileURLWithPath: Self.fixture("tiny.gguf")))
        XCTAssertEqual(try recognizer.transcribe(.samples([Float](repeating: 0, count: 300), sampleRate: 16000)).text, "")
        XCTAssertEqual(try recognizer.transcribe(.samples([Float](repeating: 0, count: 1), sampleRate: 16000)).text, "")
        XCTAssertThrowsError(try recognizer.transcribe(.samples([Float](), sampleRate: 16000)))
        XCTAssertThrowsError(try recognizer.transcribe(.samples([0.1, .nan], sampleRate: 16000)))
        XCTAssertThrowsError(try recognizer.transcribe(.samples([0.1, 0.2], sampleRate: 0)))
        let short = try Recognizer(model: URL(fileURLWithPath: Self.fixture("tiny.gguf")), options: RecognizerOptions(maxDuration: 0.5))
        XCTAssertThrowsError(try short.transcribe(.samples([Float](repeating: 0, count: 16000), sampleRate: 16000))) { error in
            XCTAssertTrue("\(error)".contains("longer than the 0 s decoded in one piece") || "\(error)".contains("split it"), "\(error)")
        }
        XCTAssertThrowsError(try Recognizer(model: URL(fileURLWithPath: Self.fixture("tiny.gguf")), options: RecognizerOptions(maxDuration: -1)))
    }

    func testRejectsModelWithMissingOrMisshapenTensors() throws {
        // A fixture file (tensors of one utterance) is not a model.
        XCTAssertThrowsError(try Recognizer(model: URL(fileURLWithPath: Self.fixture("tiny__en.gguf")))) { error in
            XCTAssertEqual(error as? ParaformerError, .unsupportedArchitecture("paraformer-fixture"))
        }
        XCTAssertThrowsError(try Recognizer(model: URL(fileURLWithPath: Self.fixture("tiny.gguf")), options: RecognizerOptions(batchSize: 0)))
    }
}
