import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// `paraformer.linear_layout`: both layouts load and agree, and a file whose key is unknown or
/// does not match its tensors is refused with an error that names the problem.
final class LinearLayoutTests: XCTestCase {
    /// small-inout.gguf with the 6-byte value "in_out" replaced by `value` (same length).
    private func patchedCopy(_ value: String) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ModelFixtures.path("small-inout.gguf"))))
        let key = Array("paraformer.linear_layout".utf8)
        let old = Array("in_out".utf8)
        guard let k = (0...(bytes.count - key.count)).first(where: { Array(bytes[$0..<($0 + key.count)]) == key })
        else { throw XCTSkip("key not found") }
        // key bytes, u32 type, u64 length, then the string.
        let at = k + key.count + 4 + 8
        XCTAssertEqual(Array(bytes[at..<(at + 6)]), old)
        bytes.replaceSubrange(at..<(at + 6), with: Array(value.utf8))
        let path = NSTemporaryDirectory() + "layout-\(value)-\(UUID().uuidString).gguf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testBothLayoutsLoadTheSameModel() throws {
        let a = try ParaformerModel(file: try GGUFFile(path: ModelFixtures.path("small.gguf")))
        let b = try ParaformerModel(file: try GGUFFile(path: ModelFixtures.path("small-inout.gguf")))
        XCTAssertEqual(a.hparams.linearLayout, .outIn)
        XCTAssertEqual(b.hparams.linearLayout, .inOut)
        let fx = try GGUFFile(path: ModelFixtures.path("small__zh_short.gguf"))
        let features = try fx.tensor("features")
        let outA = a.run([features], keepIntermediates: true, Workspace())[0]
        let outB = b.run([features], keepIntermediates: true, Workspace())[0]
        XCTAssertEqual(outA.tokenIds, outB.tokenIds)
        let scale = outA.logits!.map(abs).max()!
        let worst = zip(outA.logits!, outB.logits!).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst / scale, 1e-5)
    }

    func testUnknownLayoutIsRefused() throws {
        let path = try patchedCopy("rowmaj")
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try Recognizer(model: URL(fileURLWithPath: path))) { error in
            XCTAssertTrue("\(error)".contains("paraformer.linear_layout"), "\(error)")
        }
    }

    func testLayoutThatContradictsTheTensorsIsRefused() throws {
        // Says out_in, but the Linear weights are stored [in, out]: the first non-square one
        // has the wrong shape.
        let path = try patchedCopy("out_in")
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try Recognizer(model: URL(fileURLWithPath: path))) { error in
            guard case ParaformerError.shapeMismatch(let name, _, _) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(name.hasSuffix(".weight"), name)
        }
    }
}
