import Foundation
import XCTest

@testable import ParaformerCore
@testable import ParaformerModels

/// MFCCA's own kernels against naive definitions: the im2col Conv2d, the CTC prefix score
/// (against a brute-force sum over every alignment), the legacy relative-position table.
final class MFCCAUnitTests: XCTestCase {
    private func random(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: s >> 11) % 2000) / 1000 - 1
        }
    }

    func testConv2DEqualsNaiveLoop() {
        for (cin, cout, kh, kw, sh, sw, ph, pw, h, w) in [
            (1, 3, 3, 3, 2, 2, 0, 0, 9, 11), (2, 4, 5, 7, 1, 1, 2, 3, 6, 10), (3, 1, 5, 7, 1, 1, 2, 3, 4, 5),
        ] {
            let wt = Tensor(random(cout * cin * kh * kw, seed: 1), shape: [cout, cin, kh, kw])
            let b = Tensor(random(cout, seed: 2), shape: [cout])
            let x = Tensor(random(cin * h * w, seed: 3), shape: [cin, h * w])
            let conv = Conv2D(weight: wt, bias: b, stride: (sh, sw), padding: (ph, pw))
            let (ho, wo) = conv.outputSize(height: h, width: w)
            let ws = Workspace()
            defer { withExtendedLifetime(ws) {} }  // y lives in the workspace's arena
            let y = conv(x, height: h, width: w, ws)
            XCTAssertEqual(y.count, cout * ho * wo)
            for co in 0..<cout {
                for i in 0..<ho {
                    for j in 0..<wo {
                        var acc = b[co]
                        for ci in 0..<cin {
                            for a in 0..<kh {
                                for c in 0..<kw {
                                    let (r, q) = (i * sh - ph + a, j * sw - pw + c)
                                    guard r >= 0 && r < h && q >= 0 && q < w else { continue }
                                    acc += wt[((co * cin + ci) * kh + a) * kw + c] * x[(ci * h + r) * w + q]
                                }
                            }
                        }
                        XCTAssertEqual(y[(co * ho + i) * wo + j], acc, accuracy: 1e-4)
                    }
                }
            }
        }
    }

    /// ψ(g·c) is the probability that the collapsed CTC output starts with g·c (exactly g for
    /// <eos>), summed over every alignment: enumerate all V^T paths of a tiny problem.
    func testCTCPrefixScoreEqualsBruteForce() {
        let (t, v, blank, eos) = (5, 4, 0, 3)
        var logp = [Float](repeating: 0, count: t * v)
        let raw = random(t * v, seed: 7)
        for f in 0..<t {
            let row = (0..<v).map { raw[f * v + $0] * 2 }
            let lse = log(row.map { exp(Double($0)) }.reduce(0, +))
            for k in 0..<v { logp[f * v + k] = Float(Double(row[k]) - lse) }
        }
        let scorer = CTCPrefixScorer(logp: Tensor(logp, shape: [t, v]), blank: blank, eos: eos)
        // P(collapsed output) for every path.
        var outputs: [[Int]: Double] = [:]
        var path = [Int](repeating: 0, count: t)
        func visit(_ i: Int, _ p: Double) {
            if i == t {
                var out: [Int] = []
                var prev = -1
                for s in path {
                    if s != prev && s != blank { out.append(s) }
                    prev = s
                }
                outputs[out, default: 0] += p
                return
            }
            for s in 0..<v {
                path[i] = s
                visit(i + 1, p * exp(Double(logp[i * v + s])))
            }
        }
        visit(0, 1)
        func prefixProbability(_ h: [Int]) -> Double {
            outputs.filter { $0.key.starts(with: h) }.map(\.value).reduce(0, +)
        }
        let sos = eos
        var state = scorer.initialState()
        var prefix = [sos]
        var prefixLog: Float = 0
        for next in [1, 2, 2] {
            let ids = Array(0..<v)
            let r = scorer.score(prefix: prefix, state: state, ids: ids)
            let g = Array(prefix.dropFirst())
            for c in ids where c != blank {
                let want = c == eos ? (outputs[g] ?? 0) : prefixProbability(g + [c])
                let got = exp(Double(r[c].score + prefixLog))
                XCTAssertEqual(got, want, accuracy: 1e-5 + 1e-4 * want, "prefix \(g) + \(c)")
            }
            XCTAssertLessThan(r[blank].score, -1e9)
            prefixLog += r[next].score
            state = r[next].state
            prefix.append(next)
        }
    }

    func testLegacyPositionTableIsReversedSinusoid() {
        let pe = MFCCAEncoder.legacyRelativePositions(count: 3, dim: 4)
        for i in 0..<3 {
            let pos = Double(4999 - i)
            XCTAssertEqual(Double(pe[i, 0]), sin(pos), accuracy: 2e-3)
            XCTAssertEqual(Double(pe[i, 1]), cos(pos), accuracy: 2e-3)
            XCTAssertEqual(Double(pe[i, 2]), sin(pos / 100), accuracy: 1e-4)
        }
    }
}
