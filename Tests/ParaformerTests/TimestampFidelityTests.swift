import Foundation
import XCTest

@testable import ParaformerCore

/// `Fixtures/text/timestamp_fidelity.json` (Tools/gen_ts_fidelity_fixtures.py): FunASR 1.4.16's
/// timestamp fallback on long audio, where one rounding of a float32 sum moves a boundary.
struct TimestampFidelityFixture: Decodable {
    /// `torch.Tensor.sum()` of LCG values (regenerated here, see `values`).
    struct SumCase: Decodable {
        let count: Int
        let seed: UInt32
        let scale_exp: Int
        let fires: Bool
        let sum_bits: UInt32
        let float64_sum_differs: Bool
    }
    /// Alphas on which torch's sum order and a float64 sum give different timestamps.
    struct OrderCase: Decodable {
        let name: String
        let order: String
        let alphas: String
        let tokens: [String]
        let expected: [[Int]]
    }
    /// FunASR's own call on a random-weight model and a long clip.
    struct ModelCase: Decodable {
        let name: String
        let sample_rate: Int
        let seconds: Double
        let fallback: Bool
        /// FunASR's timestamps differ when its sum is replaced by a float64 one.
        let float64_sum_differs: Bool
        let alphas: String
        let tokens: [String]
        let expected: [[Int]]
    }
    let funasr_version: String
    let torch_cpu_capability: String
    let sum_cases: [SumCase]
    let order_cases: [OrderCase]
    let model_cases: [ModelCase]

    static let shared: TimestampFidelityFixture = {
        guard let url = Bundle.module.url(forResource: "Fixtures/text/timestamp_fidelity", withExtension: "json")
        else { fatalError("Fixtures/text/timestamp_fidelity.json missing from the test bundle") }
        do {
            return try JSONDecoder().decode(TimestampFidelityFixture.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot decode Fixtures/text/timestamp_fidelity.json: \(error)")
        }
    }()

    /// The generator's values: x ← 1664525·x + 1013904223 (mod 2^32), value (x >> 8)·2^(e−24)
    /// (exact in float32), plus 1 on every 7th (from the 4th) when `fires`.
    static func values(_ c: SumCase) -> [Float] {
        var x = c.seed
        let scale = Float(sign: .plus, exponent: c.scale_exp - 24, significand: 1)
        return (0..<c.count).map { i in
            x = 1_664_525 &* x &+ 1_013_904_223
            let v = Float(x >> 8) * scale
            return c.fires && i % 7 == 3 ? v + 1 : v
        }
    }
}

final class TimestampFidelityTests: XCTestCase {
    let fixture = TimestampFidelityFixture.shared

    func testFixtureComesFromFunASR1416WithEightLaneSums() {
        XCTAssertEqual(fixture.funasr_version, "1.4.16")
        XCTAssertTrue(["AVX2", "DEFAULT"].contains(fixture.torch_cpu_capability), fixture.torch_cpu_capability)
    }

    func testSumRoundsAsTorch() {
        XCTAssertGreaterThan(fixture.sum_cases.filter(\.float64_sum_differs).count, 10)
        for c in fixture.sum_cases {
            let sum = TorchFloatSum.sum(TimestampFidelityFixture.values(c))
            XCTAssertEqual(sum.bitPattern, c.sum_bits, "n = \(c.count): \(sum) vs \(Float(bitPattern: c.sum_bits))")
        }
    }

    func testSumOrderDecidesBoundaries() {
        let orders = Set(fixture.order_cases.map(\.order))
        XCTAssertEqual(orders, ["funasr1416", "intended"])
        for c in fixture.order_cases {
            let spans = TimestampPredictor.paraformerTimestamps(
                alphas: TextFixture.floats(c.alphas), tokens: c.tokens,
                order: c.order == "intended" ? .intended : .funasr1416)
            XCTAssertEqual(spans, TextFixture.spans(c.expected), c.name)
        }
    }

    func testLongAudioOnRandomModelsMatchesFunASR1416() {
        let cases = fixture.model_cases
        XCTAssertTrue(cases.allSatisfy(\.fallback))
        XCTAssertEqual(Set(cases.map(\.sample_rate)), [8000, 16000])
        XCTAssertGreaterThan(cases.map(\.seconds).max() ?? 0, 50)
        XCTAssertTrue(cases.contains(where: \.float64_sum_differs))
        for c in cases {
            let spans = TimestampPredictor.paraformerTimestamps(
                alphas: TextFixture.floats(c.alphas), tokens: c.tokens)
            XCTAssertEqual(spans, TextFixture.spans(c.expected), c.name)
        }
    }
}
