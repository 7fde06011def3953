import Paraformer
import ParaformerCore
import Foundation
import Synchronization

/// Where a data-set run stands, reported after every batch.
package struct DataSetProgress: Sendable, Equatable {
    /// Utterances of this run (this shard's, without those already in the output).
    package var total: Int
    /// Decoded so far in this run.
    package var decoded: Int
    /// Failed so far.
    package var failed: Int
    /// Seconds of audio decoded so far.
    package var audioSeconds: Double
    /// Wall-clock seconds since the run began.
    package var elapsed: Double

    /// Utterances (decoded or failed) per wall-clock second.
    package var utterancesPerSecond: Double { elapsed > 0 ? Double(decoded + failed) / elapsed : 0 }
    /// Wall-clock time over audio time, all jobs together.
    package var realTimeFactor: Double { audioSeconds > 0 ? elapsed / audioSeconds : 0 }
}

/// What happened in a data-set run.
package struct DataSetSummary: Sendable, Equatable {
    /// Utterances in this shard of `wav.scp`.
    package var utterances: Int
    /// Already in the output when the run began (resumed), so not decoded again.
    package var resumed: Int
    /// Decoded in this run.
    package var decoded: Int
    /// Failed utterances, in `wav.scp` order: id and the error's description.
    package var failures: [Failure]
    package var audioSeconds: Double
    package var wallSeconds: Double

    package struct Failure: Sendable, Equatable {
        package var id: String
        package var path: String
        package var message: String
    }

    package var realTimeFactor: Double { audioSeconds > 0 ? wallSeconds / audioSeconds : 0 }
}

/// Decodes the utterances of a `wav.scp` into a `RecogOutput`, with parallel jobs and
/// length-sorted batches; a failing utterance is reported and skipped.
///
/// The model is behind two closures, so the loop runs without one in tests:
/// `load` turns an entry into input (`AudioDecoder.load`), `decode` transcribes a batch
/// (`Recognizer.transcribe(batch:)`). With `jobs` > 1, `jobs` threads take batches from one
/// queue and call `decode` concurrently, so `decode` must be thread-safe (a shared
/// `Recognizer` is). Results are appended as they finish; `run` ends by rewriting the output in
/// `wav.scp` order.
///
/// Batching: with `batchSize` > 1 the pending utterances are sorted by `length` (longest first,
/// `wav.scp` order among equals) and cut into batches of `batchSize`, so that a batch pads little.
/// If a batch fails as a whole, its utterances are decoded one by one to find the failing one.
package struct DataSetDecoder<Input: Sendable>: Sendable {
    package var jobs: Int
    package var batchSize: Int
    package var load: @Sendable (ScpEntry) throws -> Input
    package var decode: @Sendable ([Input]) throws -> [RecognitionResult]
    /// Sort key for batching; by default the file's size in bytes (proportional to duration
    /// for a given format, and needs no decoding).
    package var length: @Sendable (ScpEntry) -> Int = DataSetDecoder.fileSize

    package init(
        jobs: Int = 1, batchSize: Int = 1, load: @escaping @Sendable (ScpEntry) throws -> Input,
        decode: @escaping @Sendable ([Input]) throws -> [RecognitionResult]
    ) {
        self.jobs = max(1, jobs)
        self.batchSize = max(1, batchSize)
        self.load = load
        self.decode = decode
    }

    package static func fileSize(_ entry: ScpEntry) -> Int {
        let size = (try? FileManager.default.attributesOfItem(atPath: entry.url.path))?[.size]
        return (size as? NSNumber)?.intValue ?? 0
    }

    /// Decodes the entries not yet in `output`, then puts `output` in `entries` order.
    /// - Parameter onEvent: called (one call at a time, from any thread) after each batch with
    ///   the progress and the failures of that batch.
    /// - Throws: `ParaformerError.cannotOpenFile` if the output cannot be written; decoding
    ///   errors never throw, they are in the summary.
    package func run(
        entries: [ScpEntry], output: RecogOutput,
        onEvent: @escaping @Sendable (DataSetProgress, [DataSetSummary.Failure]) -> Void = { _, _ in }
    ) throws -> DataSetSummary {
        let start = Date()
        let pending = entries.filter { !output.contains($0.id) }
        let batches = makeBatches(pending)
        let sink = Sink(output: output, total: pending.count, start: start, onEvent: onEvent)

        if jobs == 1 || batches.count <= 1 {
            for batch in batches { process(batch, sink) }
        } else {
            let queue = BatchQueue(batches)
            let group = DispatchGroup()
            let workers = min(jobs, batches.count)
            for _ in 0..<workers {
                group.enter()
                let thread = Thread {
                    while let batch = queue.next() { process(batch, sink) }
                    group.leave()
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
            group.wait()
        }
        if let error = sink.writeError { throw error }
        try output.finalize(order: entries.map(\.id))

        let index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.id, $0) })
        return DataSetSummary(
            utterances: entries.count, resumed: entries.count - pending.count,
            decoded: sink.progress.decoded,
            failures: sink.failures.sorted { (index[$0.id] ?? 0) < (index[$1.id] ?? 0) },
            audioSeconds: sink.progress.audioSeconds, wallSeconds: Date().timeIntervalSince(start))
    }

    package func makeBatches(_ pending: [ScpEntry]) -> [[ScpEntry]] {
        var ordered = pending
        if batchSize > 1 {
            let keyed = pending.enumerated().map { (length($1), $0, $1) }
            ordered = keyed.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }.map(\.2)
        }
        return stride(from: 0, to: ordered.count, by: batchSize).map {
            Array(ordered[$0..<min($0 + batchSize, ordered.count)])
        }
    }

    private func process(_ batch: [ScpEntry], _ sink: Sink) {
        var loaded: [(ScpEntry, Input)] = []
        var failures: [DataSetSummary.Failure] = []
        var done: [(ScpEntry, RecognitionResult)] = []
        for entry in batch {
            do {
                loaded.append((entry, try load(entry)))
            } catch {
                failures.append(Self.failure(entry, error))
            }
        }
        if !loaded.isEmpty {
            do {
                let results = try decode(loaded.map(\.1))
                guard results.count == loaded.count else {
                    throw ParaformerError.invalidOption(
                        name: "decode", reason: "returned \(results.count) results for \(loaded.count) inputs")
                }
                done = zip(loaded.map(\.0), results).map { ($0, $1) }
            } catch {
                if loaded.count == 1 {
                    failures.append(Self.failure(loaded[0].0, error))
                } else {
                    for (entry, input) in loaded {
                        do {
                            guard let r = try decode([input]).first else {
                                throw ParaformerError.invalidOption(name: "decode", reason: "returned no result")
                            }
                            done.append((entry, r))
                        } catch {
                            failures.append(Self.failure(entry, error))
                        }
                    }
                }
            }
        }
        sink.record(done, failures)
    }

    package static func failure(_ entry: ScpEntry, _ error: Error) -> DataSetSummary.Failure {
        DataSetSummary.Failure(id: entry.id, path: entry.path, message: "\(error)")
    }
}

