/// Continuous integrate-and-fire helpers shared by the CIF predictors and the timestamp code.
package enum CIF {
    /// The `fires` array of `cif_v1` (its second output): for each frame, the fractional
    /// part of the running weight sum, plus 1 on frames where the sum crosses an integer.
    ///
    /// ```
    /// s_t = Float32(Σ_{u≤t} Float64(alphas_u))         (cumsum in float64)
    /// fires_t = (⌊s_t⌋ > ⌊s_{t−1}⌋ ? 1 : 0) + s_t − ⌊s_t⌋   (float32, ⌊s_{−1}⌋ = 0)
    /// ```
    /// FunASR: paraformer/cif_predictor.py `cif_v1`.
    package static func fires(alphas: [Float]) -> [Float] {
        var sum = 0.0
        var previousFloor: Float = 0
        return alphas.map { alpha in
            sum += Double(alpha)
            let prefix = Float(sum)
            let floor = prefix.rounded(.down)
            let fire: Float = floor - previousFloor > 0 ? 1 : 0
            previousFloor = floor
            return (fire + prefix) - floor  // torch: fires + prefix_sum - prefix_sum_floor
        }
    }
}
