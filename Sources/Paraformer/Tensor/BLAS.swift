// The one seam between the engine and a BLAS library. Model code calls only `gemm` (and the
// thread setters here); an Apple build can route these to Accelerate without touching the model.
#if canImport(Accelerate)
    import Accelerate
#else
    import COpenBLAS
#endif

/// Matrix products and BLAS threading.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C on row-major matrices given by pointer and leading
    /// dimension, where op(A) is M×K, op(B) is K×N and C is M×N.
    @inline(__always)
    public static func gemm(
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

    /// `out = x · Wᵀ (+ bias)` for x [R, in], W [out, in] (PyTorch's Linear layout), out [R, out].
    /// With `accumulate`, the product is added to what `out` holds.
    @inline(__always)
    public static func linear(
        _ x: Tensor, _ weight: Tensor, bias: Tensor?, into out: Tensor, accumulate: Bool = false
    ) {
        let rows = x.rows
        let nOut = weight.shape[0]
        let nIn = weight.count / nOut
        precondition(x.cols == nIn && out.cols == nOut && out.rows == rows, "linear: shapes")
        if let bias, !accumulate {
            for r in 0..<rows { out.row(r).update(from: bias.data, count: nOut) }
        }
        gemm(
            transA: false, transB: true, m: rows, n: nOut, k: nIn, a: x.data, lda: nIn,
            b: weight.data, ldb: nIn, beta: (bias != nil || accumulate) ? 1 : 0, c: out.data,
            ldc: nOut)
        if let bias, accumulate {
            for r in 0..<rows { Kernels.add(out.row(r), bias.data, count: nOut) }
        }
    }

    /// Number of threads the BLAS library uses (1 for a single-threaded build).
    public static var threads: Int {
        #if canImport(Accelerate)
            return 1
        #else
            return Int(openblas_get_num_threads())
        #endif
    }

    /// Sets the BLAS thread count for the whole process.
    public static func setThreads(_ n: Int) {
        Parallel.threads = max(1, n)
        #if !canImport(Accelerate)
            openblas_set_num_threads(Int32(max(1, n)))
        #endif
    }

    /// The CPU kernel the BLAS library selected (e.g. "Cooperlake", "Haswell").
    public static var coreName: String {
        #if canImport(Accelerate)
            return "Accelerate"
        #else
            guard let name = openblas_get_corename() else { return "unknown" }
            return String(cString: name)
        #endif
    }
}
