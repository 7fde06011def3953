import ParaformerCore

/// `out (+)= x · Wᵀ + b` for the few rows of a beam step (one per hypothesis), W [N, K] as
/// PyTorch stores it, reading every weight once.
///
/// With M ≤ 8 rows the product is bound by reading W, and OpenBLAS's general sgemm first
/// copies (packs) all of W: perf on the released UniASR size, fast mode, showed
/// `sgemm_incopy` at 36 % of the whole run. Here W is read in blocks of 16 rows, each block
/// dotted with every x row while it is in cache. Larger M, or an `in_out` file, goes to BLAS.
enum FewRowsLinear {
    /// Most rows handled here.
    static let maxRows = 8

    static func apply(_ linear: Linear, _ x: Tensor, into out: Tensor, accumulate: Bool = false) {
        let m = x.rows
        let k = x.cols
        let n = linear.outFeatures
        // An int8 weight goes to the int8 kernel (which also reads every weight once).
        guard case .float(let weight, transposed: false) = linear.matrix, m <= maxRows, weight.count == n * k
        else {
            linear(x, into: out, accumulate: accumulate)
            return
        }
        precondition(out.rows == m && out.cols == n, "FewRowsLinear: shapes")
        let w = weight.data
        let bias = linear.bias?.data
        let block = 16
        Parallel.forRanges((n + block - 1) / block, cost: block * k * m) { blocks in
            for b in blocks {
                let j0 = b * block
                let j1 = min(j0 + block, n)
                for h in 0..<m {
                    let xh = x.row(h)
                    let oh = out.row(h)
                    for j in j0..<j1 {
                        var s = dot(w + j * k, xh, k)
                        if let bias { s += bias[j] }
                        if accumulate { oh[j] += s } else { oh[j] = s }
                    }
                }
            }
        }
    }

    static func apply(_ linear: Linear, _ x: Tensor, activation: BLAS.Activation = .none, _ ws: Workspace) -> Tensor {
        let out = ws.tensor([x.rows, linear.outFeatures])
        apply(linear, x, into: out)
        if activation == .relu { Kernels.relu(out) }
        return out
    }

    /// Σ a[i]·b[i] over k floats, 16 lanes at a time (stdlib SIMD: inlined in this module).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ k: Int) -> Float {
        typealias V = SIMD16<Float>
        let ra = UnsafeRawPointer(a)
        let rb = UnsafeRawPointer(b)
        let stride = MemoryLayout<V>.stride
        var s0 = V()
        var s1 = V()
        var i = 0
        while i + 32 <= k {
            s0 += ra.loadUnaligned(fromByteOffset: i * 4, as: V.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            s1 += ra.loadUnaligned(fromByteOffset: i * 4 + stride, as: V.self)
                * rb.loadUnaligned(fromByteOffset: i * 4 + stride, as: V.self)
            i += 32
        }
        while i + 16 <= k {
            s0 += ra.loadUnaligned(fromByteOffset: i * 4, as: V.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            i += 16
        }
        var r = (s0 + s1).sum()
        while i < k {
            r += a[i] * b[i]
            i += 1
        }
        return r
    }
}
