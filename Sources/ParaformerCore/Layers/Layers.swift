/// The layout of a padded batch: B sequences of at most T rows each, stored as [B·T, ·] with
/// sequence b in rows b·T ..< b·T + lengths[b]. Rows past a sequence's length are padding.
package struct BatchLayout {
    /// T, rows per sequence (the longest length).
    package let frames: Int
    /// Valid rows of each sequence.
    package let lengths: [Int]
    package var batch: Int { lengths.count }
    package var rows: Int { frames * lengths.count }

    package init(frames: Int, lengths: [Int]) {
        precondition(lengths.allSatisfy { $0 >= 0 && $0 <= frames })
        self.frames = frames
        self.lengths = lengths
    }

    /// One unpadded sequence of T rows.
    package init(single frames: Int) { self.init(frames: frames, lengths: [frames]) }

    package var hasPadding: Bool { lengths.contains { $0 != frames } }

    /// Sets the padding rows of `x` ([B·T, C]) to zero (FunASR's `x * mask`; assigning instead of
    /// multiplying keeps NaN-free zeros whatever the scratch held).
    package func zeroPadding(_ x: Tensor) {
        guard hasPadding else { return }
        for (b, n) in lengths.enumerated() where n < frames {
            (x.row(b * frames + n)).update(repeating: 0, count: (frames - n) * x.cols)
        }
    }
}

/// `nn.Linear`: y = x · Wᵀ + b.
package struct Linear {
    /// W, fp32 or int8 (`LinearMatrix`), whichever the file holds.
    package let matrix: LinearMatrix
    /// [out], absent for `bias=False`.
    package let bias: Tensor?
    package var outFeatures: Int { matrix.outFeatures }

    /// A layer from its parts (tests, quantisers).
    package init(matrix: LinearMatrix, bias: Tensor?) {
        self.matrix = matrix
        self.bias = bias
    }

    package init(_ w: WeightStore, _ prefix: String, in nIn: Int, out nOut: Int, bias hasBias: Bool = true) throws {
        matrix = try w.linearWeight("\(prefix).weight", out: nOut, in: nIn)
        bias = hasBias ? try w.tensor("\(prefix).bias", [nOut]) : nil
    }

    /// out = x · Wᵀ + b (or out += … with `accumulate`). x [R, in], out [R, out].
    package func callAsFunction(_ x: Tensor, into out: Tensor, accumulate: Bool = false) {
        apply(x, into: out, accumulate: accumulate, activation: .none)
    }

    /// activation(x · Wᵀ + b) in `ws`.
    package func callAsFunction(_ x: Tensor, activation: BLAS.Activation = .none, _ ws: Workspace) -> Tensor {
        let out = ws.tensor([x.rows, outFeatures])
        apply(x, into: out, accumulate: false, activation: activation)
        return out
    }

    /// out (+)= x · Wᵀ + b; with `window` (a streaming window's few rows) through `WindowLinear`,
    /// whose small products OpenBLAS runs faster.
    package func callAsFunction(
        _ x: Tensor, into out: Tensor, accumulate: Bool = false, window: Bool, _ ws: Workspace
    ) {
        if window {
            WindowLinear.apply(self, x, into: out, accumulate: accumulate, ws)
        } else {
            self(x, into: out, accumulate: accumulate)
        }
    }

    /// activation(x · Wᵀ + b) in `ws`, through `WindowLinear` with `window`.
    package func callAsFunction(
        _ x: Tensor, activation: BLAS.Activation = .none, window: Bool, _ ws: Workspace
    ) -> Tensor {
        guard window else { return self(x, activation: activation, ws) }
        let out = WindowLinear.apply(self, x, ws)
        if activation == .relu { Kernels.relu(out) }
        return out
    }

    private func apply(_ x: Tensor, into out: Tensor, accumulate: Bool, activation: BLAS.Activation) {
        switch matrix {
        case .float(let weight, let transposed):
            BLAS.linear(
                x, weight, transposed: transposed, bias: bias, into: out, accumulate: accumulate,
                activation: activation)
        case .int8(let weight):
            Int8GEMM.linear(x, weight, bias: bias, into: out, accumulate: accumulate, activation: activation)
        }
    }
}

/// The weight of a Linear layer as the file stores it.
package enum LinearMatrix {
    /// [out, in] as PyTorch stores it, or [in, out] when `transposed` (the `in_out` layout).
    case float(Tensor, transposed: Bool)
    /// int8 per output channel, packed for the int8 kernels (a `paraformer-quantize` file).
    case int8(Int8Matrix)

    package var outFeatures: Int {
        switch self {
        case .float(let w, let transposed): return transposed ? w.shape[1] : w.shape[0]
        case .int8(let m): return m.outFeatures
        }
    }
}

/// FunASR's `LayerNorm` (torch LayerNorm, eps 1e-12, affine).
package struct LayerNorm {
    /// [D]
    package let gamma: Tensor
    /// [D]
    package let beta: Tensor
    package static let eps: Float = 1e-12

    package init(_ w: WeightStore, _ prefix: String, dim: Int) throws {
        gamma = try w.tensor("\(prefix).weight", [dim])
        beta = try w.tensor("\(prefix).bias", [dim])
    }

    package func callAsFunction(_ x: Tensor, into out: Tensor) {
        Kernels.layerNorm(x, gamma: gamma, beta: beta, eps: LayerNorm.eps, into: out)
    }

    package func callAsFunction(_ x: Tensor, _ ws: Workspace) -> Tensor {
        let out = ws.tensor(x.shape)
        self(x, into: out)
        return out
    }
}

