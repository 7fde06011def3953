/// Reproducible test data: a 64-bit LCG stepped through `seed`, values in [-1, 1] in steps of
/// 0.001 (exact in Float, so naive reference loops are easy to reason about).
enum TestRandom {
    static func floats(_ n: Int, seed: inout UInt64) -> [Float] {
        (0..<n).map { _ in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: seed >> 11) % 2001) / 1000 - 1
        }
    }
}
