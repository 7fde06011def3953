import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// A minimal GGUF v3 writer, so each malformed case is built byte by byte.
struct GGUFBuilder {
    var version: UInt32 = 3
    var magic: [UInt8] = Array("GGUF".utf8)
    var metadata: [(String, UInt32, [UInt8])] = []
    /// name, dims (PyTorch order), type, data, offset override
    var tensors: [(String, [Int], UInt32, [Float], UInt64?)] = []
    var alignment = 32
    var truncateTo: Int?

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

    mutating func addString(_ key: String, _ value: String) { metadata.append((key, 8, Self.str(value))) }
    mutating func addU32(_ key: String, _ value: UInt32) { metadata.append((key, 4, Self.le(value))) }

    func bytes() -> [UInt8] {
        var out = magic + Self.le(version) + Self.le(UInt64(tensors.count)) + Self.le(UInt64(metadata.count))
        for (k, t, v) in metadata { out += Self.str(k) + Self.le(t) + v }
        var offset: UInt64 = 0
        for (name, dims, type, data, forced) in tensors {
            out += Self.str(name) + Self.le(UInt32(dims.count))
            for d in dims.reversed() { out += Self.le(UInt64(d)) }
            out += Self.le(type)
            let o = forced ?? offset
            out += Self.le(o)
            let bytes = data.count * (type == 1 ? 2 : 4)
            offset += UInt64((bytes + alignment - 1) / alignment * alignment)
        }
        while out.count % alignment != 0 { out.append(0) }
        let start = out.count
        // Data goes at the natural offsets, whatever offset a tensor info claims.
        for t in tensors {
            for f in t.3 {
                if t.2 == 1 { out += Self.le(Float16(f).bitPattern) } else { out += Self.le(f.bitPattern) }
            }
            while (out.count - start) % alignment != 0 { out.append(0) }
        }
        while out.count % alignment != 0 { out.append(0) }
        if let truncateTo { return Array(out.prefix(truncateTo)) }
        return out
    }

    func write() throws -> String {
        let path = NSTemporaryDirectory() + "gguf-test-\(UUID().uuidString).gguf"
        try Data(bytes()).write(to: URL(fileURLWithPath: path))
        return path
    }
}

final class GGUFFileTests: XCTestCase {
    private func valid() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.addString("general.architecture", "paraformer")
        b.addU32("paraformer.vocab_size", 7)
        b.tensors = [("a.weight", [2, 3], 0, [1, 2, 3, 4, 5, 6], nil), ("b.bias", [8], 0, [7, 8, 9, 10, 11, 12, 13, 14], nil)]
        return b
    }

    private func assertInvalid(_ b: GGUFBuilder, contains fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try b.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try GGUFFile(path: path), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(fragment), "\(text) does not mention \(fragment)", file: file, line: line)
        }
    }

    func testReadsValidFileWithPyTorchShapesAndZeroCopyData() throws {
        let path = try valid().write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.metadata["general.architecture"], .string("paraformer"))
        XCTAssertEqual(f.metadata["paraformer.vocab_size"]?.intValue, 7)
        let a = try f.tensor("a.weight")
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertEqual(a.array, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try f.tensor("b.bias").array, [7, 8, 9, 10, 11, 12, 13, 14])
    }

    func testWidensF16TensorsToF32() throws {
        var b = valid()
        b.tensors.append(("h.weight", [2, 8], 1, [0.5, -1.25, 3, 0, 65504, -2, 0.125, 1, 1, 2, 3, 4, 5, 6, 7, 8], nil))
        let path = try b.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.info("h.weight")?.type, .f16)
        XCTAssertEqual(try f.tensor("h.weight").array, [0.5, -1.25, 3, 0, 65504, -2, 0.125, 1, 1, 2, 3, 4, 5, 6, 7, 8])
    }

    func testRejectsWrongMagic() throws {
        var b = valid()
        b.magic = Array("GGML".utf8)
        try assertInvalid(b, contains: "bad magic")
    }

    func testRejectsUnsupportedVersion() throws {
        var b = valid()
        b.version = 2
        try assertInvalid(b, contains: "version 2")
    }

    func testRejectsTruncatedHeader() throws {
        var b = valid()
        b.truncateTo = 40
        try assertInvalid(b, contains: "truncated")
        b.truncateTo = 10
        try assertInvalid(b, contains: "shorter than a GGUF header")
    }

    func testRejectsTensorDataPastEndOfFile() throws {
        var b = valid()
        b.tensors[1].4 = 4096
        try assertInvalid(b, contains: "past end of file")
    }

    func testRejectsMisalignedOffset() throws {
        var b = valid()
        b.tensors[1].4 = 4
        try assertInvalid(b, contains: "not aligned")
    }

    func testRejectsUnknownDtype() throws {
        var b = valid()
        b.tensors[0].2 = 99
        try assertInvalid(b, contains: "type 99")
    }

    func testRejectsDuplicateTensorName() throws {
        var b = valid()
        b.tensors[1].0 = "a.weight"
        try assertInvalid(b, contains: "duplicate tensor name")
    }

    func testRejectsHugeCountsWithoutAllocating() throws {
        var bytes = Array("GGUF".utf8) + GGUFBuilder.le(UInt32(3)) + GGUFBuilder.le(UInt64.max) + GGUFBuilder.le(UInt64(0))
        bytes += [UInt8](repeating: 0, count: 16)
        let path = NSTemporaryDirectory() + "gguf-huge-\(UUID().uuidString).gguf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try GGUFFile(path: path))
    }

    func testRejectsForeignAndMissingFiles() throws {
        let path = NSTemporaryDirectory() + "not-gguf-\(UUID().uuidString).wav"
        try Data(repeating: 0x52, count: 100).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try GGUFFile(path: path))
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf")) { error in
            XCTAssertEqual(error as? ParaformerError, .cannotOpenFile(path: "/nonexistent/model.gguf", reason: "No such file or directory"))
        }
        XCTAssertThrowsError(try GGUFFile(path: NSTemporaryDirectory())) // a directory
    }

    /// Every prefix of a valid file is rejected cleanly (never a crash). The last tensor fills its
    /// aligned block exactly, so every proper prefix lacks data.
    func testEveryTruncationIsRejected() throws {
        let full = valid().bytes()
        for n in stride(from: 0, to: full.count - 1, by: 3) {
            var b = valid()
            b.truncateTo = n
            let path = try b.write()
            XCTAssertThrowsError(try GGUFFile(path: path), "prefix of \(n) bytes")
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
