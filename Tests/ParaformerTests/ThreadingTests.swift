import Foundation
import Synchronization
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// The engine's own parallelism: products split into panels, attention items shared out,
/// the worker pool.
///
/// A panel is a single-threaded BLAS call on a slice of the output, but OpenBLAS's blocking
/// depends on the call's width, so a value can round differently (an ulp or so) than in the
/// whole product: results on several threads must agree with one thread to 1e-6 relative, and
/// be bit-identical from run to run at a given thread count. Attention splits whole
/// (head, block) items, so it must be bit-identical. The pool must run every part exactly once
/// under concurrent and nested use.
final class ThreadingTests: XCTestCase {
    private var savedThreads = 1

    override func setUp() {
        savedThreads = Parallel.threads
    }

    override func tearDown() {
        BLAS.setThreads(savedThreads)
    }

    private func random(_ n: Int, seed: inout UInt64) -> [Float] {
        TestRandom.floats(n, seed: &seed)
    }

    /// `body` run with 1 thread, then twice with each of `counts`: within `tolerance` (relative
    /// to the largest magnitude; 0 means bit-identical) of one thread, and bit-identical between
    /// the two runs at the same count.
    private func assertSameForThreadCounts(
        _ label: String, counts: [Int] = [2, 3, 4], tolerance: Float = 1e-6, _ body: () -> [Float],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        BLAS.setThreads(1)
        let reference = body()
        let scale = max(reference.map(abs).max() ?? 0, 1e-30)
        for t in counts {
            BLAS.setThreads(t)
            let got = body()
            let again = body()
            XCTAssertEqual(got.count, reference.count, "\(label), \(t) threads", file: file, line: line)
            let worst = (zip(got, reference).map { abs($0 - $1) }.max() ?? 0) / scale
            XCTAssertLessThanOrEqual(worst, tolerance, "\(label), \(t) threads", file: file, line: line)
            let unstable = zip(got, again).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(unstable, 0, "\(label), \(t) threads: run to run", file: file, line: line)
        }
    }

    func testPanelsCoverTheOutputOnceWhateverTheShape() {
        // Column panels (N ≥ M), row panels (M > N), odd sizes, tiny products kept whole.
        let shapes = [(167, 1536, 512), (517, 333, 129), (46, 8404, 64), (1000, 16, 64), (3, 5, 7), (64, 64, 64)]
        for threads in [2, 3, 5] {
            BLAS.setThreads(threads)
            for (m, n, k) in shapes {
                var hits = [Int](repeating: 0, count: m * n)
                let lock = NSLock()
                BLAS.forPanels(m: m, n: n, k: k) { rows, cols in
                    lock.lock()
                    defer { lock.unlock() }
                    for r in rows { for c in cols { hits[r * n + c] += 1 } }
                }
                XCTAssertEqual(hits.min(), 1, "\(m)x\(n)x\(k), \(threads) threads")
                XCTAssertEqual(hits.max(), 1, "\(m)x\(n)x\(k), \(threads) threads")
            }
        }
    }

