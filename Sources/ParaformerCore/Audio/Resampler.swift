import Foundation

/// Band-limited sinc resampling, numerically torchaudio's `transforms.Resample(orig, new)`
/// with its defaults (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99), which FunASR
/// applies to every input whose rate is not the model's.
///
/// With the rates reduced by their gcd (o = orig/g, n = new/g), base = 0.99·min(o, n),
/// w = ceil(6·o / base), output y[i·n + k] for phase k < n is a dot product of a padded input
/// window with the phase's kernel:
/// ```
/// t      = clamp((−k/n + (m − w)/o) · base, −6, 6)                 m < 2w + o
/// h[k,m] = sinc(π·t) · cos²(π·t / 12) · base / o                   (float64, stored float32)
/// y[i·n + k] = Σ_m xpad[i·o + m] · h[k, m],   xpad = [0]·w ++ x ++ [0]·(w + o)
/// y has ceil(n·N / o) samples.
/// ```
/// (torchaudio `_get_sinc_resample_kernel` and `_apply_sinc_resample_kernel`.) Only the
/// non-zero taps of each phase are kept (|t| < 6; the clamped ones are 0 in float32), so
/// the kernel is O(o + n) even for coprime rates such as 44 101 → 16 000.
package struct Resampler: Sendable {
    /// Rate of the input, in Hz.
    package let inputRate: Int
    /// Rate of the output, in Hz.
    package let outputRate: Int
    /// Rates divided by their gcd (torchaudio's `orig_freq // gcd`, `new_freq // gcd`).
    package let orig: Int
    package let new: Int
    /// Zero padding on the left, torchaudio's `width`.
    package let width: Int
    /// Phase k's taps are `taps[tapOffset[k] ..< tapOffset[k+1]]`, applied from padded input
    /// index `i·orig + tapStart[k]`.
    package let tapStart: [Int]
    package let tapOffset: [Int]
    package let taps: [Float]

    package static let lowpassFilterWidth = 6.0
    package static let rolloff = 0.99

    /// - Throws: `ParaformerError.unsupportedSampleRate` for a rate outside
    ///   `AudioDecoder.supportedSampleRates`.
    package init(from inputRate: Int, to outputRate: Int) throws {
        for rate in [inputRate, outputRate] where !AudioDecoder.supportedSampleRates.contains(rate) {
            throw ParaformerError.unsupportedSampleRate(rate)
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        var a = inputRate
        var b = outputRate
        while b != 0 { (a, b) = (b, a % b) }
        orig = inputRate / a
        new = outputRate / a

        let lpw = Self.lowpassFilterWidth
        let base = Double(min(orig, new)) * Self.rolloff
        width = Int((lpw * Double(orig) / base).rounded(.up))
        let scale = base / Double(orig)
        let kernelLength = 2 * width + orig
        var starts: [Int] = []
        var offsets: [Int] = [0]
        var values: [Float] = []
        var row: [Float] = []
        for k in 0..<new {
            // torchaudio builds −k/new in float32 (an int tensor divided by an int).
            let phase = Double(Float(-k) / Float(new))
            // Taps with |t| < 6 lie within ±6·o/base of m = w + o·k/n; look a little wider.
            let center = Double(width) + Double(orig) * Double(k) / Double(new)
            let reach = lpw * Double(orig) / base + 2
            let lo = max(0, Int((center - reach).rounded(.down)))
            let hi = min(kernelLength - 1, Int((center + reach).rounded(.up)))
            row.removeAll(keepingCapacity: true)
            for m in lo...hi {
                let idx = Double(m - width) / Double(orig)
                var t = (phase + idx) * base
                t = min(max(t, -lpw), lpw)
                let c = cos(t * Double.pi / lpw / 2)
                let window = c * c
                t *= Double.pi
                let sinc = t == 0 ? 1.0 : sin(t) / t
                row.append(Float(sinc * (window * scale)))
            }
            let first = row.firstIndex { $0 != 0 } ?? 0
            let last = row.lastIndex { $0 != 0 } ?? -1
            starts.append(lo + first)
            if last >= first { values.append(contentsOf: row[first...last]) }
            offsets.append(values.count)
        }
        tapStart = starts
        tapOffset = offsets
        taps = values
    }

    /// Number of output samples for `count` input samples: ceil(new·N / orig).
    package func outputCount(inputCount count: Int) -> Int { (new * count + orig - 1) / orig }

    /// Resamples `x` (the rate `inputRate`) to `outputRate`.
    package func callAsFunction(_ x: [Float]) -> [Float] {
        if inputRate == outputRate { return x }
        let n = x.count
        let outCount = outputCount(inputCount: n)
        return [Float](unsafeUninitializedCapacity: outCount) { y, count in
            x.withUnsafeBufferPointer { xs in
                taps.withUnsafeBufferPointer { h in
                    for o in 0..<outCount {
                        let i = o / new
                        let k = o - i * new
                        // Padded index p maps to x[p − width]; outside x it is zero.
                        let p0 = i * orig + tapStart[k] - width
                        let t0 = tapOffset[k]
                        let count = tapOffset[k + 1] - t0
                        let lo = max(0, -p0)
                        let hi = min(count, n - p0)
                        var acc: Float = 0
                        if lo < hi {
                            for j in lo..<hi { acc += xs[p0 + j] * h[t0 + j] }
                        }
                        y[o] = acc
                    }
                }
            }
            count = outCount
        }
    }
}
