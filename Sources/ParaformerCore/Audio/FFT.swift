import Foundation

#if canImport(CFFTW)
    import CFFTW
#endif

/// The power spectrum of a real signal of fixed even length `n` (FFTW's r2c transform).
///
/// ```
/// X[k] = Σ_{i<n} x[i]·e^{-2πi·ik/n},   power[k] = Re(X[k])² + Im(X[k])²,   k = 0…n/2
/// ```
/// This is the engine's only FFT seam. One instance holds its own aligned buffers, so it
/// belongs to one caller at a time (make one per call or per stream). The FFTW plan behind
/// it is made once per size, under a lock (FFTW's planner is not thread-safe), and shared:
/// executing a plan on other arrays (`fftwf_execute_dft_r2c`) is thread-safe.
/// (`#if canImport(Accelerate)` can add a vDSP implementation of the same two members.)
package final class RealFFT {
    /// Transform length.
    package let size: Int
    /// `size` input samples; fill, then call `powerSpectrum(into:)`. Aligned for SIMD.
    package let input: UnsafeMutablePointer<Float>
    /// `size/2 + 1` complex values, interleaved (re, im).
    private let output: UnsafeMutablePointer<Float>
    private let plan: OpaquePointer

    /// - Precondition: `size` is even and at least 2.
    package init(size: Int) {
        precondition(size >= 2 && size % 2 == 0, "RealFFT size must be even, got \(size)")
        self.size = size
        input = Self.allocate(size)
        output = Self.allocate(size + 2)
        input.initialize(repeating: 0, count: size)
        output.initialize(repeating: 0, count: size + 2)
        plan = PlanCache.shared.plan(size: size)
    }

    deinit {
        fftwf_free(input)
        fftwf_free(output)
    }

    /// Writes `|X[k]|²` for k = 0…size/2 (`size/2 + 1` values) into `power`.
    package func powerSpectrum(into power: UnsafeMutablePointer<Float>) {
        output.withMemoryRebound(to: fftwf_complex.self, capacity: size / 2 + 1) {
            fftwf_execute_dft_r2c(plan, input, $0)
        }
        for k in 0...(size / 2) {
            let re = output[2 * k]
            let im = output[2 * k + 1]
            power[k] = re * re + im * im
        }
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        guard let raw = fftwf_malloc(count * MemoryLayout<Float>.stride) else {
            fatalError("fftwf_malloc of \(count) floats failed")  // out of memory
        }
        return raw.bindMemory(to: Float.self, capacity: count)
    }

    /// One FFTW plan per size, made on first use and kept for the life of the process.
    private final class PlanCache: @unchecked Sendable {
        package static let shared = PlanCache()
        private let lock = NSLock()
        private var plans: [Int: OpaquePointer] = [:]

        package func plan(size: Int) -> OpaquePointer {
            lock.lock()
            defer { lock.unlock() }
            if let plan = plans[size] { return plan }
            // Planning arrays come from fftwf_malloc like every caller's buffers, so the
            // plan's alignment assumptions hold for new-array execution.
            let x = RealFFT.allocate(size)
            let y = RealFFT.allocate(size + 2)
            defer {
                fftwf_free(x)
                fftwf_free(y)
            }
            let plan = y.withMemoryRebound(to: fftwf_complex.self, capacity: size / 2 + 1) {
                fftwf_plan_dft_r2c_1d(Int32(size), x, $0, UInt32(FFTW_ESTIMATE))
            }
            guard let plan else { fatalError("FFTW could not plan a real FFT of size \(size)") }
            plans[size] = plan
            return plan
        }
    }
}
