import Dispatch

/// The engine's own thread parallelism. The BLAS library always runs single-threaded: matrix
/// products are split here (`BLAS.gemm`), as are attention heads and row kernels, so one set
/// of threads does all the work and no BLAS worker spins on a core the next kernel needs.
package enum Parallel {
    /// Threads for matrix products and row kernels (`BLAS.setThreads`). The first read takes
    /// over the BLAS library's own default (OPENBLAS_NUM_THREADS or the core count) and sets
    /// the library to one thread.
    nonisolated(unsafe) package internal(set) static var threads: Int = BLAS.adoptLibraryThreads()

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
        DispatchQueue.concurrentPerform(iterations: parts, execute: body)
    }
}
