import Foundation
import ParaformerCore

/// The MFCCA encoder (FunASR 0.8.8 `models/encoder/mfcca_encoder.py MFCCAEncoder`): each
/// channel's features go through Conv2d subsampling and the MFCCA blocks side by side (the
/// blocks mix channels in their cross-channel attention), then the channels are tiled to 8 and
/// fused by four Conv2d into one sequence.
/// ```
/// x_c = Linear(relu(conv(relu(conv(F_c))))) · √D      per channel c     // [C, T', D]
/// x   = MFCCABlock_N(… MFCCABlock_1(x, pos))                            // [C, T', D]
/// y   = after_norm(conv4(conv3(conv2(conv1(tile₈(x))))))                // [T', D]
/// ```
package struct MFCCAEncoder: Sendable {
    package let config: MFCCAConfig
    /// embed.conv.0: [D, 1, 3, 3] stride 2; embed.conv.2: [D, D, 3, 3] stride 2
    package let subsample1: Conv2D
    package let subsample2: Conv2D
    /// embed.out.0: [D, D·F''] where F'' = ((n_mels − 1)/2 − 1)/2
    package let subsampleOut: Linear
    package let blocks: [MFCCABlock]
    /// conv1…conv4: 8→16→32→16→1 channels, kernel [5, 7], padding (2, 3), no activation.
    package let fusion: [Conv2D]
    package let afterNorm: LayerNorm

    package init(_ w: WeightStore, _ config: MFCCAConfig) throws {
        self.config = config
        let d = config.modelDim
        subsample1 = try Conv2D(w, "encoder.embed.conv.0", in: 1, out: d, kernel: (3, 3), stride: (2, 2))
        subsample2 = try Conv2D(w, "encoder.embed.conv.2", in: d, out: d, kernel: (3, 3), stride: (2, 2))
        let f2 = ((config.nMels - 1) / 2 - 1) / 2
        subsampleOut = try Linear(w, "encoder.embed.out.0", in: d * f2, out: d)
        blocks = try (0..<config.encoderBlocks).map { try MFCCABlock(w, "encoder.encoders.\($0)", config) }
        let widths = [config.fusionChannels, 16, 32, 16, 1]
        fusion = try (0..<4).map {
            try Conv2D(w, "encoder.conv\($0 + 1)", in: widths[$0], out: widths[$0 + 1], kernel: (5, 7), padding: (2, 3))
        }
        afterNorm = try LayerNorm(w, "encoder.after_norm", dim: d)
    }

    /// Frames after subsampling (Conv2d 3/2 twice): FunASR's mask `[:-2:2][:-2:2]`.
    package static func subsampledFrames(_ t: Int) -> Int { t < 7 ? 0 : ((t - 1) / 2 - 1) / 2 }

    /// features: one [T, n_mels] per channel (1 … fusionChannels) → [T', D].
    package func callAsFunction(_ features: [Tensor], _ ws: Workspace) -> Tensor {
        let d = config.modelDim
        let channels = features.count
        let frames = features[0].rows
        let t2 = MFCCAEncoder.subsampledFrames(frames)
        let x = ws.tensor([channels * t2, d])  // [C·T', D], channel-major
        for (c, f) in features.enumerated() { embed(f, into: x.slice(c * t2..<(c + 1) * t2), ws) }
        let pos = MFCCAEncoder.legacyRelativePositions(count: t2, dim: d)  // [T', D]
        for block in blocks { block(x, channels: channels, frames: t2, pos: pos, ws) }

        // Tile the channels to 8 (FunASR: repeat ceil(8/C) times, keep the first 8).
        let mark = ws.mark
        let tiled = ws.tensor([config.fusionChannels, t2 * d])  // [8, T'·D]
        for i in 0..<config.fusionChannels {
            tiled.row(i).update(from: x.data + (i % channels) * t2 * d, count: t2 * d)
        }
        var y = tiled
        for conv in fusion { y = conv(y, height: t2, width: d, ws) }  // → [1, T'·D]
        let out = Tensor(zeros: [t2, d])  // [T', D]
        afterNorm(y.reshaped([t2, d]), into: out)
        ws.rewind(to: mark)
        return out
    }

    /// Conv2dSubsampling of one channel: [T, n_mels] → [T', D] (written into `out`).
    private func embed(_ f: Tensor, into out: Tensor, _ ws: Workspace) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let d = config.modelDim
        let (t1, f1) = subsample1.outputSize(height: f.rows, width: f.cols)
        let h1 = subsample1(f, height: f.rows, width: f.cols, ws)  // [D, T1·F1]
        SIMDMath.relu(h1.data, h1.count)
        let (t2, f2) = subsample2.outputSize(height: t1, width: f1)
        let h2 = subsample2(h1, height: t1, width: f1, ws)  // [D, T2·F2]
        SIMDMath.relu(h2.data, h2.count)
        // FunASR: x.transpose(1, 2).view(b, t, c·f): row t holds h2[d, t, f] at d·F2 + f.
        let flat = ws.tensor([t2, d * f2])  // [T', D·F2]
        for t in 0..<t2 {
            let row = flat.row(t)
            for c in 0..<d { (row + c * f2).update(from: h2.data + (c * t2 + t) * f2, count: f2) }
        }
        subsampleOut(flat, into: out)  // [T', D]
        Kernels.scale(out, by: Float(Double(d).squareRoot()))
    }

    /// ESPnet's `LegacyRelPositionalEncoding` table as the encoder reads it: the sinusoid of
    /// positions max_len − 1, max_len − 2, … (reversed, max_len = max(5000, T')), float32
    /// arithmetic as torch does it.
    package static func legacyRelativePositions(count: Int, dim: Int) -> Tensor {
        let maxLen = max(5000, count)
        let pe = Tensor(zeros: [count, dim])  // [T', D]
        let c = Float(-(log(10000.0) / Double(dim)))
        for k in stride(from: 0, to: dim, by: 2) {
            let div = expf(Float(k) * c)
            for i in 0..<count {
                let angle = Float(maxLen - 1 - i) * div
                pe[i, k] = sinf(angle)
                if k + 1 < dim { pe[i, k + 1] = cosf(angle) }
            }
        }
        return pe
    }
}

