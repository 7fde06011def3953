import Foundation
import Synchronization
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// `DataSetDecoder` and `RecogOutput` with a fake decoder: each "audio" file holds its transcript.
final class DataSetDecoderTests: XCTestCase {
    /// A data directory of `count` utterances (u01...), u03 missing and u05 corrupt, with a
    /// reference `text`; transcripts of different lengths so that batching reorders them.
    func makeDataSet(count: Int = 12) throws -> URL {
        let dir = try DataSetTestSupport.temporaryDirectory()
        var scp = ""
        var ref = ""
        for n in 1...count {
            let id = String(format: "u%02d", n)
            let transcript = String(repeating: "好", count: (n * 7) % 5 + 1) + "天气\(n)"
            if n != 3 {
                try DataSetTestSupport.write(
                    n == 5 ? "CORRUPT" : transcript, to: dir.appendingPathComponent("wav/\(id) x.txt"))
            }
            scp += "\(id) wav/\(id) x.txt\n"
            ref += "\(id) \(n % 4 == 0 ? "今天" : "")\(transcript)\n"
        }
        try DataSetTestSupport.write(scp, to: dir.appendingPathComponent("wav.scp"))
        try DataSetTestSupport.write(ref, to: dir.appendingPathComponent("text"))
        return dir
    }

    struct Corrupt: Error, CustomStringConvertible { var description: String { "corrupt audio" } }

    static func load(_ entry: ScpEntry) throws -> String {
        let text: String
        do {
            text = try String(contentsOf: entry.url, encoding: .utf8)
        } catch {
            throw ParaformerError.audioDecodingFailed(path: entry.path, reason: "no such file")
        }
        if text == "CORRUPT" { throw Corrupt() }
        return text
    }

    /// One token per character, 100 ms each; "天气" also as one word for the timestamps.
    static func fakeResult(_ text: String) -> RecognitionResult {
        let chars = text.map(String.init)
        let tokens = chars.enumerated().map { Token(id: $0, text: $1, startMs: $0 * 100, endMs: $0 * 100 + 90) }
        return RecognitionResult(
            text: text, timestampText: chars.joined(separator: " "), words: chars,
            timestamps: tokens.map { [$0.startMs, $0.endMs] }, tokens: tokens,
            duration: Double(chars.count) * 0.1, timings: StageTimings())
    }

    func decoder(jobs: Int = 1, batchSize: Int = 1, counter: Counter? = nil) -> DataSetDecoder<String> {
        var d = DataSetDecoder<String>(
            jobs: jobs, batchSize: batchSize, load: Self.load,
            decode: { inputs in
                counter?.add(inputs)
                return inputs.map(Self.fakeResult)
            })
        d.length = { entry in (try? Self.load(entry))?.count ?? 0 }
        return d
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var batches: [[String]] = []
        func add(_ b: [String]) {
            lock.lock()
            batches.append(b)
            lock.unlock()
        }
        var utterances: Int { batches.map(\.count).reduce(0, +) }
    }

    func files(_ out: URL) throws -> [String: String] {
        var all: [String: String] = [:]
        for name in RecogOutput.fileNames + ["text.cer"] {
            let url = out.appendingPathComponent("1best_recog/\(name)")
            all[name] = (try? String(contentsOf: url, encoding: .utf8)) ?? "<missing>"
        }
        return all
    }

    func run(
        _ data: URL, _ out: URL, shard: ShardSpec = .all, jobs: Int = 1, batchSize: Int = 1,
        counter: Counter? = nil
    ) throws -> DataSetSummary {
        let scp = try WavScp(contentsOf: data.appendingPathComponent("wav.scp"))
        let output = try RecogOutput(outputDirectory: out)
        let summary = try decoder(jobs: jobs, batchSize: batchSize, counter: counter).run(
            entries: Array(shard.slice(scp.entries)), output: output)
        try output.writeErrorRate(referenceFile: data.appendingPathComponent("text"), unit: .char)
        return summary
    }

    // MARK: -

    func testWritesFunASRFilesInScpOrderAndSkipsFailures() throws {
        let data = try makeDataSet(count: 5)
        let out = try DataSetTestSupport.temporaryDirectory()
        let summary = try run(data, out)
        XCTAssertEqual(summary.decoded, 3)
        XCTAssertEqual(summary.failures.map(\.id), ["u03", "u05"])
        XCTAssertEqual(summary.failures[1].message, "corrupt audio")
        let f = try files(out)
        XCTAssertEqual(f["text"], "u01 好好好天气1\nu02 好好好好好天气2\nu04 好好好好天气4\n")
        XCTAssertEqual(
            f["token"], "u01 好 好 好 天 气 1\nu02 好 好 好 好 好 天 气 2\nu04 好 好 好 好 天 气 4\n")
        XCTAssertTrue(f["timestamp"]!.hasPrefix("u01 [[0, 90], [100, 190], [200, 290], [300, 390]"))
        XCTAssertTrue(f["text.cer"]!.hasSuffix("%WER 8.7 [ 2 / 23, 0 ins, 2 del, 0 sub ]\n%SER 33.33 [ 1 / 3 ]\nScored 3 sentences, 0 not present in hyp.\n"), f["text.cer"]!)
    }

    func testWritesEmptyResultsAsIdAndSpace() throws {
        let out = try DataSetTestSupport.temporaryDirectory()
        let output = try RecogOutput(outputDirectory: out)
        try output.append(id: "silent", RecogLines(.empty(duration: 1)))
        XCTAssertEqual(try files(out)["text"], "silent \n")
        XCTAssertEqual(try files(out)["token"], "silent \n")
        XCTAssertEqual(try files(out)["timestamp"], "silent []\n")
    }

