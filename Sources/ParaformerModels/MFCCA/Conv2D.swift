import ParaformerCore

/// `nn.Conv2d` (groups 1) as im2col + sgemm through the BLAS seam.
///
/// ```
/// out[co, ho, wo] = b[co] + Σ_{ci, i, j} W[co, ci, i, j] · x[ci, ho·sh − ph + i, wo·sw − pw + j]
/// ```
/// x is channels-first [Cin, H, W], zero outside. The patch matrix is built for a band of
/// output rows at a time, so its memory stays bounded whatever H.
package struct Conv2D: Sendable {
    /// [Cout, Cin·kh·kw], the PyTorch weight [Cout, Cin, kh, kw] viewed as a matrix.
    package let weight: Tensor
    /// [Cout]
    package let bias: Tensor
    package let inChannels, outChannels: Int
    package let kernel: (h: Int, w: Int)
    package let stride: (h: Int, w: Int)
    package let padding: (h: Int, w: Int)
    /// Most floats of patches held at once (16 MiB).
    package static let patchBudget = 4 << 20

    package init(
        _ w: WeightStore, _ prefix: String, in cin: Int, out cout: Int, kernel: (Int, Int),
        stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)
    ) throws {
        let raw = try w.tensor("\(prefix).weight", [cout, cin, kernel.0, kernel.1])
        weight = raw.reshaped([cout, cin * kernel.0 * kernel.1])
        bias = try w.tensor("\(prefix).bias", [cout])
        (inChannels, outChannels) = (cin, cout)
        self.kernel = (kernel.0, kernel.1)
        self.stride = (stride.0, stride.1)
        self.padding = (padding.0, padding.1)
    }

    /// From tensors: weight [Cout, Cin, kh, kw] (any 4-D view), bias [Cout].
    package init(weight w: Tensor, bias b: Tensor, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) {
        // Internal invariant: callers (tests, the WeightStore init above) pass tensors whose
        // shapes the store already checked; no file value reaches this unchecked.
        precondition(w.shape.rank == 4 && b.count == w.shape[0], "Conv2D: weight [Cout, Cin, kh, kw], bias [Cout]")
        (outChannels, inChannels) = (w.shape[0], w.shape[1])
        kernel = (w.shape[2], w.shape[3])
        weight = w.reshaped([outChannels, inChannels * kernel.h * kernel.w])
        bias = b
        self.stride = (stride.0, stride.1)
        self.padding = (padding.0, padding.1)
    }

    package func outputSize(height: Int, width: Int) -> (Int, Int) {
        ((height + 2 * padding.h - kernel.h) / stride.h + 1, (width + 2 * padding.w - kernel.w) / stride.w + 1)
    }

    /// x [Cin, H, W] → [Cout, Ho, Wo].
    package func callAsFunction(_ x: Tensor, height: Int, width: Int, _ ws: Workspace) -> Tensor {
        // Internal invariant: the encoder passes its own [Cin, H, W] activations with the H and
        // W it computed them with (MFCCAEncoder), never sizes read from a file or a caller.
        precondition(x.count == inChannels * height * width, "Conv2D: input size")
        let (ho, wo) = outputSize(height: height, width: width)
        let out = ws.tensor([outChannels, ho * wo])  // [Cout, Ho·Wo]
        guard ho > 0 && wo > 0 else { return out }
        let k = inChannels * kernel.h * kernel.w
        let band = max(1, min(ho, Conv2D.patchBudget / max(k * wo, 1)))
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let patches = ws.tensor([k, band * wo])  // [Cin·kh·kw, band·Wo]
        for co in 0..<outChannels { out.row(co).update(repeating: bias[co], count: ho * wo) }
        var r0 = 0
        while r0 < ho {
            let rows = min(band, ho - r0)
            let n = rows * wo
            for ci in 0..<inChannels {
                let plane = x.data + ci * height * width
                for i in 0..<kernel.h {
                    for j in 0..<kernel.w {
                        let dst = patches.data + ((ci * kernel.h + i) * kernel.w + j) * n
                        for r in 0..<rows {
                            let hIn = (r0 + r) * stride.h - padding.h + i
                            let d = dst + r * wo
                            guard hIn >= 0 && hIn < height else {
                                d.update(repeating: 0, count: wo)
                                continue
                            }
                            let src = plane + hIn * width
                            for c in 0..<wo {
                                let wIn = c * stride.w - padding.w + j
                                d[c] = (wIn >= 0 && wIn < width) ? src[wIn] : 0
                            }
                        }
                    }
                }
            }
            BLAS.gemm(
                transA: false, transB: false, m: outChannels, n: n, k: k,
                a: weight.data, lda: k, b: patches.data, ldb: n,
                beta: 1, c: out.data + r0 * wo, ldc: ho * wo)
            r0 += rows
        }
        return out
    }
}
