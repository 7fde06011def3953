import Foundation
import ParaformerCore

/// The CTC prefix score (ESPnet `CTCPrefixScore`, Algorithm 2 of Watanabe et al., "Hybrid
/// CTC/attention architecture for end-to-end speech recognition"), as FunASR 0.8.8's
/// `CTCPrefixScorer` runs it: numpy float32 arithmetic, log-zero −1e10.
/// ```
/// r_t^n(h), r_t^b(h): forward log-probabilities of h ending in its last label / in blank
/// ψ(h = g·c) = r_{s−1}^n(h) ⊕ ⊕_{t ≥ s} φ_{t−1}(g, c) + x_t(c),   φ = r^n(g) ⊕ r^b(g)
///                                                   (r^b(g) alone when c repeats g's last label)
/// ψ(g·<eos>) = r_T^n(g) ⊕ r_T^b(g),   ψ(g·blank) = log-zero
/// score(c) = ψ(g·c) − ψ(g)
/// ```
package final class CTCPrefixScorer: Sendable {
    /// log-softmax of the CTC layer, [T', V] row-major.
    package let logp: [Float]
    package let frames: Int
    package let vocab: Int
    package let blank: Int
    package let eos: Int
    package static let logZero: Float = -10_000_000_000

    /// The prefix's ψ and its forward variables r [T', 2] (n, b interleaved).
    package final class State: Sendable {
        package let prefixScore: Float
        package let r: [Float]
        package init(prefixScore: Float, r: [Float]) {
            self.prefixScore = prefixScore
            self.r = r
        }
    }

    package init(logp: Tensor, blank: Int, eos: Int) {
        self.logp = logp.array
        frames = logp.rows
        vocab = logp.cols
        self.blank = blank
        self.eos = eos
    }

    /// numpy's float32 `logaddexp`.
    @inline(__always)
    package static func logAddExp(_ x: Float, _ y: Float) -> Float {
        if x == y { return x + Float(M_LN2) }
        let d = x - y
        if d > 0 { return x + log1pf(expf(-d)) }
        if d <= 0 { return y + log1pf(expf(d)) }
        return d  // NaN
    }

    package func initialState() -> State {
        var r = [Float](repeating: CTCPrefixScorer.logZero, count: frames * 2)
        if frames > 0 { r[1] = logp[blank] }
        if frames > 1 { for t in 1..<frames { r[2 * t + 1] = r[2 * (t - 1) + 1] + logp[t * vocab + blank] } }
        return State(prefixScore: 0, r: r)
    }

    /// ESPnet `score_partial` + `select_state`: the score of each of `ids` appended to
    /// `prefix` (relative to the prefix's own ψ) and the state of each extended prefix.
    package func score(prefix: [Int], state prev: State, ids: [Int]) -> [(score: Float, state: State)] {
        let rPrev = prev.r
        let outputLength = prefix.count - 1  // without <sos>
        let last = prefix[prefix.count - 1]
        let logZero = CTCPrefixScorer.logZero
        let t0 = frames
        // r_sum[t] = r_prev^n ⊕ r_prev^b
        var rSum = [Float](repeating: 0, count: t0)
        for t in 0..<t0 { rSum[t] = CTCPrefixScorer.logAddExp(rPrev[2 * t], rPrev[2 * t + 1]) }
        var results: [(score: Float, state: State)] = []
        results.reserveCapacity(ids.count)
        for c in ids {
            var r = [Float](repeating: logZero, count: t0 * 2)
            if outputLength == 0, t0 > 0 {
                r[0] = logp[c]
                r[1] = logZero
            }
            // φ: r_sum, or r^b alone where c repeats the last label.
            let repeatsLast = outputLength > 0 && c == last
            let start = max(outputLength, 1)
            var psi: Float = start - 1 < t0 ? r[2 * (start - 1)] : logZero
            if start < t0 {
                for t in start..<t0 {
                    let phi = repeatsLast ? rPrev[2 * (t - 1) + 1] : rSum[t - 1]
                    let x = logp[t * vocab + c]
                    r[2 * t] = CTCPrefixScorer.logAddExp(r[2 * (t - 1)], phi) + x
                    r[2 * t + 1] = CTCPrefixScorer.logAddExp(r[2 * (t - 1)], r[2 * (t - 1) + 1]) + logp[t * vocab + blank]
                    psi = CTCPrefixScorer.logAddExp(psi, phi + x)
                }
            }
            if c == eos { psi = t0 > 0 ? rSum[t0 - 1] : logZero }
            if c == blank { psi = logZero }
            results.append((psi - prev.prefixScore, State(prefixScore: psi, r: r)))
        }
        return results
    }
}
