import CParaformerKernels
import Foundation

/// A Linear layer whose fp32 weight is packed once, at load, for the fp32 micro-kernel
/// (`pk_sgemm_packed`: panels of 16 output channels), so that no call repacks it. For many
/// rows of a small layer (FSMN-VAD's 128–400 wide products) this saves OpenBLAS's per-call
/// packing of both operands; each output is one FMA chain over the input in order, then the
/// bias, as `cblas_sgemm` computes it with the bias in C (the same bits whenever OpenBLAS does
/// not split the reduction). A layer with int8 weights (a quantised file) keeps its int8 path.
package struct PackedLinear: @unchecked Sendable {
    /// The layer as loaded (the int8 path, and the reference).
    package let linear: Linear
    /// The packed fp32 weight, nil for an int8 layer.
    private let packed: PackedWeight?

    package var outFeatures: Int { linear.outFeatures }

    package init(_ linear: Linear) {
        self.linear = linear
        if case .float(let w, let transposed) = linear.matrix {
            packed = PackedWeight(w, transposed: transposed, out: linear.outFeatures)
        } else {
            packed = nil
        }
    }

    /// `PARAFORMER_PACKED=off` runs these layers through `cblas_sgemm` instead (the reference
    /// path; for measurements).
    static let disabled = getenv("PARAFORMER_PACKED").map { String(cString: $0) == "off" } ?? false
    /// A variant to force (tests); `PK_VARIANT_AUTO`: the best this CPU runs.
    package nonisolated(unsafe) static var override: Int32 = PK_VARIANT_AUTO

    /// activation(x · Wᵀ + b) in `ws`. x [R, in] → [R, out].
    package func callAsFunction(_ x: Tensor, activation: BLAS.Activation = .none, _ ws: Workspace) -> Tensor {
        guard let packed, !PackedLinear.disabled else { return linear(x, activation: activation, ws) }
        let out = ws.tensor([x.rows, outFeatures])
        packed.apply(x, bias: linear.bias, into: out, relu: activation == .relu)
        return out
    }
}

/// Owns the packed floats of one weight matrix.
private final class PackedWeight: @unchecked Sendable {
    let data: UnsafeMutablePointer<Float>
    let out: Int
    let inFeatures: Int

    init(_ w: Tensor, transposed: Bool, out: Int) {
        self.out = out
        inFeatures = w.count / max(out, 1)
        let count = Int(pk_f32_packed_count(Int32(out), Int32(inFeatures)))
        // 64-byte aligned: each k-row of a panel is one cache line, so no 32-byte load splits.
        data = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.size, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(count, 1))
        pk_f32_pack(w.data, Int32(out), Int32(inFeatures), transposed ? 1 : 0, data)
    }

    deinit { data.deallocate() }

    /// out = act(x · Wᵀ + bias), split over the engine's threads like `BLAS.linear`.
    func apply(_ x: Tensor, bias: Tensor?, into y: Tensor, relu: Bool) {
        // Shapes are fixed by the model's validated configuration, not by input: a mismatch
        // is a programming error.
        precondition(x.cols == inFeatures && y.cols == out && y.rows == x.rows, "packed linear: shapes")
        let k = inFeatures
        let n = out
        let xd = x.data
        let yd = y.data
        let b = bias?.data
        let packed = data
        let variant = PackedLinear.override
        let flags = relu ? PK_RELU : 0
        BLAS.forPanels(m: x.rows, n: n, k: k) { rs, cs in
            pk_sgemm_packed(
                variant, xd + rs.lowerBound * k, Int32(rs.count), Int32(k), Int32(k), packed, Int32(n),
                Int32(cs.lowerBound), Int32(cs.upperBound), b, yd + rs.lowerBound * n, Int32(n), flags)
        }
    }
}
