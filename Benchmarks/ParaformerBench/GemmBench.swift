import Foundation
import Paraformer
import ParaformerCore
import ParaformerModels

/// The matrix products of the SAN-M encoder for a clip of `frames` LFR frames, and a
/// microbenchmark of `cblas_sgemm` (through `BLAS.gemm` and the engine's threads, as the
/// engine calls it) on exactly those shapes, giving the machine's sustained GFLOP/s and the "pure GEMM time" of the
/// encoder: the time its products would take at that rate with nothing else in the way.
struct GemmShape: Codable {
    /// What the product is, e.g. "ffn.w1".
    var name: String
    var m: Int
    var n: Int
    var k: Int
    /// How often the encoder runs this product for the clip (layers × heads).
    var count: Int
    var transB: Bool
    /// Leading dimensions of A and B (strided views, as in a fused QKV buffer).
    var lda: Int
    var ldb: Int

    var flop: Double { 2 * Double(m) * Double(n) * Double(k) }
}

struct GemmShapeResult: Codable {
    var shape: GemmShape
    /// Median seconds of one product.
    var seconds: Double
    var gflops: Double
    /// `count × seconds`.
    var totalSeconds: Double
    /// Median seconds with one weight matrix reused (in cache: a microbenchmark's best case).
    var hotSeconds: Double
    /// Distinct weight matrices cycled through for `seconds` (one per layer).
    var weightSets: Int
}

struct GemmReport: Codable {
    var frames: Int
    var threads: Int
    var blasCore: String
    var shapes: [GemmShapeResult]
    /// FLOP of all encoder products for the clip (linear layers + attention QKᵀ and PV).
    var encoderFlop: Double
    var linearFlop: Double
    var attentionFlop: Double
    /// Σ count × measured time, weights from memory as in the encoder: its floor on this
    /// machine.
    var pureGemmSeconds: Double
    /// The same with every weight matrix in cache (optimistic).
    var hotPureGemmSeconds: Double
    /// encoderFlop / pureGemmSeconds.
    var sustainedGflops: Double
    /// Rate of the largest linear product alone (the best case of this BLAS).
    var peakShapeGflops: Double
}

enum GemmBench {
    /// LFR frames FunASR's frontend makes from `samples` at the model rate (snip-edges fbank,
    /// then ceil(frames / lfr_n)).
    static func lfrFrames(samples: Int, hp: Hyperparameters) -> Int {
        let win = hp.sampleRate * hp.frameLengthMs / 1000
        let hop = hp.sampleRate * hp.frameShiftMs / 1000
        guard samples >= win else { return 0 }
        let fb = (samples - win) / hop + 1
        return (fb + hp.lfrN - 1) / hp.lfrN
    }

    /// The encoder's products for `t` frames: encoders0 (input `inputSize`), then
    /// `encoderBlocks − 1` layers of D; each with fused QKV, output projection, FFN, and per
    /// head QKᵀ (T×T×d_k) and PV (T×d_k×T).
    static func encoderShapes(frames t: Int, hp: Hyperparameters) -> [GemmShape] {
        let d = hp.modelDim, u = hp.encoderLinearUnits, h = hp.encoderHeads
        let dk = d / h, layers = hp.encoderBlocks
        // Linear weights as the file stores them: [out, in] (x · Wᵀ, transB) or [in, out].
        let transB = hp.linearLayout == .outIn
        func linear(_ name: String, _ k: Int, _ n: Int, count: Int) -> GemmShape {
            GemmShape(name: "\(name) [T,\(k)]x[\(k),\(n)]", m: t, n: n, k: k, count: count, transB: transB,
                      lda: k, ldb: transB ? k : n)
        }
        return [
            linear("qkv0", hp.inputSize, 3 * d, count: 1),
            linear("qkv", d, 3 * d, count: layers - 1),
            linear("out", d, d, count: layers),
            linear("ffn1", d, u, count: layers),
            linear("ffn2", u, d, count: layers),
            GemmShape(name: "attn QK^T [T,\(dk)]x[\(dk),T] per head", m: t, n: t, k: dk, count: layers * h,
                      transB: true, lda: 3 * d, ldb: 3 * d),
            GemmShape(name: "attn PV [T,T]x[T,\(dk)] per head", m: t, n: dk, k: t, count: layers * h,
                      transB: false, lda: t, ldb: 3 * d),
        ]
    }

