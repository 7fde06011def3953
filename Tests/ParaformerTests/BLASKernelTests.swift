import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

final class BLASKernelTests: XCTestCase {
    func testExplicitCoreTypeIsLeftAlone() {
        XCTAssertNil(BLASKernel.preferredCoreType(environment: ["OPENBLAS_CORETYPE": "Zen"]))
    }

    func testOverrideVariableWinsAndDefaultKeepsOpenBLASChoice() {
        XCTAssertEqual(BLASKernel.preferredCoreType(environment: ["PARAFORMER_BLAS_CORETYPE": "SkylakeX"]), "SkylakeX")
        XCTAssertNil(BLASKernel.preferredCoreType(environment: ["PARAFORMER_BLAS_CORETYPE": "default"]))
    }

    func testStreamingKeepsOpenBLASChoiceUnlessTold() {
        XCTAssertNil(BLASKernel.preferredCoreType(environment: [:], workload: .streaming))
        XCTAssertEqual(
            BLASKernel.preferredCoreType(environment: ["PARAFORMER_BLAS_CORETYPE": "Zen"], workload: .streaming), "Zen")
    }

    func testGemmProbeReportsAPlausibleRate() {
        let g = BLASKernel.measureEncoderGemm(rows: 64, d: 64, units: 256, seconds: 0.05)
        XCTAssertGreaterThan(g, 0.1)
        XCTAssertFalse(BLAS.coreName.isEmpty)
    }
}
