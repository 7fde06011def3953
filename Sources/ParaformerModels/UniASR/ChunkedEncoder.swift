import Foundation
import ParaformerCore

/// FunASR's `overlap_chunk` geometry for an utterance of T frames at one chunk setting
/// (scama/chunk_utilis.py `gen_chunk_mask`, `split_chunk`, `remove_chunk`).
///
/// ```
/// chunk k (k < n = ⌈T/S⌉) = F zero rows, then frames [k·S − P, k·S − P + C)  (zeros outside [0, T))
/// chunked sequence L = (n−1)·(C+F) + F + P + T − (n−1)·S   (the last chunk truncated)
/// output frame t   = chunk t / S, data row P + t mod S                      (remove_chunk)
/// ```
/// With look-back 0 (the released models) a data row attends only to the C data rows of its own
/// chunk and the F zero rows isolate the chunks' FSMN memories, so every chunk is an independent
/// sequence: the engine runs them as a padded batch of n sequences of C rows (the "compact"
/// layout [n·C, D], row k·C + r = data row r of chunk k).
package struct OverlapChunks: Sendable, Equatable {
    /// T, frames of the unchunked sequence.
    package let frames: Int
    /// C, S, P, F.
    package let chunk: Int
    package let stride: Int
    package let padLeft: Int
    package let shift: Int

    package init(frames: Int, chunk: Int, stride: Int, padLeft: Int, shift: Int) {
        // Cannot fire from a file: UniASRConfig checks stride ≥ 1, pad_left ≥ 0, stride + pad_left ≤ chunk_size.
        precondition(frames >= 0 && stride >= 1 && padLeft >= 0 && stride + padLeft <= chunk && shift >= 0)
        self.frames = frames
        self.chunk = chunk
        self.stride = stride
        self.padLeft = padLeft
        self.shift = shift
    }

    package init(frames: Int, _ e: UniASRConfig.Encoder, index: Int) {
        self.init(
            frames: frames, chunk: e.chunkSize[index], stride: e.stride[index],
            padLeft: e.padLeft[index], shift: e.fsmnShift)
    }

    /// n, the number of chunks.
    package var count: Int { (frames + stride - 1) / stride }
    /// Data rows of chunk k: C, the last one P + T − (n−1)·S.
    package func rows(ofChunk k: Int) -> Int {
        k < count - 1 ? chunk : padLeft + frames - (count - 1) * stride
    }
    /// L, the length of FunASR's chunked sequence (pad rows included).
    package var chunkedLength: Int {
        count == 0 ? 0 : (count - 1) * (chunk + shift) + shift + padLeft + frames - (count - 1) * stride
    }
    /// The padded batch of chunks: n sequences of up to C rows.
    var layout: BatchLayout { BatchLayout(frames: chunk, lengths: (0..<count).map(rows(ofChunk:))) }
    /// The input frame of data row r of chunk k, nil for a zero row.
    package func sourceFrame(chunk k: Int, row r: Int) -> Int? {
        let t = k * stride - padLeft + r
        return t >= 0 && t < frames ? t : nil
    }
    /// The compact row of output frame t (`remove_chunk`).
    package func compactRow(ofFrame t: Int) -> Int { (t / stride) * chunk + padLeft + t % stride }
    /// The position in the chunked sequence (length L) of compact row (k, r).
    package func chunkedPosition(chunk k: Int, row r: Int) -> Int { k * (chunk + shift) + shift + r }
}

/// `SANMEncoderChunkOpt` with look-back 0: scaling and sinusoidal positions over the whole
/// utterance, then the SAN-M layers (`encoders0`, `encoders.*`, `after_norm`) over the
/// overlapping chunks, each chunk an independent sequence (see `OverlapChunks`).
///
/// ```
/// x     = feats · sqrt(D) + PE(1 ..< T+1)        // [T, in]
/// chunk = split(x)                               // [n, C, in], zero rows outside the utterance
/// y     = after_norm(layers(chunk))              // [n·C, D] (compact layout)
/// ```
/// FunASR: scama/encoder.py `SANMEncoderChunkOpt.forward`, `EncoderLayerSANM.forward` with
/// `mask_shfit_chunk` and `mask_att_chunk_encoder`.
struct ChunkedSANMEncoder {
    let layers: [SANMEncoderLayer]
    let afterNorm: LayerNorm
    let config: UniASRConfig.Encoder

