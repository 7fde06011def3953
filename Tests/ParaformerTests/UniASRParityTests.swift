import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// UniASR against FunASR 1.4.16 (`UniASR.inference`, dither 0, beam 5) in all three decoding
/// modes, on a random-weight model built with FunASR's own classes
/// (Tools/gen_uniasr_fixtures.py; one fresh FunASR model per mode).
///
/// Tolerances: encoder outputs, CIF weights and acoustic embeddings ≤ 1e-4 relative to the
/// tensor's max magnitude (FSMN pad rows excluded: FunASR leaves values there that nothing
/// reads); hypothesis scores (summed log-probabilities over up to 40 steps) ≤ 1e-3 absolute;
/// SCAMA mask rows, token ids and text exact.
final class UniASRParityTests: XCTestCase {
    let encoderTolerance: Float = 1e-4
    let scoreTolerance: Float = 1e-3

    static func fixture(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/uniasr/\(name)", withExtension: nil)!.path
    }

    struct Case: Decodable {
        struct Hyp: Decodable {
            var yseq: [Int]
            var score: Float
        }
        var mode: String
        var clip: String
        var text: String?
        var token_ids: [Int]?
        var alpha_sum: Float?
        var maxlen: Int?
        var hyps: [Hyp]?
        var error: String?
    }

    static func cases(_ fx: GGUFFile) throws -> [Case] {
        let json = try XCTUnwrap(fx.metadata["fixture.json"]?.stringValue)
        struct Root: Decodable { var cases: [Case] }
        return try JSONDecoder().decode(Root.self, from: Data(json.utf8)).cases
    }

    /// Max |a − b| over the data rows (pad rows excluded) relative to max |b|.
    func relativeError(_ got: [Float], _ expected: Tensor, chunks: OverlapChunks) -> Float {
        let d = expected.cols
        guard got.count == expected.count, expected.rows == chunks.chunkedLength else { return .infinity }
        var err: Float = 0
        var scale: Float = 1e-6
        for k in 0..<chunks.count {
            for r in 0..<chunks.rows(ofChunk: k) {
                let p = chunks.chunkedPosition(chunk: k, row: r)
                for c in 0..<d {
                    scale = max(scale, abs(expected[p * d + c]))
                    err = max(err, abs(got[p * d + c] - expected[p * d + c]))
                }
            }
        }
        return err / scale
    }

    func relativeError(_ got: [Float], _ expected: [Float]) -> Float {
        guard got.count == expected.count else { return .infinity }
        let scale = max(expected.map(abs).max() ?? 0, 1e-6)
        return (zip(got, expected).map { abs($0 - $1) }.max() ?? 0) / scale
    }

    func testEveryModeMatchesFunASR() throws {
        let file = try GGUFFile(path: Self.fixture("uniasr-tiny.gguf"))
        let model = try UniASRModel(file: file)
        let tokens = try TokenTable(file: file, vocabSize: model.config.vocabSize)
        let fx = try GGUFFile(path: Self.fixture("uniasr-tiny__expected.gguf"))
        let all = try Self.cases(fx)
        XCTAssertEqual(all.count, 9)
        var texts: [String: Set<String>] = [:]
        for c in all {
            let label = "\(c.mode)/\(c.clip)"
            let mode = try XCTUnwrap(UniASRDecodingMode(rawValue: c.mode))
            let features = try fx.tensor("\(c.clip).features")
            let out = model.run(features, mode: mode, keepIntermediates: true, Workspace())
            let c1 = OverlapChunks(frames: features.rows, model.config.encoder, index: mode.chunkIndex)
            XCTAssertLessThanOrEqual(
                relativeError(
                    out.encoderOut!,
                    try fx.tensor("\(label.replacingOccurrences(of: "/", with: ".")).encoder_out"), chunks: c1
                ),
                encoderTolerance, "encoder \(label)")
            if mode != .fast {
                let t2 = (features.rows - 1) / model.config.strideStep + 1
                let c2 = OverlapChunks(frames: t2, model.config.encoder2, index: mode.chunkIndex)
                XCTAssertLessThanOrEqual(
                    relativeError(
                        out.encoder2Out!, try fx.tensor("\(c.mode).\(c.clip).encoder2_out"), chunks: c2),
                    encoderTolerance, "encoder2 \(label)")
            }
            XCTAssertLessThanOrEqual(
                relativeError(out.alphas, try fx.tensor("\(c.mode).\(c.clip).alphas").array),
                encoderTolerance,
                "alphas \(label)")
            let expectedSum = try XCTUnwrap(c.alpha_sum)
            XCTAssertEqual(out.alphaSum, expectedSum, accuracy: 1e-4 * max(1, expectedSum), "Σα \(label)")
            if let err = c.error {
                // FunASR fails below Σα = 1; the engine decodes nothing there.
                XCTAssertLessThan(out.alphaSum, 1, "\(label): FunASR failed with \(err)")
                XCTAssertTrue(out.hypotheses.isEmpty, label)
                XCTAssertTrue(out.tokenIds.isEmpty, label)
                continue
            }
            let embeds = try fx.tensor("\(c.mode).\(c.clip).acoustic_embeds").array
            XCTAssertLessThanOrEqual(
                relativeError(out.embeddings!, embeds), encoderTolerance, "embeddings \(label)")
            // SCAMA mask: each row's allowed columns are exactly one chunk's data rows.
            let mask = try fx.tensor("\(c.mode).\(c.clip).scama_mask")
            XCTAssertEqual(out.maskChunks.count, mask.rows, "mask rows \(label)")
            let memoryChunks =
                mode == .fast
                ? c1
                : OverlapChunks(
                    frames: (features.rows - 1) / model.config.strideStep + 1, model.config.encoder2,
                    index: mode.chunkIndex)
            for (j, k) in out.maskChunks.enumerated() where j < mask.rows {
                var row = [Float](repeating: 0, count: mask.cols)
                for r in 0..<memoryChunks.rows(ofChunk: k) {
                    row[memoryChunks.chunkedPosition(chunk: k, row: r)] = 1
                }
                XCTAssertEqual(
                    row, Array(UnsafeBufferPointer(start: mask.row(j), count: mask.cols)),
                    "mask row \(j) \(label)")
            }
            // Beam search: every ended hypothesis FunASR returned, in order, with its score.
            let hyps = try XCTUnwrap(c.hyps)
            XCTAssertEqual(out.hypotheses.count, hyps.count, "ended hypotheses \(label)")
            for (got, want) in zip(out.hypotheses, hyps) {
                XCTAssertEqual(got.tokens, want.yseq, "hypothesis \(label)")
                XCTAssertEqual(got.score, want.score, accuracy: scoreTolerance, "score \(label)")
            }
            XCTAssertEqual(out.tokenIds, c.token_ids ?? [], "token ids \(label)")
            let text = UniASRRecognition.text(out.tokenIds, tokens)
            XCTAssertEqual(text, c.text, "text \(label)")
            texts[c.clip, default: []].insert(text)
            // The fixture is informative: not empty, not one repeated token.
            XCTAssertGreaterThan(Set(out.tokenIds).count, 1, label)
        }
        // The three modes decode differently.
        for (clip, set) in texts { XCTAssertEqual(set.count, 3, "modes give different text for \(clip)") }
    }
}
