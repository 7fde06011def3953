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

    /// The tiny model's bytes with `key`'s scalar value replaced (same GGUF type, same size).
    static func patched(_ key: String, _ value: Value) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ModelFixtures.path("tiny.gguf"))))
        // A metadata entry: u64 key length, the key, u32 value type, the value.
        let needle = GGUFBuilder.str(key)
        guard let start = (0...(bytes.count - needle.count)).first(where: { i in
            bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle
        }) else { throw XCTSkip("no key \(key) in tiny.gguf") }
        var at = start + needle.count
        let type = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        at += 4
        let raw: [UInt8]
        switch (type, value) {
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

    /// Loading (and, if it loads, decoding) the mutated model throws `ParaformerError`.
    func assertRefused(
        _ key: String, _ value: Value, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let path = try Self.patched(key, value)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try Recognizer(model: URL(fileURLWithPath: path))
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