    static func run(frames t: Int, hp: Hyperparameters, threads: Int, minSeconds: Double = 0.25) -> GemmReport {
        let shapes = encoderShapes(frames: t, hp: hp)
        var results: [GemmShapeResult] = []
        var rng = SplitMix(seed: 42)
        for s in shapes {
            // Linear products run as the engine runs them: one `BLAS.gemm`, split into panels
            // over the threads. Attention runs whole heads concurrently, one per thread, each a
            // single-threaded product; so it is timed here, each thread with its own operands.
            let perHead = s.name.hasPrefix("attn")
            let copies = perHead ? max(1, min(threads, hp.encoderHeads)) : 1
            let aRows = s.m, bRows = s.transB ? s.n : s.k
            // A linear product reads its layer's weights from memory, as in the encoder, where
            // 50 layers' weights pass through the caches once per utterance: so one weight
            // matrix per layer (up to 512 MiB), used in turn. `hot` reuses one matrix, as a
            // microbenchmark usually does (the best case, reported alongside).
            let bSize = bRows * s.ldb
            let weightSets = perHead ? copies : max(1, min(s.count, (512 << 20) / (4 * bSize)))
            let a = UnsafeMutablePointer<Float>.allocate(capacity: copies * aRows * s.lda)
            let b = UnsafeMutablePointer<Float>.allocate(capacity: weightSets * bSize)
            let c = UnsafeMutablePointer<Float>.allocate(capacity: copies * s.m * s.n)
            defer { a.deallocate(); b.deallocate(); c.deallocate() }
            for i in 0..<(copies * aRows * s.lda) { a[i] = rng.nextFloat() }
            for i in 0..<(weightSets * bSize) { b[i] = rng.nextFloat() * 0.05 }
            c.initialize(repeating: 0, count: copies * s.m * s.n)
            // Product number `i`: weight matrix i mod `sets` (attention: every thread's own).
            func product(_ i: Int, sets: Int) {
                if perHead {
                    Parallel.forParts(copies) { p in
                        BLAS.gemmOnThisThread(
                            transA: false, transB: s.transB, m: s.m, n: s.n, k: s.k,
                            a: a + p * aRows * s.lda, lda: s.lda, b: b + p * bSize,
                            ldb: s.ldb, beta: 0, c: c + p * s.m * s.n, ldc: s.n)
                    }
                } else {
                    BLAS.gemm(transA: false, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a, lda: s.lda,
                              b: b + (i % sets) * bSize, ldb: s.ldb, beta: 0, c: c, ldc: s.n)
                }
            }
            func measure(sets: Int) -> Double {
                for i in 0..<sets { product(i, sets: sets) }  // warm-up: page faults, buffers, pool
                var times: [Double] = []
                let clock = ContinuousClock()
                let begin = clock.now
                while times.count < max(3, min(sets, 200))
                    || ((clock.now - begin).seconds < minSeconds && times.count < 400)
                {
                    let t0 = clock.now
                    product(times.count, sets: sets)
                    times.append((clock.now - t0).seconds)
                }
                // Seconds per product: `copies` products ran side by side.
                return median(times) / Double(copies)
            }
            let sec = measure(sets: weightSets)
            let hotSec = perHead ? sec : measure(sets: 1)
            results.append(GemmShapeResult(shape: s, seconds: sec, gflops: s.flop / sec / 1e9,
                                           totalSeconds: sec * Double(s.count), hotSeconds: hotSec,
                                           weightSets: weightSets))
        }
        let attention = results.filter { $0.shape.name.hasPrefix("attn") }
        let linear = results.filter { !$0.shape.name.hasPrefix("attn") }
        let linFlop = linear.reduce(0) { $0 + $1.shape.flop * Double($1.shape.count) }
        let attFlop = attention.reduce(0) { $0 + $1.shape.flop * Double($1.shape.count) }
        let pure = results.reduce(0) { $0 + $1.totalSeconds }
        let hotPure = results.reduce(0) { $0 + $1.hotSeconds * Double($1.shape.count) }
        let peak = linear.max { $0.shape.flop < $1.shape.flop }?.gflops ?? 0
        return GemmReport(frames: t, threads: threads, blasCore: BLAS.coreName, shapes: results,
                          encoderFlop: linFlop + attFlop, linearFlop: linFlop, attentionFlop: attFlop,
                          pureGemmSeconds: pure, hotPureGemmSeconds: hotPure, sustainedGflops: (linFlop + attFlop) / pure / 1e9,
                          peakShapeGflops: peak)
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}

func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return .nan }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
