import Foundation
import XCTest

@testable import Paraformer
import ParaformerCore
import ParaformerModels

/// SeACo-Paraformer and Contextual Paraformer with hotwords against FunASR 1.4.16
/// (`AutoModel.generate(input, hotword=...)`, dither 0) on tiny random-weight models built with
/// FunASR's classes (Tools/gen_hotword_fixtures.py). The weights are arranged so that the
/// hotword cases give different outputs (the generator asserts at least three distinct
/// transcripts per clip), so a no-op biasing path fails these tests.
///
/// Tolerances (max over all elements, relative to the tensor's max magnitude): hotword vectors
/// (bias encoder output) ≤ 1e-4; DHA logits, merged and decoder log-probabilities ≤ 1e-3;
/// hotword token ids, decoded ids, text and timestamps exact.
final class HotwordParityTests: XCTestCase {
    let vectorTolerance: Float = 1e-4
    let logProbTolerance: Float = 1e-3

    static func path(_ name: String) -> String {
        if name.contains("-large"), let dir = largeDirectory { return dir + "/" + name }
        if name.hasPrefix("hotwords_large"), let dir = largeDirectory { return dir + "/" + name }
        return Bundle.module.url(forResource: "Fixtures/hotword/\(name)", withExtension: nil)!.path
    }

    /// The released SeACo size (random weights), checked when HOTWORD_LARGE_FIXTURES names the
    /// folder `Tools/gen_hotword_fixtures.py --large` filled.
    static let largeDirectory: String? = ProcessInfo.processInfo.environment["HOTWORD_LARGE_FIXTURES"]

    static func audio(_ clip: String) -> URL { URL(fileURLWithPath: ModelFixtures.path("audio/\(clip).wav")) }

    /// The `hotword` value of a case as the test passes it (files from the fixture folder).
    static func hotwordValue(_ fx: GGUFFile, _ c: String) -> String? {
        guard let v = fx.metadata["fixture.\(c).hotword"]?.stringValue, v != "<None>" else { return nil }
        return v.hasSuffix(".txt") ? path(v) : v
    }

    private func relativeError(_ got: [Float], _ expected: Tensor) -> Float {
        let e = expected.array
        guard got.count == e.count else { return .infinity }
        let scale = max(e.map(abs).max() ?? 0, 1e-6)
        return (zip(got, e).map { abs($0 - $1) }.max() ?? 0) / scale
    }

    private func ints(_ fx: GGUFFile, _ key: String) -> [Int] {
        fx.metadata[key]?.arrayValue?.compactMap(\.intValue) ?? []
    }