/// The encoder's `PositionwiseFeedForward`: y = W2 · relu(W1 · x + b1) + b2.
package struct FeedForward {
    /// w_1: [U, D], w_2: [D, U]
    package let w1: Linear
    package let w2: Linear

    package init(_ w: WeightStore, _ prefix: String, dim: Int, units: Int) throws {
        w1 = try Linear(w, "\(prefix).w_1", in: dim, out: units)
        w2 = try Linear(w, "\(prefix).w_2", in: units, out: dim)
    }

    /// out (+)= FFN(x); with `accumulate` the result is added to `out` (the residual);
    /// `window`: a streaming window's rows (`Linear.callAsFunction(_:into:window:)`).
    package func callAsFunction(
        _ x: Tensor, into out: Tensor, accumulate: Bool, window: Bool = false, _ ws: Workspace
    ) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let h = w1(x, activation: .relu, window: window, ws)  // [R, U]
        w2(h, into: out, accumulate: accumulate, window: window, ws)  // [R, D]
    }
}

/// The decoder's `PositionwiseFeedForwardDecoderSANM`: y = W2 · LN(relu(W1 · x + b1)), W2 without bias.
package struct DecoderFeedForward {
    /// w_1: [U, D] with bias; w_2: [D, U] without bias; norm over U.
    package let w1: Linear
    package let w2: Linear
    package let norm: LayerNorm

    package init(_ w: WeightStore, _ prefix: String, dim: Int, units: Int) throws {
        try self.init(w, prefix, inDim: dim, units: units, outDim: dim)
    }

    /// With input and output widths that differ (FunASR's `adim`, e.g. UniASR's
    /// `embed_concat_ffn`): w_1 [U, in], w_2 [out, U].
    package init(_ w: WeightStore, _ prefix: String, inDim: Int, units: Int, outDim: Int) throws {
        w1 = try Linear(w, "\(prefix).w_1", in: inDim, out: units)
        w2 = try Linear(w, "\(prefix).w_2", in: units, out: outDim, bias: false)
        norm = try LayerNorm(w, "\(prefix).norm", dim: units)
    }

    package func callAsFunction(_ x: Tensor, into out: Tensor, window: Bool = false, _ ws: Workspace) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let h = w1(x, activation: .relu, window: window, ws)  // [R, U]
        norm(h, into: h)
        w2(h, into: out, window: window, ws)  // [R, D]
    }
}

/// The FSMN memory block: a depthwise Conv1d over time, no bias, zero padded
/// `(left, K − 1 − left)`, plus its input: y = conv(x) + x.
package struct FSMNBlock {
    /// [K, C]: the PyTorch weight [C, 1, K] transposed once at load so the time loop reads
    /// contiguous channels.
    package let weight: Tensor
    package let leftPad: Int
    package var kernelSize: Int { weight.rows }

    package init(_ w: WeightStore, _ name: String, channels: Int, kernelSize: Int, sanmShift: Int) throws {
        let raw = try w.tensor(name, [channels, 1, kernelSize])  // [C, 1, K]
        let t = Tensor(zeros: [kernelSize, channels])
        for c in 0..<channels {
            for k in 0..<kernelSize { t[k, c] = raw[c * kernelSize + k] }
        }
        weight = t
        leftPad = Self.leftPad(kernelSize: kernelSize, sanmShift: sanmShift)
    }

    /// Left zero padding of an FSMN block: `(K − 1) / 2 + shift` (FunASR's `pad_fn`).
    package static func leftPad(kernelSize: Int, sanmShift: Int) -> Int {
        (kernelSize - 1) / 2 + max(sanmShift, 0)
    }

    /// out = (conv(x) + x) with padding rows zeroed; x must already have zero padding rows.
    /// With `accumulate`, the result is added to `out`.
    package func callAsFunction(_ x: Tensor, layout: BatchLayout, into out: Tensor, accumulate: Bool, _ ws: Workspace) {
        if accumulate && layout.hasPadding {
            let mark = ws.mark
            defer { ws.rewind(to: mark) }
            let tmp = ws.tensor(x.shape)
            self(x, layout: layout, into: tmp, accumulate: false, ws)
            Kernels.add(out, tmp)
            return
        }
        if !accumulate { out.copy(from: x) } else { Kernels.add(out, x) }
        Kernels.depthwiseConv1D(
            x, weight: weight, leftPad: leftPad, frames: layout.frames, into: out, accumulate: true)
        if !accumulate { layout.zeroPadding(out) }
    }

    /// The streaming form over one window's rows x [N, C]: out += x + conv([history; x]), the
    /// convolution without padding, so each output sees the K − 1 inputs before it from earlier
    /// windows; then `history` ([K − 1, C]) ← the last K − 1 rows of [history; x]. On the
    /// first window (`started` false) the history is the offline zero padding instead.
    /// FunASR: sanm/attention.py `MultiHeadedAttentionSANMDecoder.forward` with a cache.
    package func callAsFunction(
        _ x: Tensor, history: Tensor, started: Bool, into out: Tensor, _ ws: Workspace
    ) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let n = x.rows
        let k = kernelSize
        let buffer = ws.zeros([n + k - 1, x.cols])  // [N + K − 1, C]
        if started {
            buffer.slice(0..<(k - 1)).copy(from: history)
            buffer.slice((k - 1)..<(n + k - 1)).copy(from: x)
        } else {
            buffer.slice(leftPad..<(leftPad + n)).copy(from: x)
        }
        Kernels.add(out, x)
        Kernels.depthwiseConv1D(
            buffer, weight: weight, leftPad: 0, frames: n + k - 1, into: out, accumulate: true,
            outputFrames: n)
        history.copy(from: buffer.slice(n..<(n + k - 1)))
    }
}
