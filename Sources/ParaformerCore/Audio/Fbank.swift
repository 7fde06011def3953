import Foundation

/// Options of the Kaldi fbank that FunASR's `WavFrontend` computes. The defaults are
/// FunASR's (`frontend_conf` of every Paraformer: fs 16000, n_mels 80, 25 ms / 10 ms).
/// The rest is fixed, as WavFrontend fixes it: symmetric Hamming window, pre-emphasis 0.97,
/// DC removal, dither 0, power spectrum, mel range 20 Hz…Nyquist, snip-edges, log floor
/// `Float.ulpOfOne`, FFT size the next power of two of the window.
package struct FbankOptions: Sendable, Equatable {
    /// Samples per second of the audio the fbank reads (`frontend_conf.fs`).
    package var sampleRate: Int = 16000
    /// Mel filters, the width of one fbank frame (`frontend_conf.n_mels`).
    package var numMelBins: Int = 80
    /// Window length in milliseconds (`frontend_conf.frame_length`).
    package var frameLengthMs: Double = 25
    /// Hop in milliseconds (`frontend_conf.frame_shift`).
    package var frameShiftMs: Double = 10

    /// FunASR's defaults unless given.
    package init(sampleRate: Int = 16000, numMelBins: Int = 80, frameLengthMs: Double = 25,
                frameShiftMs: Double = 10) {
        self.sampleRate = sampleRate
        self.numMelBins = numMelBins
        self.frameLengthMs = frameLengthMs
        self.frameShiftMs = frameShiftMs
    }
}

