import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// The committed FSMN-VAD fixtures (Tests/ParaformerTests/Fixtures/vad, made by
/// Tools/gen_vad_fixtures.py): a random-weight loudness-detector model, audio recipes and
/// FunASR's outputs.
enum VADFixtures {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/vad/\(name)", withExtension: nil)!.path
    }

    static func ints(_ f: GGUFFile, _ key: String) -> [Int] {
        if f.metadata[key + "_empty"] != nil { return [] }
        return (f.metadata[key]?.arrayValue ?? []).compactMap(\.intValue)
    }

    static func int(_ f: GGUFFile, _ key: String) -> Int { f.metadata[key]?.intValue ?? -1 }

    static func segments(_ f: GGUFFile, _ key: String) -> [SpeechSegment] {
        let v = ints(f, key)
        return stride(from: 0, to: v.count, by: 2).map { SpeechSegment(startMs: v[$0], endMs: v[$0 + 1]) }
    }

    /// The int16 samples of a fixture's audio recipe, synthesised exactly as
    /// Tools/gen_vad_fixtures.py `synth` does (integer LCG noise, C-library sin), checked
    /// against the stored length and CRC-32.
    static func audio(_ f: GGUFFile, seed: UInt32 = 12345, file: StaticString = #filePath, line: UInt = #line) throws -> [Int16] {
        let kinds = ints(f, "fixture.parts.kind")
        let a = ints(f, "fixture.parts.a")
        let b = ints(f, "fixture.parts.b")
        let c = ints(f, "fixture.parts.c")
        let clipNames = (f.metadata["fixture.clips"]?.arrayValue ?? []).compactMap(\.stringValue)
        let amp = int(f, "fixture.noise_amplitude")
        var clips: [[Int16]] = []
        for name in clipNames where name != "-" {
            let url = Bundle.module.url(forResource: "Fixtures/heldout/\(name)", withExtension: nil)!
            let buf = try AudioDecoder.load(contentsOf: url)
            clips.append(buf.samples.map { Int16(($0 * 32768).rounded()) })
        }
        var out: [Int16] = []
        var s: UInt32 = seed
        for i in kinds.indices {
            var base: [Int] = []
            switch kinds[i] {
            case 2: base = clips[a[i]].map(Int.init)
            case 0: base = [Int](repeating: 0, count: a[i] * 16)
            default:
                base = (0..<(a[i] * 16)).map { n in
                    Int((Double(c[i]) * Foundation.sin(2 * Double.pi * Double(b[i]) * Double(n) / 16000) + 0.5).rounded(.down))
                }
            }
            out.reserveCapacity(out.count + base.count)
            for v in base {
                s = s &* 1_664_525 &+ 1_013_904_223
                let noise = Int(s >> 16) % (2 * amp + 1) - amp
                out.append(Int16(min(32767, max(-32768, v + noise))))
            }
        }
        XCTAssertEqual(out.count, int(f, "fixture.num_samples"), "recipe length", file: file, line: line)
        XCTAssertEqual(Int(crc32(out)), int(f, "fixture.crc32"), "recipe CRC-32", file: file, line: line)
        return out
    }

    static func floats(_ x: [Int16]) -> [Float] { x.map { Float($0) / 32768 } }

    /// zlib's CRC-32 of the samples' little-endian bytes.
    static func crc32(_ x: [Int16]) -> UInt32 {
        var table = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[i] = c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for v in x {
            let u = UInt16(bitPattern: v)
            for byte in [UInt8(u & 0xFF), UInt8(u >> 8)] {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
