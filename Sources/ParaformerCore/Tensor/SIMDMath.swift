import Foundation

/// Vectorised float math for the row kernels (softmax, LayerNorm): 16 lanes at a time, which the
/// compiler maps to AVX-512 or 2 × AVX2 (NEON on ARM), with scalar tails.
package enum SIMDMath {
    package typealias V = SIMD16<Float>
    package static let width = 16

    @inline(__always)
    package static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    package static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// |a| by clearing the sign bit (integer ops on SIMD types compile to vector code).
    @inline(__always)
    package static func abs(_ a: V) -> V {
        unsafeBitCast(unsafeBitCast(a, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: V.self)
    }

    /// max(y, 0), exactly: y + |y| is 2y or 0 without rounding. (The standard library's
    /// `pointwiseMax` and lane masks compile to lane-by-lane code on baseline x86-64.)
    @inline(__always)
    package static func relu(_ y: V) -> V { (y + abs(y)) * 0.5 }

    /// p[i] = max(p[i], 0) for i in 0..<n (the vector form of `Kernels.relu`).
    @inline(__always)
    package static func relu(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + width <= n {
            store(relu(load(p + i)), p + i)
            i += width
        }
        while i < n {
            p[i] = Swift.max(p[i], 0)
            i += 1
        }
    }

    /// Lane-wise max of finite values as a + relu(b − a): exactly a where a ≥ b, within an
    /// ulp of b otherwise.
    @inline(__always)
    package static func max(_ a: V, _ b: V) -> V { a + relu(b - a) }

    /// e^x for each lane: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial,
    /// 2^n by building the exponent bits. Relative error ≈ 2e-7 for finite x in [-87, 88]; x is
    /// clamped to that range (so e^-100 gives 1.2e-38, not 0). Branch- and mask-free. Inputs
    /// must be finite.
    @inline(__always)
    package static func exp(_ x: V) -> V {
        let lo = V(repeating: -87.33654)
        let hi = V(repeating: 88.37626)
        let xc = max(x, lo) - relu(x - hi)  // exactly x inside [lo, hi]
        // Round x·log2(e) to an integer with the 1.5·2^23 trick: after the add, the low
        // mantissa bits of `shifted` hold n (no float↔int conversions, which SIMD types
        // do lane by lane).
        let magic = V(repeating: 12_582_912)
        let shifted = xc * V(repeating: 1.442_695_04) + magic
        let n = shifted - magic
        // r = x − n·ln2 in two steps (Cody–Waite) to keep r exact.
        var r = xc - n * V(repeating: 0.693_359_375)
        r = r - n * V(repeating: -2.121_944_4e-4)
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + V(repeating: 1.398_199_95e-3)
        p = p * r + V(repeating: 8.333_451_9e-3)
        p = p * r + V(repeating: 4.166_579_6e-2)
        p = p * r + V(repeating: 1.666_666_55e-1)
        p = p * r + V(repeating: 5.000_000_1e-1)
        p = p * (r * r) + r + V(repeating: 1)
        // 2^n: n sits in the low bits of `shifted`; move it into the exponent field.
        let nBits = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: V.self)
        return p * scale
    }

    /// Σ p[0..<n]
    @inline(__always)
    package static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        while i + width <= n {
            acc += load(p + i)
            i += width
        }
        var s = acc.sum()
        while i < n {
            s += p[i]
            i += 1
        }
        return s
    }

    /// max p[0..<n] of finite values (−∞ for n = 0).
    @inline(__always)
    package static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = -Float.infinity
        var i = 0
        if n >= width {
            var acc = load(p)
            i = width
            while i + width <= n {
                acc = max(acc, load(p + i))
                i += width
            }
            for j in 0..<width { m = Swift.max(m, acc[j]) }
        }
        while i < n {
            m = Swift.max(m, p[i])
            i += 1
        }
        return m
    }

    /// Σ (p[i] − c)²
    @inline(__always)
    package static func sumOfSquaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, from c: Float) -> Float {
        var acc = V(repeating: 0)
        let cv = V(repeating: c)
        var i = 0
        while i + width <= n {
            let d = load(p + i) - cv
            acc += d * d
            i += width
        }
        var s = acc.sum()
        while i < n {
            let d = p[i] - c
            s += d * d
            i += 1
        }
        return s
    }

    /// p[i] = e^(p[i] − shift) for i < n; returns their sum.
    @inline(__always)
    package static func expShiftedInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        var acc = V(repeating: 0)
        let sv = V(repeating: shift)
        var i = 0
        while i + width <= n {
            let e = exp(load(p + i) - sv)
            store(e, p + i)
            acc += e
            i += width
        }
        var tail: Float = 0
        while i < n {
            let e = Foundation.exp(p[i] - shift)
            p[i] = e
            tail += e
            i += 1
        }
        return acc.sum() + tail
    }
}
