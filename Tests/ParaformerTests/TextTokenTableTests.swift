import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

final class TextTokenTableTests: XCTestCase {
    func testIDsToTokensMatchesFunASR() {
        for c in TextFixture.shared.id_cases {
            let table = TokenTable(tokens: c.vocab)
            let tokens = table.tokens(for: c.ids, skipping: [c.eos, c.sos, c.blank])
            XCTAssertEqual(tokens, c.tokens, "\(c.ids)")
            XCTAssertEqual(TextPostprocessor.text(from: tokens), c.text, "\(c.ids)")
        }
    }

    func testLooksUpIDsByExactCodePoints() {
        let table = TokenTable(tokens: ["<blank>", "\u{e9}", "e\u{301}", "a"])
        XCTAssertEqual(table.count, 4)
        XCTAssertEqual(table[3], "a")
        XCTAssertEqual(table.id(of: "\u{e9}"), 1)
        XCTAssertEqual(table.id(of: "e\u{301}"), 2)
        XCTAssertNil(table.id(of: "b"))
    }
}