    init(_ w: WeightStore, _ prefix: String, _ c: UniASRConfig.Encoder) throws {
        var layers = [try SANMEncoderLayer(w, "\(prefix).encoders0.0", inSize: c.inputSize, c.layers)]
        for i in 0..<(c.blocks - 1) {
            layers.append(try SANMEncoderLayer(w, "\(prefix).encoders.\(i)", inSize: c.dim, c.layers))
        }
        self.layers = layers
        afterNorm = try LayerNorm(w, "\(prefix).after_norm", dim: c.dim)
        config = c
    }

    /// The compact encoder output [n·C, D] (in `ws`) for features [T, in].
    func callAsFunction(_ features: Tensor, chunks: OverlapChunks, _ ws: Workspace) -> Tensor {
        let layout = chunks.layout
        let inSize = config.inputSize
        let y = ws.tensor([max(layout.rows, 1), config.dim])  // [n·C, D], lives past this call
        guard layout.rows > 0 else { return y }
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let scaled = ws.tensor([chunks.frames, inSize])  // [T, in]
        scaled.copy(from: features)
        Kernels.scale(scaled, by: Float(config.dim).squareRoot())
        let pe = ws.tensor([chunks.frames, inSize])
        SinusoidalPositionEncoding.fill(pe, firstPosition: 1)
        Kernels.add(scaled, pe)
        let x = ws.zeros([layout.rows, inSize])  // [n·C, in]
        for k in 0..<chunks.count {
            for r in 0..<chunks.rows(ofChunk: k) {
                guard let t = chunks.sourceFrame(chunk: k, row: r) else { continue }
                x.row(k * chunks.chunk + r).update(from: scaled.row(t), count: inSize)
            }
        }
        layers[0](x, layout: layout, into: y, ws)
        for layer in layers.dropFirst() { layer(y, layout: layout, into: y, ws) }
        afterNorm(y, into: y)
        return y
    }
}

/// `Conv1dSubsampling` (`stride_conv`): zero padding (left, right), Conv1d(kernel K, stride s)
/// over [features | encoder output], then ReLU (`leaky_relu` with slope 0).
///
/// ```
/// y[t] = relu(b + Σ_k W[:, :, k] · xpad[t·s + k])     // [T', O], T' = (T − 1) / s + 1
/// ```
/// FunASR: transformer/utils/subsampling.py `Conv1dSubsampling.forward`.
struct StrideConv {
    /// conv.weight [O, I, K] viewed as [O, I·K] (im2col order i·K + k); conv.bias [O].
    let weight: Tensor
    let bias: Tensor
    let kernel: Int
    let stride: Int
    let padLeft: Int
    let inSize: Int

    init(_ w: WeightStore, _ prefix: String, channels: Int, _ c: UniASRConfig) throws {
        kernel = c.strideKernel
        stride = c.strideStep
        padLeft = c.stridePad[0]
        inSize = channels
        weight = try w.tensor("\(prefix).conv.weight", [channels, channels, kernel])
            .reshaped([channels, channels * kernel])
        bias = try w.tensor("\(prefix).conv.bias", [channels])
    }

    /// Output frames for T input frames: FunASR's `(T − 1) // s + 1` (the conv gives the
    /// same count because the paddings add up to K − 1, checked at load).
    func outputFrames(_ t: Int) -> Int { t == 0 ? 0 : (t - 1) / stride + 1 }

    func callAsFunction(_ x: Tensor, _ ws: Workspace) -> Tensor {
        let t = x.rows
        let n = outputFrames(t)
        let y = ws.tensor([max(n, 1), weight.rows])  // [T', O]
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let col = ws.zeros([max(n, 1), inSize * kernel])  // [T', I·K]
        for o in 0..<n {
            let dst = col.row(o)
            for k in 0..<kernel {
                let s = o * stride + k - padLeft
                guard s >= 0 && s < t else { continue }
                let src = x.row(s)
                for i in 0..<inSize { dst[i * kernel + k] = src[i] }
            }
        }
        BLAS.linear(col, weight, bias: bias, into: y, activation: .relu)
        return y
    }
}
