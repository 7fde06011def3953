import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// The cases written by `Tools/gen_text_fixtures.py` from FunASR's own functions.
struct TextFixture: Decodable {
    struct TextCase: Decodable {
        let tokens: [String]
        let text: String
        let words: [String]
        let timestamps_in: [[Int]]
        let ts_text: String?
        let ts_timestamps: [[Int]]?
        let ts_words: [String]?
        let ts_raises: Bool?
    }
    struct IDCase: Decodable {
        let vocab: [String]
        let ids: [Int]
        let blank: Int
        let sos: Int
        let eos: Int
        let tokens: [String]
        let text: String
    }
    struct TimestampCase: Decodable {
        /// "paraformer" (1.4.16's call), "intended" (PR #3716 order) or "core".
        let kind: String
        let name: String
        let tokens: [String]
        let vad_offset_ms: Int
        let force_time_shift: Double
        let upsample_rate: Int
        let expected: [[Int]]
        let fallback: Bool
        let alphas: String?
        let fires: String?
        let weights: String?
        let peaks: String?
    }
    let funasr_version: String
    let text_cases: [TextCase]
    let id_cases: [IDCase]
    let timestamp_cases: [TimestampCase]

    static let shared: TextFixture = {
        guard let url = Bundle.module.url(forResource: "Fixtures/text/cases", withExtension: "json")
        else { fatalError("Fixtures/text/cases.json missing from the test bundle") }
        do {
            return try JSONDecoder().decode(TextFixture.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot decode Fixtures/text/cases.json: \(error)")
        }
    }()

    /// Little-endian float32 values from base64.
    static func floats(_ base64: String?) -> [Float] {
        guard let base64, let data = Data(base64Encoded: base64) else { return [] }
        return stride(from: 0, to: data.count, by: 4).map { i in
            Float(bitPattern: data[data.startIndex + i..<data.startIndex + i + 4].enumerated()
                .reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
        }
    }

    static func spans(_ pairs: [[Int]]) -> [TimestampSpan] {
        pairs.map { TimestampSpan(startMs: $0[0], endMs: $0[1]) }
    }
}

final class TextFixtureTests: XCTestCase {
    func testFixtureComesFromFunASR1416() {
        let fixture = TextFixture.shared
        XCTAssertEqual(fixture.funasr_version, "1.4.16")
        XCTAssertGreaterThan(fixture.text_cases.count, 100)
        XCTAssertGreaterThan(fixture.timestamp_cases.count, 100)
    }
}