/// One MFCCA block (FunASR 0.8.8 `encoder_layer_mfcca.py EncoderLayer`): multi-frame
/// cross-channel attention, then a conformer layer on each channel's time axis.
/// ```
/// y   = norm_mha(x)
/// x  += MHA(q = y[c, t] over c,  k = v = y[c', t + o] over c', o ∈ −2…2 (zero rows outside))
/// x   = ConformerLayer(x, pos)    per channel
/// ```
package struct MFCCABlock: Sendable {
    package let norm: LayerNorm
    /// encoder_cros_channel_atten.linear_{q,k,v,out}: [D, D]
    package let crossQ, crossK, crossV, crossOut: Linear
    package let heads: Int
    package let conformer: ConformerLayer

    package init(_ w: WeightStore, _ prefix: String, _ config: MFCCAConfig) throws {
        let d = config.modelDim
        norm = try LayerNorm(w, "\(prefix).norm_mha", dim: d)
        let a = "\(prefix).encoder_cros_channel_atten"
        crossQ = try Linear(w, "\(a).linear_q", in: d, out: d)
        crossK = try Linear(w, "\(a).linear_k", in: d, out: d)
        crossV = try Linear(w, "\(a).linear_v", in: d, out: d)
        crossOut = try Linear(w, "\(a).linear_out", in: d, out: d)
        heads = config.encoderHeads
        conformer = try ConformerLayer(w, "\(prefix).encoder_csa", config)
    }

    /// x: [C·T, D] channel-major, updated in place.
    package func callAsFunction(_ x: Tensor, channels: Int, frames: Int, pos: Tensor, _ ws: Workspace) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let d = x.cols
        let context = 2  // frames t−2 … t+2
        // Frame-major copy of norm_mha(x): row t·C + c.
        let normed = norm(x, ws)
        let y = ws.tensor([frames * channels, d])  // [T·C, D]
        for c in 0..<channels {
            for t in 0..<frames { y.row(t * channels + c).update(from: normed.row(c * frames + t), count: d) }
        }
        let q = crossQ(y, ws)  // [T·C, D]
        // Keys and values of the padded sequence: 2 frames of zero input each side, whose
        // projections are the biases.
        let padded = (frames + 2 * context) * channels
        let k = ws.tensor([padded, d])  // [(T+4)·C, D]
        let v = ws.tensor([padded, d])
        crossK(y, into: k.slice(context * channels..<(context + frames) * channels))
        crossV(y, into: v.slice(context * channels..<(context + frames) * channels))
        let edge = Array(0..<(context * channels)) + Array(((context + frames) * channels)..<padded)
        // The biases exist: Linear(w, …) binds `.bias` (required, [D]) unless told `bias: false`.
        for r in edge {
            k.row(r).update(from: crossK.bias!.data, count: d)
            v.row(r).update(from: crossV.bias!.data, count: d)
        }
        let ctx = ws.tensor([frames * channels, d])  // [T·C, D]
        let window = (2 * context + 1) * channels
        for t in 0..<frames {
            Attention.multiHead(
                q: .init(data: q.row(t * channels), stride: d), k: .init(data: k.row(t * channels), stride: d),
                v: .init(data: v.row(t * channels), stride: d), queries: channels, keys: window,
                heads: heads, headDim: d / heads, context: ctx.row(t * channels), contextStride: d, ws)
        }
        let att = crossOut(ctx, ws)  // [T·C, D]
        for c in 0..<channels {
            for t in 0..<frames { Kernels.add(x.row(c * frames + t), att.row(t * channels + c), count: d) }
        }
        conformer(x, channels: channels, frames: frames, pos: pos, ws)
    }
}