/// Batches handed out one at a time to the workers.
private final class BatchQueue: Sendable {
    private let batches: Mutex<ArraySlice<[ScpEntry]>>

    init(_ batches: [[ScpEntry]]) { self.batches = Mutex(batches[...]) }

    func next() -> [ScpEntry]? { batches.withLock { $0.popFirst() } }
}

/// Serialises writing results and reporting progress. Unchecked: every use of `output` and of
/// the counters is under `lock` (`record`), or after the workers have joined (`run`).
private final class Sink: @unchecked Sendable {
    package let output: RecogOutput
    package let start: Date
    package let onEvent: @Sendable (DataSetProgress, [DataSetSummary.Failure]) -> Void
    private let lock = NSLock()
    package private(set) var progress: DataSetProgress
    package private(set) var failures: [DataSetSummary.Failure] = []
    package private(set) var writeError: Error?

    package init(
        output: RecogOutput, total: Int, start: Date,
        onEvent: @escaping @Sendable (DataSetProgress, [DataSetSummary.Failure]) -> Void
    ) {
        self.output = output
        self.start = start
        self.onEvent = onEvent
        progress = DataSetProgress(total: total, decoded: 0, failed: 0, audioSeconds: 0, elapsed: 0)
    }

    package func record(_ done: [(ScpEntry, RecognitionResult)], _ failed: [DataSetSummary.Failure]) {
        lock.lock()
        defer { lock.unlock() }
        for (entry, result) in done where writeError == nil {
            do {
                try output.append(id: entry.id, RecogLines(result))
                progress.decoded += 1
                progress.audioSeconds += result.duration
            } catch {
                writeError = error
            }
        }
        failures += failed
        progress.failed += failed.count
        progress.elapsed = Date().timeIntervalSince(start)
        onEvent(progress, failed)
    }
}
