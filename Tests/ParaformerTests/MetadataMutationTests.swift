import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore

/// A model file whose metadata values are wrong (rather than whose bytes are broken) is
/// refused with a named error at load, never a trap (issue #16). Each case patches one scalar
/// of the tiny fixture in place, as Tools/mutate_metadata.py does over every scalar.
final class MetadataMutationTests: XCTestCase {
    enum Value {
        case uint(UInt64)
        case float(Double)
    }

    /// A model file's bytes (the tiny model's by default) with `key`'s scalar value replaced
    /// (same GGUF type, same size).
    static func patched(_ key: String, _ value: Value, in model: String = ModelFixtures.path("tiny.gguf")) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: model)))
        // A metadata entry: u64 key length, the key, u32 value type, the value.
        let needle = GGUFBuilder.str(key)
        guard let start = (0...(bytes.count - needle.count)).first(where: { i in
            bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle
        }) else { throw XCTSkip("no key \(key) in \(model)") }
        var at = start + needle.count
        let type = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        at += 4
        let raw: [UInt8]
        switch (type, value) {
        case (0, .uint(let v)): raw = [UInt8(truncatingIfNeeded: v)]  // uint8
        case (1, .uint(let v)): raw = [UInt8(truncatingIfNeeded: v)]  // int8
        case (7, .uint(let v)): raw = [v == 0 ? 0 : 1]  // bool
        case (4, .uint(let v)): raw = GGUFBuilder.le(UInt32(truncatingIfNeeded: v))  // uint32
        case (5, .uint(let v)): raw = GGUFBuilder.le(Int32(truncatingIfNeeded: v))  // int32
        case (10, .uint(let v)): raw = GGUFBuilder.le(v)  // uint64
        case (6, .float(let v)): raw = GGUFBuilder.le(Float(v).bitPattern)  // float32
        case (12, .float(let v)): raw = GGUFBuilder.le(v.bitPattern)  // float64
        default: throw XCTSkip("\(key) has GGUF type \(type), not the one this case writes")
        }
        bytes.replaceSubrange(at..<(at + raw.count), with: raw)
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("mutated-\(UUID().uuidString).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Loading the mutated model (`load`: as a Recognizer by default) throws
    /// `ParaformerError.invalidMetadata` naming `key`.
    func assertRefused(
        _ key: String, _ value: Value, in model: String = ModelFixtures.path("tiny.gguf"),
        load: (String) throws -> Any = { try Recognizer(model: URL(fileURLWithPath: $0)) },
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let path = try Self.patched(key, value, in: model)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try load(path)
            XCTFail("\(key) = \(value) loaded", file: file, line: line)
        } catch let error as ParaformerError {
            guard case .invalidMetadata(let k, _) = error else {
                return XCTFail("\(key) = \(value): \(error)", file: file, line: line)
            }
            XCTAssertEqual(k, key, "\(error)", file: file, line: line)
        }
    }

    /// The seven crashes the issue lists, now named errors.
    func testKnownCrashesAreNamedErrors() throws {
        try assertRefused("paraformer.frontend.frame_length_ms", .uint(0))
        try assertRefused("paraformer.frontend.frame_shift_ms", .uint(0))
        try assertRefused("paraformer.frontend.frame_length_ms", .uint(4_294_967_295))
        try assertRefused("paraformer.predictor.tail_threshold", .float(1e30))
        try assertRefused("paraformer.predictor.smooth_factor", .float(1e30))
        try assertRefused("paraformer.predictor.smooth_factor", .float(.nan))
        try assertRefused("paraformer.predictor.noise_threshold", .float(.nan))
    }

    /// A few more of the same kind the mutation tool found: infinities, a NaN threshold, a
    /// shift of a whole minute, CIF pads whose sum would overflow, absurd LFR factors.
    func testOtherAbsurdValuesAreNamedErrors() throws {
        try assertRefused("paraformer.predictor.tail_threshold", .float(.infinity))
        try assertRefused("paraformer.predictor.threshold", .float(.nan))
        try assertRefused("paraformer.predictor.threshold", .float(-1))
        try assertRefused("paraformer.frontend.frame_shift_ms", .uint(60_000))
        try assertRefused("paraformer.predictor.l_order", .uint(4_294_967_295))
        try assertRefused("paraformer.frontend.lfr_n", .uint(0))
        try assertRefused("paraformer.frontend.lfr_n", .uint(4_294_967_295))
    }

    /// The VAD, punctuation and hotword families (Tools/mutate_metadata.py over their fixtures,
    /// alone and inside the VAD → ASR → punctuation pipeline: no crash or hang; README): a
    /// sample of the values it tried, each refused at load with the key it concerns.
    func testVADPunctuationAndHotwordModelsRefuseAbsurdValues() throws {
        let vad = VADFixtures.path("vad-speech.gguf")
        let loadVAD: (String) throws -> Any = { try VoiceActivityDetector(modelPath: $0) }
        let minusOne = UInt64.max  // -1 once truncated to an int32
        for (key, value) in [
            ("fsmn_vad.frontend.frame_length_ms", Value.uint(0)), ("fsmn_vad.frontend.frame_shift_ms", .uint(0)),
            ("fsmn_vad.frontend.frame_shift_ms", .uint(4_294_967_295)), ("fsmn_vad.frontend.lfr_n", .uint(0)),
            ("fsmn_vad.frontend.n_mels", .uint(0)), ("fsmn_vad.encoder.lorder", .uint(4_294_967_295)),
            ("fsmn_vad.encoder.proj_dim", .uint(0)), ("fsmn_vad.window_size_ms", .uint(0)),
            ("fsmn_vad.speech_noise_thres", .float(.nan)), ("fsmn_vad.snr_thres", .float(.infinity)),
            ("fsmn_vad.noise_frame_num_used_for_snr", .uint(0)), ("fsmn_vad.max_single_segment_time", .uint(minusOne)),
            ("fsmn_vad.speech_to_sil_time_thres", .uint(minusOne)), ("fsmn_vad.lookahead_time_end_point", .uint(minusOne)),
            ("fsmn_vad.frame_in_ms", .uint(0)), ("fsmn_vad.detect_mode", .uint(2)),
        ] {
            try assertRefused(key, value, in: vad, load: loadVAD)
        }
        let loadPunctuation: (String) throws -> Any = { try Punctuator(modelPath: $0) }
        for model in ["punc.gguf", "punc-online.gguf"] {
            let path = Bundle.module.url(forResource: "Fixtures/punc/\(model)", withExtension: nil)!.path
            for (key, value) in [
                ("ct_punc.encoder.attention_heads", Value.uint(0)), ("ct_punc.encoder.attention_heads", .uint(4_294_967_295)),
                ("ct_punc.encoder.kernel_size", .uint(0)), ("ct_punc.encoder.sanm_shift", .uint(2_147_483_647)),
                ("ct_punc.encoder.sanm_shift", .uint(minusOne)), ("ct_punc.sentence_end_id", .uint(4_294_967_295)),
                ("ct_punc.embed_unit", .uint(0)), ("ct_punc.encoder.num_blocks", .uint(0)),
            ] {
                try assertRefused(key, value, in: path, load: loadPunctuation)
            }
        }
        let seaco = Bundle.module.url(forResource: "Fixtures/hotword/seaco-tiny.gguf", withExtension: nil)!.path
        for (key, value) in [
            ("seaco.decoder.attention_heads", Value.uint(0)), ("seaco.decoder.kernel_size", .uint(0)),
            ("seaco.decoder.sanm_shift", .uint(2_147_483_647)), ("seaco.predictor.smooth_factor2", .float(.nan)),
            ("seaco.predictor.noise_threshold2", .float(.infinity)), ("seaco.no_bias_id", .uint(4_294_967_295)),
        ] {
            try assertRefused(key, value, in: seaco)
        }
        let contextual = Bundle.module.url(forResource: "Fixtures/hotword/contextual-tiny.gguf", withExtension: nil)!.path
        try assertRefused("contextual.inner_dim", .uint(0), in: contextual)
        try assertRefused("contextual.inner_dim", .uint(4_294_967_295), in: contextual)
    }

    /// An array value that would trap in a conversion (sil_pdf_ids [1e30] as float32: the
    /// fixture's int32 array with its element type and element rewritten in place).
    func testVADClassIdsOutOfIntRangeAreANamedError() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: VADFixtures.path("vad-speech.gguf"))))
        let needle = GGUFBuilder.str("fsmn_vad.sil_pdf_ids")
        let start = try XCTUnwrap((0...(bytes.count - needle.count)).first { i in
            bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle
        })
        let at = start + needle.count  // u32 9 (array), u32 element type, u64 count, elements
        XCTAssertEqual(Array(bytes[at..<(at + 8)]), GGUFBuilder.le(UInt32(9)) + GGUFBuilder.le(UInt32(5)))
        bytes.replaceSubrange((at + 4)..<(at + 8), with: GGUFBuilder.le(UInt32(6)))  // float32
        bytes.replaceSubrange((at + 16)..<(at + 20), with: GGUFBuilder.le(Float(1e30).bitPattern))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mutated-\(UUID().uuidString).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try VoiceActivityDetector(modelPath: path)) {
            XCTAssertEqual($0 as? ParaformerError, .invalidMetadata(key: "fsmn_vad.sil_pdf_ids", reason: "not an array of class ids"))
        }
    }

    /// Fbank options from anywhere else (another family's metadata) are checked in Core too.
    func testFbankOptionsAreValidatedBeforeTheComputer() {
        for options in [
            FbankOptions(frameLengthMs: 0), FbankOptions(frameShiftMs: 0), FbankOptions(frameLengthMs: .nan),
            FbankOptions(frameLengthMs: 4_294_967_295), FbankOptions(frameShiftMs: 1e300),
            FbankOptions(sampleRate: 0), FbankOptions(numMelBins: 3),
        ] {
            XCTAssertThrowsError(try options.validate(), "\(options)")
            XCTAssertThrowsError(
                try OfflineFrontend(
                    cmvnShift: [Float](repeating: 0, count: 7 * options.numMelBins),
                    cmvnScale: [Float](repeating: 1, count: 7 * options.numMelBins), fbank: options))
        }
        XCTAssertNoThrow(try FbankOptions().validate())
    }
}
