/// `out = x · Wᵀ + b` for the few rows of a streaming window (T_w ≈ 15), cut into products
/// small enough for OpenBLAS's unpacked small-matrix kernels.
///
/// With M ≈ 15 rows, OpenBLAS's general sgemm spends most of its time packing the weight
/// matrix (perf: 55 % of a chunk in `sgemm_incopy`); its AVX-512 builds (SkylakeX,
/// Cooperlake, SapphireRapids) skip packing when M·N·K ≤ 100³. So the output columns are cut
/// into pieces with M·N·K ≤ 2¹⁹, and from 8 rows on x is passed transposed (xᵀ [K, M],
/// `transA`), which selects the faster of those kernels (for the decoder's 1–4 token rows the
/// plain layout is faster). Measured on this machine (Zen 4, one thread, weights from DRAM),
/// M = 15:
/// ```
/// K × N          one call    pieces, x    pieces, xᵀ
/// 512 × 2048     0.89 ms     0.69 ms      0.45 ms
/// 2048 × 512     1.04 ms     0.54 ms      0.35 ms
/// 512 × 1536     0.65 ms     0.52 ms      0.36 ms
/// ```
/// Other BLAS kernels keep one call.
package enum WindowLinear {
    /// Largest M·N·K per call.
    package static let budget = 1 << 19
    package static let enabled: Bool = {
        let core = BLAS.coreName.lowercased()
        return ["skylakex", "cooperlake", "sapphirerapids"].contains { core.contains($0) }
    }()

    package static func apply(_ linear: Linear, _ x: Tensor, into out: Tensor, accumulate: Bool = false, _ ws: Workspace) {
        guard case .float(let weight, transposed: false) = linear.matrix else {
            // An `in_out` file: [in, out] slices are not what the small-matrix kernels want;
            // one ordinary product (Tools/gguf_layout.py keeps streaming models `out_in`).
            // An int8 file: the int8 kernel.
            linear(x, into: out, accumulate: accumulate)
            return
        }
        apply(weight: weight, bias: linear.bias, x, into: out, accumulate: accumulate, ws)
    }

    package static func apply(_ linear: Linear, _ x: Tensor, _ ws: Workspace) -> Tensor {
        let out = ws.tensor([x.rows, linear.outFeatures])
        apply(linear, x, into: out, ws)
        return out
    }

    /// `out (+)= x · Wᵀ + b` for x [M, K], W [N, K], b [N], out [M, N], as `BLAS.linear`.
    package static func apply(
        weight: Tensor, bias: Tensor?, _ x: Tensor, into out: Tensor, accumulate: Bool = false,
        split: Bool = enabled, _ ws: Workspace
    ) {
        let m = x.rows
        let k = x.cols
        let n = weight.shape[0]
        guard split, m <= 64, m * n * k > budget else {
            BLAS.linear(x, weight, bias: bias, into: out, accumulate: accumulate)
            return
        }
        precondition(out.rows == m && out.cols == n && weight.count == n * k, "WindowLinear: shapes")
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        // xᵀ [K, M] picks the faster kernel from about 8 rows on; below, x as it is.
        let transposed = m >= 8
        var a = UnsafePointer(x.data)
        if transposed {
            let xt = ws.tensor([k, m])  // [K, M]
            for r in 0..<m {
                let src = x.row(r)
                for c in 0..<k { xt.data[c * m + r] = src[c] }
            }
            a = UnsafePointer(xt.data)
        }
        var piece = 1
        while piece * 2 <= n && m * piece * 2 * k <= budget { piece *= 2 }
        if let bias, !accumulate {
            for r in 0..<m { out.row(r).update(from: bias.data, count: n) }
        }
        let beta: Float = (bias != nil || accumulate) ? 1 : 0
        // The pieces are shared out over the threads in contiguous runs.
        let pieces = (n + piece - 1) / piece
        let parts = min(Parallel.threads, pieces)
        Parallel.forParts(parts) { part in
            for i in Parallel.share(pieces, part: part, of: parts) {
                let j = i * piece
                BLAS.gemmOnThisThread(
                    transA: transposed, transB: true, m: m, n: min(piece, n - j), k: k, a: a,
                    lda: transposed ? m : k, b: weight.data + j * k, ldb: k, beta: beta,
                    c: out.data + j, ldc: n)
            }
        }
        if let bias, accumulate {
            for r in 0..<m { Kernels.add(out.row(r), bias.data, count: n) }
        }
    }
}
