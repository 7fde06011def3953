import Foundation
import ParaformerCore

/// MFCCA's features, one matrix per channel (FunASR 0.8.8 `MultiChannelFrontend` with its
/// inactive WPE/beamformer, then the model's `GlobalMVN`):
/// ```
/// X = STFT(x)          x in [−1, 1]; n_fft 512, periodic Hann(400) centred in 512, hop 160,
///                      center = true with reflect padding: T / hop + 1 frames
/// P = |X|²             [T, 257]
/// F = log(max(P · M, 1e−10))     M = frontend.logmel.melmat [257, 80] (librosa, Slaney)
/// F' = (F − mean) / std          normalize.mean / normalize.std [80], when the model has them
/// ```
/// No dither, pre-emphasis, DC removal or LFR.
package struct MFCCAFrontend: Sendable {
    /// [n_fft/2 + 1, n_mels]
    package let melmat: Tensor
    /// [n_mels] each; absent when the model has no `normalize`.
    package let mean: Tensor?
    package let std: Tensor?
    package let nFFT: Int
    package let hop: Int
    /// The periodic Hann window of `win_length`, zero-padded to n_fft in the centre (torch.stft).
    package let window: [Float]

    package init(_ w: WeightStore, _ config: MFCCAConfig) throws {
        let bins = config.nFFT / 2 + 1
        melmat = try w.tensor("frontend.logmel.melmat", [bins, config.nMels])
        if w.file.info("normalize.mean") != nil {
            mean = try w.tensor("normalize.mean", [config.nMels])
            std = try w.tensor("normalize.std", [config.nMels])
        } else {
            (mean, std) = (nil, nil)
        }
        nFFT = config.nFFT
        hop = config.hopLength
        var win = [Float](repeating: 0, count: config.nFFT)
        let offset = (config.nFFT - config.winLength) / 2
        for n in 0..<config.winLength {
            win[offset + n] = Float(0.5 - 0.5 * cos(2 * Double.pi * Double(n) / Double(config.winLength)))
        }
        window = win
    }

    /// Frames of `count` samples.
    package func frames(samples count: Int) -> Int { count / hop + 1 }

    /// The features of one channel: [T, n_mels].
    /// - Throws: `.invalidAudio` when the channel is too short for the reflect padding.
    package func callAsFunction(_ x: UnsafeBufferPointer<Float>, source: String) throws -> Tensor {
        let pad = nFFT / 2
        guard x.count > pad else {
            throw ParaformerError.invalidAudio(
                source: source, reason: "\(x.count) samples per channel is too short (the STFT needs more than \(pad))")
        }
        let n = x.count
        let frameCount = frames(samples: n)
        let bins = nFFT / 2 + 1
        let nMels = melmat.cols
        let fft = RealFFT(size: nFFT)
        let power = Tensor(zeros: [frameCount, bins])  // [T, 257]
        for f in 0..<frameCount {
            let start = f * hop - pad  // in the unpadded signal
            for i in 0..<nFFT {
                var j = start + i
                if j < 0 { j = -j } else if j >= n { j = 2 * (n - 1) - j }  // reflect
                fft.input[i] = x[j] * window[i]
            }
            fft.powerSpectrum(into: power.row(f))
        }
        let out = Tensor(zeros: [frameCount, nMels])  // [T, 80]
        BLAS.gemm(
            transA: false, transB: false, m: frameCount, n: nMels, k: bins,
            a: power.data, lda: bins, b: melmat.data, ldb: nMels, c: out.data, ldc: nMels)
        for i in 0..<out.count { out.data[i] = logf(max(out.data[i], 1e-10)) }
        if let mean, let std {
            for r in 0..<frameCount {
                let row = out.row(r)
                for c in 0..<nMels { row[c] = (row[c] - mean[c]) / std[c] }
            }
        }
        return out
    }
}
