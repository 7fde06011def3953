/// Vectorised float math for the row kernels (softmax, LayerNorm): 16 lanes at a time, which the
/// compiler maps to AVX-512 or 2 × AVX2 (NEON on ARM), with scalar tails.
enum SIMDMath {
    typealias V = SIMD16<Float>
    static let width = 16

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// e^x for each lane: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial,
    /// 2^n by building the exponent bits. Relative error ≈ 2e-7 for x in [-87, 88];
    /// smaller x flush to 0, larger saturate.
    @inline(__always)
    static func exp(_ x: V) -> V {
        let lo = V(repeating: -87.33654)
        let hi = V(repeating: 88.37626)
        let xc = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
        let log2e = V(repeating: 1.442_695_04)
        let n = (xc * log2e).rounded(.toNearestOrEven)
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
        let bits = (SIMD16<Int32>(n) &+ 127) &<< 23
        let scale = unsafeBitCast(bits, to: V.self)
        let result = p * scale
        return result.replacing(with: 0, where: x .< lo)
    }

    /// Σ p[0..<n]
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
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

    /// max p[0..<n] (−∞ for n = 0)
    @inline(__always)
    static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = V(repeating: -.infinity)
        var i = 0
        while i + width <= n {
            acc = pointwiseMax(acc, load(p + i))
            i += width
        }
        var m = acc.max()
        while i < n {
            m = Swift.max(m, p[i])
            i += 1
        }
        return m
    }

    /// Σ (p[i] − c)²
    @inline(__always)
    static func sumOfSquaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, from c: Float) -> Float {
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
    static func expShiftedInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        var acc = V(repeating: 0)
        let sv = V(repeating: shift)
        var i = 0
        while i + width <= n {
            let e = exp(load(p + i) - sv)
            store(e, p + i)
            acc += e
            i += width
        }
        if i < n {
            // Tail through one padded vector so every element uses the same exp.
            var tmp = V(repeating: -.infinity)
            for j in 0..<(n - i) { tmp[j] = p[i + j] }
            let e = exp(tmp - sv)
            for j in 0..<(n - i) { p[i + j] = e[j] }
            acc += e.replacing(with: 0, where: tmp .== -.infinity)
        }
        return acc.sum()
    }
}
