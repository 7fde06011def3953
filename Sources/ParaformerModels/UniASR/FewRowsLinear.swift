import CParaformerKernels
import ParaformerCore

/// A Linear layer for the few rows of a beam step (one per hypothesis): `out (+)= x · Wᵀ + b`,
/// W [N, K] as PyTorch stores it, reading every weight once per step (`pk_rows_linear`).
///
/// With M ≤ 8 rows the product is bound by reading W. OpenBLAS's general sgemm first copies
/// (packs) all of W (perf, released UniASR size: `sgemm_incopy` 36 % of the run); a dot
/// product per row and output reads W once per row. The kernel streams each weight row once,
/// in memory order, against every x row (ParaformerFewRows.h).
///
/// An F16 matrix (`Tools/convert.py --dtype f16`) stays in the file's halves and is widened
/// exactly in the kernel: the same outputs, bit for bit, as its fp32 expansion, from half the
/// bytes. Larger M with fp32 weights, an `in_out` file or an int8 one go to `Linear`
/// (OpenBLAS / the int8 kernels).
struct FewRowsLinear {
    /// Most rows the fp32 path runs here (more go to BLAS; halves always run here).
    static let maxRows = 8

    enum Weights {
        case f32(UnsafePointer<Float>)
        case f16(UnsafePointer<UInt16>)
    }

    /// What the few-rows kernel reads, [N, K]; nil: `linear` only.
    let weights: Weights?
    /// The layer as `Linear` binds it; nil for halves kept as halves.
    let linear: Linear?
    /// [N], absent for `bias=False`.
    let bias: Tensor?
    let inFeatures: Int
    let outFeatures: Int
    /// Keeps the mapping that F16 `weights` point into alive.
    private let owner: AnyObject?

    init(_ w: WeightStore, _ prefix: String, in nIn: Int, out nOut: Int, bias hasBias: Bool = true) throws {
        inFeatures = nIn
        outFeatures = nOut
        if w.linearLayout == .outIn, let half = try w.halfTensor("\(prefix).weight", [nOut, nIn]) {
            weights = .f16(half)
            linear = nil
            bias = hasBias ? try w.tensor("\(prefix).bias", [nOut]) : nil
            owner = w.file
            return
        }
        let l = try Linear(w, prefix, in: nIn, out: nOut, bias: hasBias)
        linear = l
        bias = l.bias
        owner = nil
        if case .float(let t, transposed: false) = l.matrix {
            weights = .f32(UnsafePointer(t.data))
        } else {
            weights = nil
        }
    }

    /// out = x · Wᵀ + b, or out += … (`accumulate`), or out = relu(…) (`relu`). x [M, K], out [M, N].
    func callAsFunction(_ x: Tensor, into out: Tensor, accumulate: Bool = false, relu: Bool = false) {
        let m = x.rows
        precondition(x.cols == inFeatures && out.rows == m && out.cols == outFeatures, "FewRowsLinear: shapes")
        let kernel: (UnsafeRawPointer, Int32)?
        switch weights {
        case .f16(let p): kernel = (UnsafeRawPointer(p), Int32(PK_WEIGHT_F16))
        case .f32(let p) where m <= Self.maxRows: kernel = (UnsafeRawPointer(p), Int32(PK_WEIGHT_F32))
        default: kernel = nil
        }
        guard let (w, type) = kernel else {
            linear?(x, into: out, accumulate: accumulate)
            if relu { Kernels.relu(out) }
            return
        }
        let n = outFeatures
        let k = inFeatures
        let flags = accumulate ? Int32(PK_ACCUMULATE) : relu ? Int32(PK_RELU) : 0
        let block = 16
        let bias = self.bias?.data
        withExtendedLifetime(owner) {
            Parallel.forRanges((n + block - 1) / block, cost: block * k * m) { blocks in
                let n0 = blocks.lowerBound * block
                let n1 = min(blocks.upperBound * block, n)
                pk_rows_linear(
                    Int32(PK_VARIANT_AUTO), x.data, Int32(m), Int32(k), w, type, Int32(k), Int32(k), Int32(n0),
                    Int32(n1), bias, out.data, Int32(n), flags)
            }
        }
    }

    /// x · Wᵀ + b (ReLU'd with `relu`) in `ws`: [M, N].
    func callAsFunction(_ x: Tensor, relu: Bool = false, _ ws: Workspace) -> Tensor {
        let out = ws.tensor([x.rows, outFeatures])
        self(x, into: out, relu: relu)
        return out
    }
}
