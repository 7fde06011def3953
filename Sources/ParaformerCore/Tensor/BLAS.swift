// The one seam between the engine and a BLAS library. Model code calls only `gemm` (and the
// thread setters here); an Apple build can route these to Accelerate without touching the model.
#if canImport(Accelerate)
    import Accelerate
#else
    import COpenBLAS
#endif

/// Matrix products and BLAS threading.
package enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C on row-major matrices given by pointer and leading
    /// dimension, where op(A) is M×K, op(B) is K×N and C is M×N. With several threads
    /// (`setThreads`) a large product is split into column (or row) panels of C, one per
    /// thread, each a single-threaded BLAS call. OpenBLAS's blocking depends on a call's width,
    /// so a value may round differently than in one whole-matrix call (the last bits; the same
    /// thread count always gives the same result).
    @inline(__always)
    package static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        forPanels(m: m, n: n, k: k) { rows, cols in
            gemmOnThisThread(
                transA: transA, transB: transB, m: rows.count, n: cols.count, k: k, alpha: alpha,
                a: transA ? a + rows.lowerBound : a + rows.lowerBound * lda, lda: lda,
                b: transB ? b + cols.lowerBound * ldb : b + cols.lowerBound, ldb: ldb, beta: beta,
                c: c + rows.lowerBound * ldc + cols.lowerBound, ldc: ldc)
        }
    }

    /// What `linear` does to each output after the product and bias.
    package enum Activation {
        case none
        case relu
    }

    /// `out = act(x · Wᵀ + bias)` for x [R, in], W [out, in] (PyTorch's Linear layout; with
    /// `transposed`, `weight` holds Wᵀ [in, out]), out [R, out]. With `accumulate`,
    /// x · Wᵀ + bias is added to what `out` holds (no activation). Each thread's panel gets
    /// its bias and activation while it is in cache.
    @inline(__always)
    package static func linear(
        _ x: Tensor, _ weight: Tensor, transposed: Bool = false, bias: Tensor?, into out: Tensor,
        accumulate: Bool = false, activation: Activation = .none
    ) {
        let rows = x.rows
        let nOut = transposed ? weight.shape[1] : weight.shape[0]
        let nIn = weight.count / nOut
        precondition(x.cols == nIn && out.cols == nOut && out.rows == rows, "linear: shapes")
        precondition(!accumulate || activation == .none, "linear: activation with accumulate")
        let o = out.data
        forPanels(m: rows, n: nOut, k: nIn) { rs, cs in
            let width = cs.count
            let c = o + rs.lowerBound * nOut + cs.lowerBound
            if let bias, !accumulate {
                for r in 0..<rs.count { (c + r * nOut).update(from: bias.data + cs.lowerBound, count: width) }
            }
            gemmOnThisThread(
                transA: false, transB: !transposed, m: rs.count, n: width, k: nIn,
                a: x.data + rs.lowerBound * nIn, lda: nIn,
                b: transposed ? weight.data + cs.lowerBound : weight.data + cs.lowerBound * nIn,
                ldb: transposed ? nOut : nIn, beta: (bias != nil || accumulate) ? 1 : 0, c: c, ldc: nOut)
            if let bias, accumulate {
                for r in 0..<rs.count { Kernels.add(c + r * nOut, bias.data + cs.lowerBound, count: width) }
            }
            if activation == .relu {
                for r in 0..<rs.count { SIMDMath.relu(c + r * nOut, width) }
            }
        }
    }

    /// Splits the M×N output of an M×N×K product into panels, one per thread, and calls
    /// `body(rows, columns)` for each concurrently (or once, inline, for the whole output).
    /// Panels are columns when N ≥ M (each thread then reads only its slice of a weight
    /// matrix), rows otherwise; none is smaller than `minPanelWork` multiply-adds (starting a
    /// region costs about a microsecond) or thinner than `panelAlign`.
    @inline(__always)
    package static func forPanels(m: Int, n: Int, k: Int, _ body: (Range<Int>, Range<Int>) -> Void) {
        guard m > 0, n > 0 else { return }
        let threads = Parallel.threads
        let work = m * n * max(k, 1)
        let parts = threads <= 1 || work < 2 * minPanelWork
            ? 1 : max(1, min(threads, work / minPanelWork, max(m, n) / panelAlign))
        if parts <= 1 {
            body(0..<m, 0..<n)
            return
        }
        let byColumns = n >= m
        let extent = byColumns ? n : m
        // Panel edges on multiples of `panelAlign`, so every panel but the last is whole
        // micro-kernel tiles.
        let step = ((extent + parts - 1) / parts + panelAlign - 1) / panelAlign * panelAlign
        let count = (extent + step - 1) / step
        Parallel.forParts(count) { p in
            let range = (p * step)..<min(extent, (p + 1) * step)
            if byColumns { body(0..<m, range) } else { body(range, 0..<n) }
        }
    }

    package static let minPanelWork = 1 << 18
    package static let panelAlign = 16

    /// One BLAS call on the calling thread (the library is kept single-threaded).
    @inline(__always)
    package static func gemmOnThisThread(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS leaves C untouched for K = 0 only when beta = 1; make the semantics explicit.
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = A · x + beta · y for a row-major M×K matrix A (leading dimension `lda`), on the
    /// calling thread: one matrix–vector product, for recurrences (LSTM steps) where a GEMM
    /// with M = 1 would repack A at every step.
    @inline(__always)
    package static func gemv(
        m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        guard m > 0, k > 0 else { return }
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(k), 1, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// Threads the engine splits matrix products and row kernels over.
    package static var threads: Int { Parallel.threads }

    /// Sets the engine's default thread count for the process (what runs outside any
    /// recognizer's own count, `Parallel.withThreads`). The BLAS library itself stays
    /// single-threaded; `gemm` splits products over these threads.
    package static func setThreads(_ n: Int) {
        _ = Parallel.libraryThreads  // sets the library to one thread
        Parallel.processThreads.store(max(1, n), ordering: .relaxed)
    }

    /// The BLAS library's default thread count (OPENBLAS_NUM_THREADS, else the cores), after
    /// which the library is set to one thread: the engine owns the parallelism.
    package static func adoptLibraryThreads() -> Int {
        #if canImport(Accelerate)
            return 1
        #else
            let n = Int(openblas_get_num_threads())
            openblas_set_num_threads(1)
            return max(1, n)
        #endif
    }

    /// The CPU kernel the BLAS library selected (e.g. "Cooperlake", "Haswell").
    package static var coreName: String {
        #if canImport(Accelerate)
            return "Accelerate"
        #else
            guard let name = openblas_get_corename() else { return "unknown" }
            return String(cString: name)
        #endif
    }
}