    private func strings(_ fx: GGUFFile, _ key: String) -> [String] {
        fx.metadata[key]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// Every case of one family: hotword ids and vectors, then per clip the decoded ids,
    /// intermediates, text and timestamps.
    func checkFamily(_ name: String, minimumCases: Int = 8) throws {
        let recognizer = try Recognizer(model: URL(fileURLWithPath: Self.path("\(name).gguf")))
        XCTAssertTrue(recognizer.supportsHotwords)
        let fx = try GGUFFile(path: Self.path("\(name)__expected.gguf"))
        let clips = strings(fx, "fixture.clips"), cases = strings(fx, "fixture.cases")
        XCTAssertFalse(clips.isEmpty)
        XCTAssertGreaterThanOrEqual(cases.count, minimumCases)
        var checked = 0
        for c in cases {
            let value = Self.hotwordValue(fx, c)
            let list = try value.map { try recognizer.hotwords($0) }
            if let list {
                // generate_hotwords_list: the same id lists, <s> entry last
                XCTAssertEqual(list.tokenIds.map(\.count), ints(fx, "fixture.\(c).hotword_lengths"), "\(name) \(c) lengths")
                XCTAssertEqual(list.tokenIds.flatMap { $0 }, ints(fx, "fixture.\(c).hotword_ids"), "\(name) \(c) ids")
            }
            for clip in clips {
                let key = "\(clip).\(c)"
                let label = "\(name) \(key)"
                let audio = try AudioDecoder.load(contentsOf: Self.audio(clip))
                let features = try recognizer.frontend.features(samples: audio.samples)
                var timings = StageTimings()
                let ws = Workspace()
                if let m = recognizer.seacoModel {
                    let out = m.run(features, hotwords: list?.vectors, keepIntermediates: true, ws, timings: &timings)
                    XCTAssertEqual(out.tokenIds, ints(fx, "fixture.\(key).token_ids"), "ids \(label)")
                    if let merged = out.merged {
                        XCTAssertLessThanOrEqual(relativeError(merged, try fx.tensor("\(key).merged")), logProbTolerance, "merged \(label)")
                    }
                    if list != nil, let dha = out.dhaLogits {
                        XCTAssertLessThanOrEqual(relativeError(dha, try fx.tensor("\(key).dha_logits")), logProbTolerance, "dha \(label)")
                    } else {
                        XCTAssertNil(out.dhaLogits, label)
                    }
                    if let s = out.asfScores {
                        XCTAssertLessThanOrEqual(relativeError(s, try fx.tensor("\(key).asf_scores")), vectorTolerance, "asf \(label)")
                    }
                    XCTAssertEqual(out.asfScores != nil, fx.info("\(key).asf_scores") != nil, "ASF ran \(label)")
                    XCTAssertLessThanOrEqual(relativeError(out.usAlphas, try fx.tensor("\(key).us_alphas")), vectorTolerance, "us_alphas \(label)")
                } else if let m = recognizer.contextualModel {
                    let out = m.run(features, hotwords: list?.vectors, keepIntermediates: true, ws, timings: &timings)
                    XCTAssertEqual(out.tokenIds, ints(fx, "fixture.\(key).token_ids"), "ids \(label)")
                    XCTAssertLessThanOrEqual(relativeError(out.logProbs ?? [], try fx.tensor("\(key).log_probs")), logProbTolerance, "log_probs \(label)")
                }
                if clip == clips[0], fx.info("\(c).hotword_vectors") != nil {
                    let vectors = list?.vectors.array ?? (recognizer.contextualModel?.defaultVectors.array ?? [])
                    XCTAssertLessThanOrEqual(relativeError(vectors, try fx.tensor("\(c).hotword_vectors")), vectorTolerance, "vectors \(label)")
                }
                // The public API: FunASR's text and timestamps.
                let r = try recognizer.transcribe(.file(Self.audio(clip)), hotwords: list)
                XCTAssertEqual(r.text, fx.metadata["fixture.\(key).text"]?.stringValue, "text \(label)")
                XCTAssertEqual(r.timestamps.flatMap { $0 }, ints(fx, "fixture.\(key).timestamps"), "timestamps \(label)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, clips.count * cases.count)
    }

    func testSeacoMatchesFunASR() throws {
        try checkFamily("seaco-tiny")
        if Self.largeDirectory != nil { try checkFamily("seaco-large", minimumCases: 4) }
    }

    func testContextualMatchesFunASR() throws {
        try checkFamily("contextual-tiny")
    }

    /// The fixtures exercise what they claim: hotwords change the transcript, the ASF filter
    /// runs for the long list, and "" differs from no hotword for SeACo.
    func testHotwordsChangeSeacoOutput() throws {
        let fx = try GGUFFile(path: Self.path("seaco-tiny__expected.gguf"))
        for clip in strings(fx, "fixture.clips") {
            let texts = Set(strings(fx, "fixture.cases").compactMap { fx.metadata["fixture.\(clip).\($0).text"]?.stringValue })
            XCTAssertGreaterThanOrEqual(texts.count, 3, clip)
        }
        XCTAssertNotEqual(ints(fx, "fixture.zh_long.none.token_ids"), ints(fx, "fixture.zh_long.empty.token_ids"))
        XCTAssertNotNil(fx.info("zh_long.many.asf_scores"))
    }
}
