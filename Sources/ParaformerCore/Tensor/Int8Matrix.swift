import CParaformerKernels

/// A Linear weight W [out, in] quantised to int8 per output channel and packed for the int8
/// kernels (`CParaformerKernels`): W[n, k] ≈ scales[n] · Wq[n, k], Wq in [-127, 127].
///
/// The packed bytes are the micro-kernel's operand layout (panels of 16 output channels, the
/// reduction in groups of 4; see `ParaformerKernels.h`), so nothing is repacked per call. In a
/// quantised GGUF file they are three tensors per Linear layer (`Weights/FORMAT.md`):
/// `<name>` (I8 [⌈out/16⌉, ⌈in/4⌉, 64]), `<name>_scale` (F32 [out]) and `<name>_sum`
/// (I32 [16·⌈out/16⌉], Σ_k Wq[n, k], for the activations' zero point).
package struct Int8Matrix: @unchecked Sendable {
    /// [⌈out/16⌉, ⌈in/4⌉, 64]
    package let packed: UnsafePointer<Int8>
    /// [16·⌈out/16⌉]
    package let columnSums: UnsafePointer<Int32>
    /// [out]
    package let scales: UnsafePointer<Float>
    package let outFeatures: Int
    package let inFeatures: Int
    /// Keeps the memory alive (the mapped file, or owned arrays).
    package let owner: AnyObject?

    /// Names of the scale and column-sum tensors: the weight's name plus these.
    package static let scaleSuffix = "_scale"
    package static let sumSuffix = "_sum"

    package static func packedShape(out: Int, in k: Int) -> [Int] {
        [(out + Int(PK_NR) - 1) / Int(PK_NR), (k + Int(PK_KG) - 1) / Int(PK_KG), Int(PK_NR * PK_KG)]
    }

    package static func sumCount(out: Int) -> Int { (out + Int(PK_NR) - 1) / Int(PK_NR) * Int(PK_NR) }

    /// The quantised form of a float matrix, as arrays (for the quantiser and tests).
    package struct Parts {
        package var packed: [Int8]
        package var columnSums: [Int32]
        package var scales: [Float]
    }

    /// Quantises W (row-major [out, in], or [in, out] with `transposed`) per output channel:
    /// scale = max|W[n, :]| / 127 (1 for a zero row), Wq = round(W / scale) (ties to even).
    package static func quantize(
        _ w: UnsafePointer<Float>, out nOut: Int, in nIn: Int, transposed: Bool
    ) -> Parts {
        var codes = [Int8](repeating: 0, count: nOut * nIn)
        var scales = [Float](repeating: 1, count: nOut)
        for n in 0..<nOut {
            @inline(__always) func at(_ k: Int) -> Float { transposed ? w[k * nOut + n] : w[n * nIn + k] }
            var m: Float = 0
            for k in 0..<nIn { m = max(m, abs(at(k))) }
            let scale: Float = m > 0 && m.isFinite ? m / 127 : 1
            scales[n] = scale
            for k in 0..<nIn {
                let v = (at(k) / scale).rounded(.toNearestOrEven)
                codes[n * nIn + k] = Int8(v.isNaN ? 0 : max(-127, min(127, v)))
            }
        }
        var packed = [Int8](repeating: 0, count: pk_s8_packed_size(Int32(nOut), Int32(nIn)))
        var sums = [Int32](repeating: 0, count: sumCount(out: nOut))
        codes.withUnsafeBufferPointer { c in
            packed.withUnsafeMutableBufferPointer { p in
                pk_s8_pack(c.baseAddress!, Int32(nOut), Int32(nIn), p.baseAddress!)
            }
        }
        packed.withUnsafeBufferPointer { p in
            sums.withUnsafeMutableBufferPointer { s in
                pk_s8_column_sums(p.baseAddress!, Int32(nOut), Int32(nIn), s.baseAddress!)
            }
        }
        return Parts(packed: packed, columnSums: sums, scales: scales)
    }

    /// A matrix owning copies of `parts`.
    package init(_ parts: Parts, out nOut: Int, in nIn: Int) {
        let storage = Int8Storage(parts)
        self.init(
            packed: storage.packed, columnSums: storage.sums, scales: storage.scales,
            outFeatures: nOut, inFeatures: nIn, owner: storage)
    }

    package init(
        packed: UnsafePointer<Int8>, columnSums: UnsafePointer<Int32>, scales: UnsafePointer<Float>,
        outFeatures: Int, inFeatures: Int, owner: AnyObject?
    ) {
        self.packed = packed
        self.columnSums = columnSums
        self.scales = scales
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.owner = owner
    }
}