    func testGemmSplitEqualsOneThread() {
        var seed: UInt64 = 7
        for (m, n, k) in [(167, 1536, 512), (517, 333, 129), (40, 2100, 96), (10, 348, 128), (10, 512, 128), (12, 128, 512), (60, 256, 128)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let a = random(m * k, seed: &seed)
                    let b = random(k * n, seed: &seed)
                    let c0 = random(m * n, seed: &seed)
                    assertSameForThreadCounts("gemm \(m)x\(n)x\(k) tA \(transA) tB \(transB)") {
                        var c = c0
                        BLAS.gemm(
                            transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a,
                            lda: transA ? m : k, b: b, ldb: transB ? k : n, beta: 1, c: &c, ldc: n)
                        return c
                    }
                }
            }
        }
    }

    func testLinearBiasReluAndAccumulateWithThreads() {
        var seed: UInt64 = 8
        let (rows, nIn, nOut) = (130, 256, 1030)
        let x = Tensor(random(rows * nIn, seed: &seed), shape: [rows, nIn])
        let w = Tensor(random(nOut * nIn, seed: &seed), shape: [nOut, nIn])
        let b = Tensor(random(nOut, seed: &seed), shape: [nOut])
        let start = random(rows * nOut, seed: &seed)
        // Against a naive loop once, then thread counts against each other.
        BLAS.setThreads(3)
        let relu = Tensor(zeros: [rows, nOut])
        BLAS.linear(x, w, bias: b, into: relu, activation: .relu)
        var worst: Float = 0
        for r in 0..<rows {
            for o in 0..<nOut {
                var s = b[o]
                for i in 0..<nIn { s += x[r * nIn + i] * w[o * nIn + i] }
                worst = max(worst, abs(max(s, 0) - relu[r * nOut + o]))
            }
        }
        XCTAssertLessThanOrEqual(worst, 1e-3)
        XCTAssertEqual(relu.array.filter { $0 < 0 }.count, 0)
        for activation in [BLAS.Activation.none, .relu] {
            assertSameForThreadCounts("linear \(activation)") {
                let out = Tensor(zeros: [rows, nOut])
                BLAS.linear(x, w, bias: b, into: out, activation: activation)
                return out.array
            }
        }
        assertSameForThreadCounts("linear accumulate") {
            let out = Tensor(start, shape: [rows, nOut])
            BLAS.linear(x, w, bias: b, into: out, accumulate: true)
            return out.array
        }
    }

    func testAttentionItemsOverThreadsEqualOneThread() {
        var seed: UInt64 = 9
        let (heads, headDim, queries, keys) = (4, 32, 300, 290)
        let d = heads * headDim
        let q = random(queries * 3 * d, seed: &seed)
        let kv = random(keys * 2 * d, seed: &seed)
        assertSameForThreadCounts("attention", tolerance: 0) {
            var context = [Float](repeating: 0, count: queries * d)
            q.withUnsafeBufferPointer { qp in
                kv.withUnsafeBufferPointer { kvp in
                    context.withUnsafeMutableBufferPointer { cp in
                        Attention.multiHead(
                            q: .init(data: qp.baseAddress!, stride: 3 * d),
                            k: .init(data: kvp.baseAddress!, stride: 2 * d),
                            v: .init(data: kvp.baseAddress! + d, stride: 2 * d), queries: queries,
                            keys: keys, heads: heads, headDim: headDim, context: cp.baseAddress!,
                            contextStride: d, Workspace())
                    }
                }
            }
            return context
        }
    }

    func testPoolRunsEveryPartOnceUnderConcurrentAndNestedUse() {
        BLAS.setThreads(2)
        let callers = 4
        let regions = 300
        let failures = NSLock()
        nonisolated(unsafe) var bad = 0
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            for region in 0..<regions {
                let parts = 1 + (region + caller) % 5
                var hits = [Int](repeating: 0, count: parts)
                let lock = NSLock()
                Parallel.forParts(parts) { p in
                    lock.lock()
                    hits[p] += 1
                    lock.unlock()
                    // A region inside a region runs too (the pool is busy: Dispatch serves it).
                    if region % 50 == 0 {
                        var inner = [Int](repeating: 0, count: 3)
                        let innerLock = NSLock()
                        Parallel.forParts(3) { i in
                            innerLock.lock()
                            inner[i] += 1
                            innerLock.unlock()
                        }
                        if inner != [1, 1, 1] {
                            failures.lock()
                            bad += 1
                            failures.unlock()
                        }
                    }
                }
                if hits != [Int](repeating: 1, count: parts) {
                    failures.lock()
                    bad += 1
                    failures.unlock()
                }
            }
        }
        XCTAssertEqual(bad, 0)
    }

    func testPoolWorkersTakePartsOfBusyRegions() {
        // Parts of ~50 µs: the pool's workers (spinning between regions) must take some of
        // them; every part still runs exactly once.
        BLAS.setThreads(2)
        let caller = pthread_self()
        let lock = NSLock()
        var offCaller = 0
        var total = 0
        for _ in 0..<200 {
            Parallel.forParts(2) { _ in
                let start = DispatchTime.now().uptimeNanoseconds
                var x = 0.0
                while DispatchTime.now().uptimeNanoseconds - start < 50_000 { x += 1 }
                lock.lock()
                total += 1
                if pthread_equal(pthread_self(), caller) == 0 { offCaller += 1 }
                lock.unlock()
                _ = x
            }
        }
        XCTAssertEqual(total, 400)
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            // An idle machine gives the workers about half; one shared with other jobs (load 15
            // on 2 cores, seen) still gave them 58-81. Above 20 shows the pool is working.
            XCTAssertGreaterThan(offCaller, 20, "workers ran \(offCaller) of 400 parts")
        }
    }

    func testRecognizersKeepTheirOwnThreadCounts() throws {
        // Two recognizers with different `threads` (and one with none) do not change each
        // other's count or the process default, also when they run at the same time.
        BLAS.setThreads(2)
        let model = ModelFixtures.path("tiny.gguf")
        let one = try Recognizer(model: URL(fileURLWithPath: model), options: RecognizerOptions(threads: 1))
        let three = try Recognizer(model: URL(fileURLWithPath: model), options: RecognizerOptions(threads: 3))
        let plain = try Recognizer(model: URL(fileURLWithPath: model))
        XCTAssertEqual(Parallel.threads, 2)
        XCTAssertEqual(one.withOwnThreads { Parallel.threads }, 1)
        XCTAssertEqual(three.withOwnThreads { Parallel.threads }, 3)
        XCTAssertEqual(plain.withOwnThreads { Parallel.threads }, 2)
        let audio = try AudioDecoder.load(contentsOf: URL(fileURLWithPath: ModelFixtures.path("audio/zh_short.wav")))
        let alone = [
            try one.transcribe(.samples(audio.samples, sampleRate: audio.sampleRate)),
            try three.transcribe(.samples(audio.samples, sampleRate: audio.sampleRate)),
        ]
        let seen = Mutex<[Set<Int>]>([[], []])
        let together = Mutex<[[RecognitionResult]]>([[], []])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let r = i % 2 == 0 ? one : three
            for _ in 0..<20 {
                let t = r.withOwnThreads { Parallel.threads }
                seen.withLock { _ = $0[i % 2].insert(t) }
            }
            if let result = try? r.transcribe(.samples(audio.samples, sampleRate: audio.sampleRate)) {
                together.withLock { $0[i % 2].append(result) }
            }
        }
        XCTAssertEqual(seen.withLock { $0 }, [[1], [3]])
        XCTAssertEqual(Parallel.threads, 2)
        for k in 0..<2 {
            let results = together.withLock { $0[k] }
            XCTAssertEqual(results.count, 4)
            for r in results { XCTAssertEqual(r.tokenIds, alone[k].tokenIds, "recognizer \(k)") }
        }
    }

    func testBundledModelAgreesOnOneAndThreeThreads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let model = root.appendingPathComponent("Weights/paraformer-zh-small.gguf").path
        let sample = root.appendingPathComponent("Weights/sample.wav")
        var texts: [String] = []
        var outputs: [ParaformerModel.Output] = []
        for t in [1, 3] {
            let recognizer = try Recognizer(model: URL(fileURLWithPath: model), options: RecognizerOptions(threads: t))
            texts.append(try recognizer.transcribe(.file(sample)).text)
            let audio = try AudioDecoder.load(contentsOf: sample)
            let features = try recognizer.frontend.features(samples: audio.samples)
            outputs.append(recognizer.withOwnThreads { recognizer.model.run([features], keepIntermediates: true, Workspace())[0] })
        }
        XCTAssertEqual(texts[0], texts[1])
        XCTAssertFalse(texts[0].isEmpty)
        func relativeError(_ a: [Float]?, _ b: [Float]?) -> Float {
            guard let a, let b, a.count == b.count else { return .infinity }
            let scale = max(b.map(abs).max() ?? 0, 1e-30)
            return (zip(a, b).map { abs($0 - $1) }.max() ?? 0) / scale
        }
        XCTAssertEqual(outputs[0].tokenIds, outputs[1].tokenIds)
        XCTAssertLessThanOrEqual(relativeError(outputs[1].encoderOut, outputs[0].encoderOut), 1e-5, "encoder")
        XCTAssertLessThanOrEqual(relativeError(outputs[1].alphas, outputs[0].alphas), 1e-5, "alphas")
        XCTAssertLessThanOrEqual(relativeError(outputs[1].logits, outputs[0].logits), 1e-5, "logits")
    }
}
