import XCTest
@testable import Paraformer
final class TensorTests: XCTestCase {
    func testShape() { XCTAssertEqual(Shape([2, 3]).count, 6) }
}
