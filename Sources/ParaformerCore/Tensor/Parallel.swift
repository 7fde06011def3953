import Dispatch
import Synchronization

/// The engine's own thread parallelism. The BLAS library always runs single-threaded: matrix
/// products are split here (`BLAS.gemm`), as are attention heads and row kernels, so one set
/// of threads does all the work and no BLAS worker spins on a core the next kernel needs.
package enum Parallel {
    /// Threads for matrix products and row kernels in the current scope: the thread count of
    /// the recognizer whose call is running (`withThreads`), else the process default
    /// (`BLAS.setThreads`), else the BLAS library's own default (OPENBLAS_NUM_THREADS or the
    /// core count). The first read sets the library to one thread.
    package static var threads: Int {
        let library = libraryThreads
        if let scoped = scopedThreads { return scoped }
        let process = processThreads.load(ordering: .relaxed)
        return process > 0 ? process : library
    }

    /// The thread count bound by `withThreads` for this task or thread (nil: none bound).
    @TaskLocal package static var scopedThreads: Int?

    /// Runs `body` with `threads` (when not nil) as the thread count of every product and
    /// kernel it calls on this thread or task, without touching other callers' counts.
    package static func withThreads<R>(_ threads: Int?, _ body: () throws -> R) rethrows -> R {
        guard let threads else { return try body() }
        _ = libraryThreads
        return try $scopedThreads.withValue(max(1, threads), operation: body)
    }

    /// The process-wide default (0: the library's), set by `BLAS.setThreads`.
    static let processThreads = Atomic<Int>(0)

    /// The BLAS library's default, read once; reading it sets the library to one thread.
    static let libraryThreads: Int = BLAS.adoptLibraryThreads()

    /// Calls `body(range)` on `threads` contiguous slices of 0..<count (inline when the work is
    /// small or one thread is configured). `cost` is the rough work per item in floats.
    @inline(__always)
    package static func forRanges(_ count: Int, cost: Int, _ body: (Range<Int>) -> Void) {
        let n = threads
        if n <= 1 || count < 2 || count * cost < 32_768 {
            body(0..<count)
            return
        }
        let parts = min(n, count)
        forParts(parts) { p in
            let range = share(count, part: p, of: parts)
            if !range.isEmpty { body(range) }
        }
    }

    /// Part `part` of 0..<count cut into `parts` contiguous, nearly equal ranges.
    @inline(__always)
    package static func share(_ count: Int, part: Int, of parts: Int) -> Range<Int> {
        (count * part / parts)..<(count * (part + 1) / parts)
    }

    /// Calls `body(part)` for part in 0..<parts, concurrently on the engine's threads (the
    /// caller runs one of them); returns when all are done.
    @inline(__always)
    package static func forParts(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 {
            if parts == 1 { body(0) }
            return
        }
        #if os(Linux)
            if WorkerPool.shared.run(parts, threads: threads, body) { return }
        #endif
        // Another thread's region is running (or this is one inside a region): Dispatch's
        // workers serve it, as on platforms where Dispatch is the engine's pool.
        // The parts of one region run concurrently by design and touch disjoint data (each
        // caller's contract), which the compiler cannot see: this is the one place a body
        // crosses threads, for the worker pool as for Dispatch.
        withoutActuallyEscaping(body) { escaping in
            nonisolated(unsafe) let part = escaping
            DispatchQueue.concurrentPerform(iterations: parts) { part($0) }
        }
    }
}
