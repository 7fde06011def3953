import Dispatch

/// Splits element-wise work over the same number of threads the BLAS library uses, so the
/// code between matrix products scales like the products themselves.
enum Parallel {
    /// Threads for row kernels; set together with the BLAS thread count.
    nonisolated(unsafe) static var threads = 1

    /// Calls `body(range)` on `threads` contiguous slices of 0..<count (inline when the work is
    /// small or one thread is configured). `cost` is the rough work per item in floats.
    @inline(__always)
    static func forRanges(_ count: Int, cost: Int, _ body: (Range<Int>) -> Void) {
        let n = threads
        if n <= 1 || count < 2 || count * cost < 32_768 {
            body(0..<count)
            return
        }
        let parts = min(n, count)
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let lo = count * p / parts
            let hi = count * (p + 1) / parts
            if lo < hi { body(lo..<hi) }
        }
    }
}
