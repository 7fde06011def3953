import CParaformerKernels
import ParaformerCore

/// FunASR's `FSMN` encoder of FSMN-VAD (`models/fsmn_vad_streaming/encoder.py`): affine input
/// layers, a stack of causal FSMN blocks, affine output layers and a softmax over the
/// classes, of which only the silence class(es) are used.
/// ```
/// h = ReLU(W₂·(W₁·x + b₁) + b₂)                                x [T, 400] → h [T, 250]
/// per block:  p = Wp·h                                          [T, 128]  (no bias)
///             m[t] = p[t] + Σ_k w[c, k]·p[t − (K−1)·s + k·s]    causal depthwise, K = lorder
///             h = ReLU(Wa·m + ba)                               [T, 250]  (no residual)
/// z = Wo₂·(Wo₁·h + bo₁) + bo₂                                   [T, 248]
/// scores = softmax(z)
/// ```
/// The memory reads the past (K − 1)·s projected frames, kept per stream in `State`, so that
/// chunk after chunk gives what one pass over the whole input gives.
package struct FSMNEncoder: Sendable {
    let config: FSMNVADConfiguration
    /// encoder.in_linear1.linear, [input_affine_dim, input_dim]
    let inLinear1: PackedLinear
    /// encoder.in_linear2.linear, [linear_dim, input_affine_dim]
    let inLinear2: PackedLinear
    let blocks: [FSMNVADBlock]
    /// encoder.out_linear1.linear, [output_affine_dim, linear_dim]
    let outLinear1: PackedLinear
    /// encoder.out_linear2.linear, [output_dim, output_affine_dim]
    let outLinear2: PackedLinear

    init(_ w: WeightStore, config c: FSMNVADConfiguration) throws {
        config = c
        inLinear1 = PackedLinear(try Linear(w, "encoder.in_linear1.linear", in: c.inputDim, out: c.inputAffineDim))
        inLinear2 = PackedLinear(try Linear(w, "encoder.in_linear2.linear", in: c.inputAffineDim, out: c.linearDim))
        blocks = try (0..<c.fsmnLayers).map { try FSMNVADBlock(w, "encoder.fsmn.\($0)", config: c) }
        outLinear1 = PackedLinear(try Linear(w, "encoder.out_linear1.linear", in: c.linearDim, out: c.outputAffineDim))
        outLinear2 = PackedLinear(try Linear(w, "encoder.out_linear2.linear", in: c.outputAffineDim, out: c.outputDim))
    }

    /// Per-stream memory: each block's last (K − 1)·s projected frames, zeros at the start.
    package struct State {
        /// [fsmnLayers][(K − 1)·s · proj_dim], oldest frame first.
        var history: [[Float]]

        package init(config c: FSMNVADConfiguration) {
            history = Array(repeating: [Float](repeating: 0, count: (c.lorder - 1) * c.lstride * c.projDim),
                            count: c.fsmnLayers)
        }
    }

    /// The class probabilities of `x` [T, input_dim], continuing `state`. [T, output_dim] in `ws`.
    // FunASR: fsmn_vad_streaming/encoder.py FSMN.forward
    package func callAsFunction(_ x: Tensor, state: inout State, _ ws: Workspace) -> Tensor {
        let h1 = inLinear1(x, ws)  // [T, A]
        var h = inLinear2(h1, activation: .relu, ws)  // [T, L]
        for (i, block) in blocks.enumerated() {
            h = block(h, history: &state.history[i], ws)  // [T, L]
        }
        let z1 = outLinear1(h, ws)  // [T, OA]
        let z = outLinear2(z1, ws)  // [T, V]
        Kernels.softmax(z)
        return z
    }
}

/// One FunASR `BasicBlock` of the VAD's FSMN: projection, causal memory, affine + ReLU.
package struct FSMNVADBlock: Sendable {
    /// <prefix>.linear.linear (bias=False), [proj_dim, linear_dim]
    let linear: PackedLinear
    /// <prefix>.fsmn_block.conv_left.weight [P, 1, K, 1], kept as [K, P] (tap-major).
    let taps: [Float]
    /// <prefix>.affine.linear, [linear_dim, proj_dim]
    let affine: PackedLinear
    let lorder: Int
    let lstride: Int
    let channels: Int

    init(_ w: WeightStore, _ prefix: String, config c: FSMNVADConfiguration) throws {
        linear = PackedLinear(try Linear(w, "\(prefix).linear.linear", in: c.linearDim, out: c.projDim, bias: false))
        let conv = try w.tensor("\(prefix).fsmn_block.conv_left.weight", [c.projDim, 1, c.lorder, 1])
        var t = [Float](repeating: 0, count: c.lorder * c.projDim)
        for ch in 0..<c.projDim {
            for k in 0..<c.lorder { t[k * c.projDim + ch] = conv.data[ch * c.lorder + k] }
        }
        taps = t
        affine = PackedLinear(try Linear(w, "\(prefix).affine.linear", in: c.projDim, out: c.linearDim))
        lorder = c.lorder
        lstride = c.lstride
        channels = c.projDim
    }

    // FunASR: encoder.py BasicBlock.forward, FSMNBlock.forward (with cache)
    func callAsFunction(_ h: Tensor, history: inout [Float], _ ws: Workspace) -> Tensor {
        let frames = h.rows
        let p = channels
        let past = (lorder - 1) * lstride
        let proj = linear(h, ws)  // [T, P]
        // m[t] = proj[t] + Σ_k w[k]·row(t + k·s) of [history; proj], read in place
        let memory = ws.tensor([frames, p])  // [T, P]
        history.withUnsafeBufferPointer { hist in
            taps.withUnsafeBufferPointer { w in
                pk_fsmn_memory(
                    PackedLinear.override, hist.baseAddress, Int32(past), proj.data, Int32(frames), Int32(p),
                    w.baseAddress, Int32(lorder), Int32(lstride), memory.data)
            }
        }
        // The new history: the last `past` rows of [history; proj].
        if past > 0 {
            history.withUnsafeMutableBufferPointer { hist in
                let base = hist.baseAddress!  // count past · p > 0
                if frames >= past {
                    base.update(from: proj.data + (frames - past) * p, count: past * p)
                } else {
                    base.update(from: base + frames * p, count: (past - frames) * p)
                    (base + (past - frames) * p).update(from: proj.data, count: frames * p)
                }
            }
        }
        return affine(memory, activation: .relu, ws)  // [T, L]
    }
}
