import XCTest
@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet
final class TensorTests: XCTestCase {
    func testShape() { XCTAssertEqual(Shape([2, 3]).count, 6) }
}