/// Owned memory of an `Int8Matrix` made in memory (tests, on-the-fly quantisation).
private final class Int8Storage {
    let packed: UnsafeMutablePointer<Int8>
    let sums: UnsafeMutablePointer<Int32>
    let scales: UnsafeMutablePointer<Float>

    init(_ parts: Int8Matrix.Parts) {
        packed = .allocate(capacity: max(parts.packed.count, 1))
        packed.initialize(from: parts.packed, count: parts.packed.count)
        sums = .allocate(capacity: max(parts.columnSums.count, 1))
        sums.initialize(from: parts.columnSums, count: parts.columnSums.count)
        scales = .allocate(capacity: max(parts.scales.count, 1))
        scales.initialize(from: parts.scales, count: parts.scales.count)
    }

    deinit {
        packed.deallocate()
        sums.deallocate()
        scales.deallocate()
    }
}

/// The int8 product and the kernel variant that runs it.
package enum Int8GEMM {
    /// A variant to force for every Linear layer (tests, measurements); `PK_VARIANT_AUTO`: the
    /// best this CPU runs.
    package nonisolated(unsafe) static var override: Int32 = PK_VARIANT_AUTO

    /// The variant `pk_best_variant` chose for this CPU (or PARAFORMER_KERNELS).
    package static var variant: Int32 { pk_best_variant() }

    /// "avx512-vnni", "avx2" or "portable", plus the variants this CPU supports that failed
    /// their self-check at first use (not used), e.g. "avx2 (avx512-vnni failed its self-check)".
    package static var variantName: String {
        let rejected = [PK_VARIANT_AVX512, PK_VARIANT_AVX2].filter { pk_variant_rejected($0) != 0 }
        guard !rejected.isEmpty else { return name(of: variant) }
        return "\(name(of: variant)) (\(rejected.map(name(of:)).joined(separator: ", ")) failed its self-check)"
    }

    package static func name(of variant: Int32) -> String { String(cString: pk_variant_name(variant)) }

    /// True when this CPU can run `variant`.
    package static func isSupported(_ variant: Int32) -> Bool { pk_variant_supported(variant) != 0 }

    /// `out = act(x · Wᵀ + bias)` (or `out += x · Wᵀ + bias` with `accumulate`) for x [R, in],
    /// out [R, out], with x quantised per row to 8-bit codes on the fly. Split over the
    /// engine's threads like `BLAS.linear`: column panels (each thread reads only its slice of
    /// the weights) or row panels.
    package static func linear(
        _ x: Tensor, _ w: Int8Matrix, bias: Tensor?, into out: Tensor, accumulate: Bool = false,
        activation: BLAS.Activation = .none, variant: Int32 = Int8GEMM.override
    ) {
        let rows = x.rows
        let k = w.inFeatures
        let nOut = w.outFeatures
        precondition(x.cols == k && out.cols == nOut && out.rows == rows, "int8 linear: shapes")
        precondition(!accumulate || activation == .none, "int8 linear: activation with accumulate")
        guard rows > 0 else { return }
        let ldq = Int(pk_quantized_stride(Int32(k)))
        // Scratch for the codes, per-row scales and zero points (malloc reuses freed blocks, so
        // steady-state calls do not touch new pages).
        let q = UnsafeMutablePointer<UInt8>.allocate(capacity: rows * ldq)
        let aScale = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        let aZero = UnsafeMutablePointer<Int32>.allocate(capacity: rows)
        let aOffset = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        defer {
            q.deallocate()
            aScale.deallocate()
            aZero.deallocate()
            aOffset.deallocate()
        }
        let xd = x.data
        Parallel.forRanges(rows, cost: k) { r in
            pk_quantize_rows(
                variant, xd + r.lowerBound * k, Int32(r.count), Int32(k), Int32(k),
                q + r.lowerBound * ldq, Int32(ldq), aScale + r.lowerBound, aZero + r.lowerBound,
                aOffset + r.lowerBound)
        }
        let flags = (accumulate ? PK_ACCUMULATE : 0)
            | (activation == .relu ? PK_RELU : 0)
        let o = out.data
        let b = bias?.data
        BLAS.forPanels(m: rows, n: nOut, k: k) { rs, cs in
            pk_gemm_u8s8(
                variant, q + rs.lowerBound * ldq, Int32(ldq), aScale + rs.lowerBound,
                aZero + rs.lowerBound, aOffset + rs.lowerBound, Int32(rs.count), w.packed, w.columnSums, w.scales, Int32(k),
                Int32(cs.lowerBound), Int32(cs.upperBound), b, o + rs.lowerBound * nOut,
                Int32(nOut), flags)
        }
    }
}