/// Kaldi-compatible log-mel filterbank, numerically the one FunASR computes
/// (`torchaudio.compliance.kaldi.fbank` as called by `WavFrontend.forward`, dither 0).
///
/// Input samples are floats in [-1, 1]; like FunASR (`upsacle_samples`), the computer
/// multiplies them by 32768 so that the filterbank sees int16-valued samples. Per frame t
/// (window W = 400, hop S = 160, FFT size P = 512 at 16 kHz):
/// ```
/// x[i]  = 32768·s[S·t + i] − mean_i(32768·s[S·t + i])          i < W   (DC removal)
/// y[i]  = x[i] − 0.97·x[max(i−1, 0)]                                     (pre-emphasis)
/// z[i]  = y[i]·(0.54 − 0.46·cos(2πi/(W−1)))  zero-padded to P          (Hamming)
/// e[b]  = Σ_k mel[b, k]·|FFT(z)[k]|²          b < 80, k ≤ P/2          (Nyquist weight 0)
/// out[t, b] = ln(max(e[b], 1.1920929e-07))                               [T, 80]
/// ```
/// with T = 1 + (N − W) / S frames (0 when N < W: snip-edges).
///
/// A value type with no mutable state: share it across threads. Each `compute` call makes
/// its own scratch (one FFT buffer per call, nothing per frame).
package struct FbankComputer: Sendable {
    /// The options it was made with.
    package let options: FbankOptions
    /// Samples per window (W), as torchaudio rounds it: int(fs · ms · 0.001).
    package let windowSize: Int
    /// Samples per hop (S), rounded the same way.
    package let windowShift: Int
    /// FFT length P: the next power of two ≥ W.
    package let paddedSize: Int
    /// Hamming window, [W].
    package let window: [Float]
    /// Each mel filter's non-zero FFT bins: `melStart[b]` is its first bin, its weights are
    /// `melWeights[melOffset[b] ..< melOffset[b + 1]]`.
    package let melStart: [Int]
    package let melOffset: [Int]
    package let melWeights: [Float]

    /// FunASR's `upsacle_samples`: float audio in [-1, 1] becomes int16 range.
    package static let inputScale: Float = 32768
    package static let preemphasis: Float = 0.97
    /// torch.finfo(torch.float).eps, the floor of the mel energies before the log.
    package static let logFloor: Float = Float.ulpOfOne

    /// - Precondition: the options give a window of at least 2 samples and a hop of at
    ///   least 1, and `numMelBins > 3` (torchaudio's own asserts).
    package init(options: FbankOptions = FbankOptions()) {
        self.options = options
        let fs = Double(options.sampleRate)
        // torchaudio: int(sample_frequency * frame_length * MILLISECONDS_TO_SECONDS)
        windowShift = Int(fs * options.frameShiftMs * 0.001)
        windowSize = Int(fs * options.frameLengthMs * 0.001)
        precondition(windowSize >= 2 && windowShift >= 1, "fbank window \(windowSize), hop \(windowShift)")
        precondition(options.numMelBins > 3, "fbank needs more than 3 mel bins")
        var p = 1
        while p < windowSize { p *= 2 }
        paddedSize = p

        // torch.hamming_window(W, periodic=False), computed in float32 as torch does.
        let step = Float(2 * Double.pi / Double(windowSize - 1))
        window = (0..<windowSize).map { 0.54 - 0.46 * cos(Float($0) * step) }

        // torchaudio.compliance.kaldi.get_mel_banks (vtln_warp 1), float32 like torch.
        let nyquist = 0.5 * fs
        let lowFreq = 20.0
        let highFreq = nyquist
        func melScale(_ f: Double) -> Double { 1127.0 * log(1.0 + f / 700.0) }
        let melLow = Float(melScale(lowFreq))
        let melDelta = Float((melScale(highFreq) - melScale(lowFreq)) / Double(options.numMelBins + 1))
        let binWidth = Float(fs / Double(paddedSize))
        let fftBins = paddedSize / 2  // bin P/2 (Nyquist) gets weight 0
        let mel: [Float] = (0..<fftBins).map { 1127 * log(1 + binWidth * Float($0) / 700) }
        var starts: [Int] = []
        var offsets: [Int] = [0]
        var weights: [Float] = []
        for b in 0..<options.numMelBins {
            let left = melLow + Float(b) * melDelta
            let center = melLow + (Float(b) + 1) * melDelta
            let right = melLow + (Float(b) + 2) * melDelta
            var row = [Float](repeating: 0, count: fftBins)
            for k in 0..<fftBins {
                let up = (mel[k] - left) / (center - left)
                let down = (right - mel[k]) / (right - center)
                row[k] = max(0, min(up, down))
            }
            let first = row.firstIndex { $0 > 0 } ?? 0
            let last = row.lastIndex { $0 > 0 } ?? -1
            starts.append(first)
            if last >= first { weights.append(contentsOf: row[first...last]) }
            offsets.append(weights.count)
        }
        melStart = starts
        melOffset = offsets
        melWeights = weights
    }

    /// Frames that `sampleCount` samples give (snip-edges): 1 + (N − W) / S, or 0 if N < W.
    package func frameCount(sampleCount: Int) -> Int {
        sampleCount < windowSize ? 0 : 1 + (sampleCount - windowSize) / windowShift
    }

    /// Log-mel features of `samples` (floats in [-1, 1], at `options.sampleRate`).
    /// - Returns: an owned tensor [T, numMelBins]; T may be 0.
    package func compute(_ samples: [Float]) -> Tensor {
        let frames = frameCount(sampleCount: samples.count)
        let out = Tensor(zeros: [frames, options.numMelBins])
        samples.withUnsafeBufferPointer { compute($0, frames: frames, into: out.data) }
        return out
    }

    /// Computes the first `frames` frames of `samples` into `out` ([frames, numMelBins]).
    package func compute(_ samples: UnsafeBufferPointer<Float>, frames: Int, into out: UnsafeMutablePointer<Float>) {
        guard frames > 0 else { return }
        precondition((frames - 1) * windowShift + windowSize <= samples.count, "fbank past the samples")
        let fft = RealFFT(size: paddedSize)
        let w = windowSize
        let nMels = options.numMelBins
        // Per-call scratch: the DC-free frame [W] and the power spectrum [P/2 + 1].
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: w + paddedSize / 2 + 1)
        defer { scratch.deallocate() }
        let frame = scratch
        let power = scratch + w
        let x = fft.input  // [P]; entries W..<P stay zero
        window.withUnsafeBufferPointer { win in
            melWeights.withUnsafeBufferPointer { mw in
                for t in 0..<frames {
                    let s = samples.baseAddress! + t * windowShift
                    // DC removal. torch sums in float32; a double sum (4 independent partial
                    // sums, for speed) is at least as exact.
                    var sums = (0.0, 0.0, 0.0, 0.0)
                    var i = 0
                    while i + 4 <= w {
                        frame[i] = s[i] * Self.inputScale
                        frame[i + 1] = s[i + 1] * Self.inputScale
                        frame[i + 2] = s[i + 2] * Self.inputScale
                        frame[i + 3] = s[i + 3] * Self.inputScale
                        sums.0 += Double(frame[i])
                        sums.1 += Double(frame[i + 1])
                        sums.2 += Double(frame[i + 2])
                        sums.3 += Double(frame[i + 3])
                        i += 4
                    }
                    while i < w {
                        frame[i] = s[i] * Self.inputScale
                        sums.0 += Double(frame[i])
                        i += 1
                    }
                    let mean = Float((sums.0 + sums.1 + sums.2 + sums.3) / Double(w))
                    for i in 0..<w { frame[i] -= mean }
                    // Pre-emphasis, Kaldi replicating the first sample (y[0] = x[0] − 0.97·x[0]),
                    // then the window.
                    x[0] = (frame[0] - Self.preemphasis * frame[0]) * win[0]
                    for i in 1..<w {
                        x[i] = (frame[i] - Self.preemphasis * frame[i - 1]) * win[i]
                    }
                    fft.powerSpectrum(into: power)
                    let row = out + t * nMels
                    for b in 0..<nMels {
                        var e: Float = 0
                        let start = melStart[b]
                        for j in melOffset[b]..<melOffset[b + 1] {
                            e += mw[j] * power[start + j - melOffset[b]]
                        }
                        row[b] = log(max(e, Self.logFloor))
                    }
                }
            }
        }
    }
}