    func testResumeDecodesOnlyWhatIsMissing() throws {
        let data = try makeDataSet()
        let full = try DataSetTestSupport.temporaryDirectory()
        _ = try run(data, full)

        let out = try DataSetTestSupport.temporaryDirectory()
        let first = try run(data, out, shard: try ShardSpec(index: 1, count: 2))
        XCTAssertEqual(first.decoded, 4)  // u01...u06 without u03, u05
        let counter = Counter()
        let second = try run(data, out, counter: counter)
        XCTAssertEqual(second.resumed, 4)
        XCTAssertEqual(second.decoded, 6)
        XCTAssertEqual(counter.utterances, 6)  // the failed u03 is retried (and fails), u05 as well
        XCTAssertEqual(second.failures.map(\.id), ["u03", "u05"])
        XCTAssertEqual(try files(out), try files(full))
    }

    func testResumeRecoversFromAnInterruptedWrite() throws {
        let data = try makeDataSet()
        let full = try DataSetTestSupport.temporaryDirectory()
        _ = try run(data, full)

        // A run killed while writing u07: its token line is complete, its text line is cut.
        let out = try DataSetTestSupport.temporaryDirectory()
        _ = try run(data, out, shard: try ShardSpec(index: 1, count: 2))
        let dir = out.appendingPathComponent("1best_recog")
        for (name, tail) in [("token", "u07 好 好 天 气 7\n"), ("timestamp", "u07 [[0"), ("text", "u07 好好天")] {
            let h = try FileHandle(forWritingTo: dir.appendingPathComponent(name))
            try h.seekToEnd()
            try h.write(contentsOf: Data(tail.utf8))
            try h.close()
        }
        let counter = Counter()
        _ = try run(data, out, counter: counter)
        XCTAssertEqual(counter.utterances, 6)
        XCTAssertEqual(try files(out), try files(full))
    }

    func testShardOutputsMergeIntoTheUnshardedOutput() throws {
        let data = try makeDataSet(count: 11)
        let full = try DataSetTestSupport.temporaryDirectory()
        _ = try run(data, full)

        var shardDirs: [URL] = []
        for k in 1...3 {
            let dir = try DataSetTestSupport.temporaryDirectory()
            _ = try run(data, dir, shard: try ShardSpec(index: k, count: 3), jobs: 2, batchSize: 2)
            shardDirs.append(dir)
        }
        let merged = try DataSetTestSupport.temporaryDirectory()
        let scp = try WavScp(contentsOf: data.appendingPathComponent("wav.scp"))
        let output = try RecogOutput.merge(
            shards: shardDirs.reversed(), into: merged, order: scp.entries.map(\.id))
        try output.writeErrorRate(referenceFile: data.appendingPathComponent("text"), unit: .char)
        XCTAssertEqual(try files(merged), try files(full))
    }

    func testMergeRejectsAnUtteranceInTwoShards() throws {
        let data = try makeDataSet(count: 4)
        let a = try DataSetTestSupport.temporaryDirectory()
        let b = try DataSetTestSupport.temporaryDirectory()
        _ = try run(data, a)
        _ = try run(data, b, shard: try ShardSpec(index: 2, count: 2))
        XCTAssertThrowsError(
            try RecogOutput.merge(shards: [a, b], into: try DataSetTestSupport.temporaryDirectory()))
    }

    func testParallelJobsAndBatchesGiveTheSameOutput() throws {
        let data = try makeDataSet(count: 20)
        let serial = try DataSetTestSupport.temporaryDirectory()
        _ = try run(data, serial)
        let parallel = try DataSetTestSupport.temporaryDirectory()
        let counter = Counter()
        let summary = try run(data, parallel, jobs: 4, batchSize: 3, counter: counter)
        XCTAssertEqual(summary.decoded, 18)
        XCTAssertEqual(try files(parallel), try files(serial))
        // Batches are cut from the pending utterances sorted longest first.
        let lengths = counter.batches.map { $0.map(\.count) }
        for batch in lengths { XCTAssertLessThanOrEqual(batch.max()! - batch.min()!, 1, "\(lengths)") }
    }

    func testAFailingBatchIsRetriedOneByOne() throws {
        let data = try makeDataSet(count: 8)
        let out = try DataSetTestSupport.temporaryDirectory()
        let output = try RecogOutput(outputDirectory: out)
        let scp = try WavScp(contentsOf: data.appendingPathComponent("wav.scp"))
        var d = decoder(batchSize: 4)
        d.decode = { inputs in
            if inputs.contains(where: { $0.hasSuffix("天气7") }) { throw ParaformerError.emptyAudio(source: "u07") }
            return inputs.map(Self.fakeResult)
        }
        let summary = try d.run(entries: scp.entries, output: output)
        XCTAssertEqual(summary.failures.map(\.id), ["u03", "u05", "u07"])
        XCTAssertEqual(summary.decoded, 5)
        XCTAssertEqual(output.ids, ["u01", "u02", "u04", "u06", "u08"])
    }

    func testReportsProgressAfterEveryBatch() throws {
        let data = try makeDataSet(count: 6)
        let output = try RecogOutput(outputDirectory: try DataSetTestSupport.temporaryDirectory())
        let scp = try WavScp(contentsOf: data.appendingPathComponent("wav.scp"))
        let recorded = Mutex<[DataSetProgress]>([])
        _ = try decoder(batchSize: 2).run(entries: scp.entries, output: output) { p, _ in
            recorded.withLock { $0.append(p) }
        }
        let events = recorded.withLock { $0 }
        XCTAssertEqual(events.count, 3)
        XCTAssertEqual(events.last?.decoded, 4)
        XCTAssertEqual(events.last?.failed, 2)
        XCTAssertEqual(events.last?.total, 6)
    }
}