/// The per-channel conformer layer (0.8.8 `Encoder_Conformer_Layer`, normalize_before):
/// ```
/// x += ½·FFN_macaron(norm_ff_macaron(x))       (macaron_style only)
/// x += RelPosMHA(norm_mha(x), pos)
/// x += ConvModule(norm_conv(x))
/// x += s·FFN(norm_ff(x))                          s = ½ with macaron, else 1
/// x  = norm_final(x)
/// ```
package struct ConformerLayer: Sendable {
    package let normMHA, normConv, normFF, normFinal: LayerNorm
    package let selfAttn: LegacyRelPositionAttention
    package let conv: ConformerConvolution
    package let feedForward: SwishFeedForward
    package let macaron: (norm: LayerNorm, ffn: SwishFeedForward)?

    package init(_ w: WeightStore, _ p: String, _ config: MFCCAConfig) throws {
        let d = config.modelDim
        normMHA = try LayerNorm(w, "\(p).norm_mha", dim: d)
        normConv = try LayerNorm(w, "\(p).norm_conv", dim: d)
        normFF = try LayerNorm(w, "\(p).norm_ff", dim: d)
        normFinal = try LayerNorm(w, "\(p).norm_final", dim: d)
        selfAttn = try LegacyRelPositionAttention(w, "\(p).self_attn", dim: d, heads: config.encoderHeads)
        conv = try ConformerConvolution(w, "\(p).conv_module", dim: d, kernel: config.cnnKernel)
        feedForward = try SwishFeedForward(w, "\(p).feed_forward", dim: d, units: config.encoderLinearUnits)
        if w.file.info("\(p).feed_forward_macaron.w_1.weight") != nil {
            macaron = (
                try LayerNorm(w, "\(p).norm_ff_macaron", dim: d),
                try SwishFeedForward(w, "\(p).feed_forward_macaron", dim: d, units: config.encoderLinearUnits)
            )
        } else {
            macaron = nil
        }
    }

    /// x: [C·T, D] channel-major, updated in place.
    package func callAsFunction(_ x: Tensor, channels: Int, frames: Int, pos: Tensor, _ ws: Workspace) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        if let macaron { macaron.ffn(macaron.norm(x, ws), addTo: x, scale: 0.5, ws) }
        selfAttn(normMHA(x, ws), channels: channels, frames: frames, pos: pos, addTo: x, ws)
        conv(normConv(x, ws), channels: channels, frames: frames, addTo: x, ws)
        feedForward(normFF(x, ws), addTo: x, scale: macaron == nil ? 1 : 0.5, ws)
        normFinal(x, into: x)
    }
}

/// x · sigmoid(x), in place.
@inline(__always)
package func swishInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = p[i] * (1 / (1 + expf(-p[i]))) }
}

/// ESPnet `PositionwiseFeedForward` with swish: y = W2 · swish(W1 · x + b1) + b2.
package struct SwishFeedForward: Sendable {
    package let w1, w2: Linear

    package init(_ w: WeightStore, _ p: String, dim: Int, units: Int) throws {
        w1 = try Linear(w, "\(p).w_1", in: dim, out: units)
        w2 = try Linear(w, "\(p).w_2", in: units, out: dim)
    }

    /// out += scale · FFN(x).
    package func callAsFunction(_ x: Tensor, addTo out: Tensor, scale: Float, _ ws: Workspace) {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let h = w1(x, ws)  // [R, U]
        swishInPlace(h.data, h.count)
        if scale == 1 {
            w2(h, into: out, accumulate: true)
        } else {
            let y = w2(h, ws)  // [R, D]
            for i in 0..<out.count { out.data[i] += scale * y.data[i] }
        }
    }
}
