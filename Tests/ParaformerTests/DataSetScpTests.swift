import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// `WavScp`, `KaldiTextFile` and `ShardSpec`.
final class DataSetScpTests: XCTestCase {
    let base = URL(fileURLWithPath: "/nonexistent/data")

    func testSkipsBlankLinesAndAcceptsTabsAndSpaces() {
        let scp = WavScp.parse("\n a  /x/a.wav\n\n\tb\t/x/b.wav  \n   \nc /x/c.wav", baseDirectory: base)
        XCTAssertEqual(scp.entries.map(\.id), ["a", "b", "c"])
        XCTAssertEqual(scp.entries.map(\.path), ["/x/a.wav", "/x/b.wav", "/x/c.wav"])
        XCTAssertEqual(scp.entries.map(\.line), [2, 4, 6])
        XCTAssertEqual(scp.problems, [])
    }

    func testKeepsSpacesInsidePaths() {
        let scp = WavScp.parse("u1 /data/my files/a b.wav\nu2\t/data/x\ty.wav\n", baseDirectory: base)
        XCTAssertEqual(scp.entries.map(\.path), ["/data/my files/a b.wav", "/data/x\ty.wav"])
        XCTAssertEqual(scp.entries[0].url.path, "/data/my files/a b.wav")
    }

    func testReportsDuplicateIdsAndKeepsTheFirst() {
        let scp = WavScp.parse("u1 /a.wav\nu2 /b.wav\nu1 /c.wav\n", baseDirectory: base)
        XCTAssertEqual(scp.entries.map(\.path), ["/a.wav", "/b.wav"])
        XCTAssertEqual(scp.problems, [ScpProblem(line: 3, id: "u1", kind: .duplicateId(firstLine: 1))])
    }

    func testReportsLinesWithoutPathAndPipeCommands() {
        let scp = WavScp.parse("lonely\nu2 sox a.wav -t wav - |\nu3 /c.wav\n", baseDirectory: base)
        XCTAssertEqual(scp.entries.map(\.id), ["u3"])
        XCTAssertEqual(scp.problems.map(\.kind), [.missingPath, .pipeCommand])
    }

    func testHandlesCRLFLineEnds() {
        let scp = WavScp.parse("u1 /a.wav\r\nu2 /b.wav\r\n", baseDirectory: base)
        XCTAssertEqual(scp.entries.map(\.path), ["/a.wav", "/b.wav"])
    }

    func testResolvesRelativePathsAgainstTheDataDirectory() throws {
        let dir = try DataSetTestSupport.temporaryDirectory()
        try DataSetTestSupport.write("", to: dir.appendingPathComponent("wav/a b.wav"))
        try DataSetTestSupport.write(
            "u1 wav/a b.wav\nu2 missing.wav\nu3 /abs.wav\n", to: dir.appendingPathComponent("wav.scp"))
        let scp = try WavScp(contentsOf: dir.appendingPathComponent("wav.scp"))
        XCTAssertEqual(scp.entries[0].url.standardizedFileURL.path, dir.appendingPathComponent("wav/a b.wav").standardizedFileURL.path)
        XCTAssertEqual(scp.entries[1].url.standardizedFileURL.path, dir.appendingPathComponent("missing.wav").standardizedFileURL.path)
        XCTAssertEqual(scp.entries[2].url.path, "/abs.wav")
    }

    func testKaldiTextKeepsValuesExactlyAndLaterDuplicatesWin() {
        let f = KaldiTextFile(parsing: "a x y\nb \nc\nd  two spaces\na z\n")
        XCTAssertEqual(f.ids, ["a", "b", "c", "d"])
        XCTAssertEqual(f["a"], "z")
        XCTAssertEqual(f["b"], "")
        XCTAssertEqual(f["c"], "")
        XCTAssertEqual(f["d"], " two spaces")
    }

    func testKaldiTextDropsAnUnterminatedLastLineWhenAsked() {
        XCTAssertEqual(KaldiTextFile(parsing: "a 1\nb 2", dropUnterminatedLine: true).ids, ["a"])
        XCTAssertEqual(KaldiTextFile(parsing: "a 1\nb 2").ids, ["a", "b"])
    }

    func testShardsAreContiguousBalancedAndCoverEverything() throws {
        let items = Array(0..<10)
        let shards = try (1...4).map { try ShardSpec(index: $0, count: 4).slice(items) }
        XCTAssertEqual(shards.map(\.count), [3, 3, 2, 2])
        XCTAssertEqual(shards.flatMap { $0 }, items)
        XCTAssertEqual(try ShardSpec(index: 5, count: 12).slice(Array(0..<3)).count, 0)
    }

    func testParsesShardSpecs() throws {
        XCTAssertEqual(try ShardSpec(parsing: "3/8"), try ShardSpec(index: 3, count: 8))
        for bad in ["0/4", "5/4", "1/0", "a/b", "1-4", "1/2/3", ""] {
            XCTAssertThrowsError(try ShardSpec(parsing: bad), bad)
        }
    }
}

/// Helpers of the data-set tests.
enum DataSetTestSupport {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "paraformer-dataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
}
