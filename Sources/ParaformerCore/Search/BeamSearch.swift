import Foundation

/// What a beam search asks of a model: the log-probability of every next token for a batch of
/// hypotheses, each with its own state (decoder caches, CTC prefix probabilities, ...).
///
/// A state is a value type whose storage is copy-on-write: hypotheses that branch from one
/// parent share its state until one of them is scored, so the caches are copied only when a
/// hypothesis branches (the last child to be scored updates the shared storage in place).
///
/// This is ESPnet's `ScorerInterface` (FunASR: transformer/scorers/scorer_interface.py) in
/// batch form: a full scorer scores the whole vocabulary. A partial scorer (the CTC prefix
/// scorer of MFCCA, scoring only a pre-beam of candidates) will add its own protocol and a
/// pre-beam step in `BeamSearch.step`.
package protocol BeamSearchScorer {
    associatedtype State
    /// The vocabulary size V.
    var vocabularySize: Int { get }
    /// The state of the initial hypothesis `[sos]`.
    func initialState() -> State
    /// Scores for output position `step` (0-based): `scores[h, v]` = log p(v | prefixes[h]),
    /// written into `scores` [H, V]; each state moves past the last token of its prefix.
    func score(prefixes: [[Int]], states: inout [State], step: Int, into scores: Tensor, _ ws: Workspace)
    /// A score added when a hypothesis ends (ESPnet's `final_score`; 0 for a decoder).
    func finalScore(_ state: State) -> Float
}

extension BeamSearchScorer {
    package func finalScore(_ state: State) -> Float { 0 }
}

/// One finished hypothesis: its tokens (`sos … eos`) and summed weighted log-probability.
package struct BeamHypothesis: Sendable, Equatable {
    package var tokens: [Int]
    package var score: Float
}

/// Label-synchronous beam search, ESPnet's `BeamSearch` as FunASR runs it for UniASR
/// (uniasr/beam_search.py `BeamSearchScama`, metrics/common.py `end_detect`):
///
/// ```
/// hyps = [[sos]]; ended = []
/// for i in 0 ..< maxlen:
///     s[h, v] = weight · log p(v | hyps[h]) + score(hyps[h])      // float32, as torch
///     for h in hyps:                                   // candidates in hypothesis order
///         best += top-k(s[h], beam)                    // ties: the lower token id first
///         best  = stable-sort(best, by score desc)[..< beam]
///     if i == maxlen − 1: append eos to every hyp      // no score for it
///     move hyps ending in eos to `ended`
///     stop if end_detect(ended, i) or no hyps remain
/// return ended, stable-sorted by score desc            // no length normalisation
/// ```
/// `minlen` does not exist here because FunASR computes it and never uses it.
package struct BeamSearch<Scorer: BeamSearchScorer> {
    package let scorer: Scorer
    package let beamSize: Int
    package let sos: Int
    package let eos: Int
    /// The scorer's weight (FunASR: `decoder = 1 − decoding_ctc_weight` = 1).
    package let weight: Float

    package init(scorer: Scorer, beamSize: Int, sos: Int, eos: Int, weight: Float = 1) {
        precondition(beamSize >= 1)
        self.scorer = scorer
        self.beamSize = beamSize
        self.sos = sos
        self.eos = eos
        self.weight = weight
    }

    /// Seconds spent in the search itself (top-k, sorting, bookkeeping) and in the scorer.
    package struct Timings: Sendable {
        package var search: Double = 0
        package var scorer: Double = 0
        package init() {}
    }

    /// The ended hypotheses, best first (empty when none ended).
    package func callAsFunction(maxLength: Int, _ ws: Workspace) -> [BeamHypothesis] {
        var t = Timings()
        return run(maxLength: maxLength, ws, timings: &t)
    }

    package func run(maxLength: Int, _ ws: Workspace, timings: inout Timings) -> [BeamHypothesis] {
        let clock = ContinuousClock()
        let v = scorer.vocabularySize
        var prefixes: [[Int]] = [[sos]]
        var scores: [Float] = [0]
        var states: [Scorer.State] = [scorer.initialState()]
        var ended: [BeamHypothesis] = []
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let logp = ws.tensor([beamSize, v])  // [H, V]
        var top: [Int] = []
        for i in 0..<max(maxLength, 0) {
            let h = prefixes.count
            let rows = logp.slice(0..<h)
            let t0 = clock.now
            scorer.score(prefixes: prefixes, states: &states, step: i, into: rows, ws)
            let t1 = clock.now
            // Candidates (parent, token, score), pruned to the beam after each parent.
            var best: [(parent: Int, token: Int, score: Float)] = []
            for p in 0..<h {
                let row = rows.row(p)
                let base = scores[p]
                for k in 0..<v { row[k] = weight * row[k] + base }
                Self.topK(row, count: v, k: beamSize, into: &top)
                for token in top { best.append((p, token, row[token])) }
                best = Self.stableSortedDescending(best.map { ($0, $0.score) }).map(\.0)
                if best.count > beamSize { best.removeLast(best.count - beamSize) }
            }
            var nextPrefixes: [[Int]] = []
            var nextScores: [Float] = []
            var nextStates: [Scorer.State] = []
            for c in best {
                var tokens = prefixes[c.parent]
                tokens.append(c.token)
                if i == maxLength - 1 { tokens.append(eos) }  // FunASR's post_process
                if tokens.last == eos {
                    ended.append(
                        BeamHypothesis(tokens: tokens, score: c.score + scorer.finalScore(states[c.parent])))
                } else {
                    nextPrefixes.append(tokens)
                    nextScores.append(c.score)
                    nextStates.append(states[c.parent])  // shared until one of them is scored
                }
            }
            prefixes = nextPrefixes
            scores = nextScores
            states = nextStates
            timings.scorer += (t1 - t0).seconds
            timings.search += (clock.now - t1).seconds
            if Self.endDetected(ended, step: i) || prefixes.isEmpty { break }
        }
        return Self.stableSortedDescending(ended.map { ($0, $0.score) }).map(\.0)
    }

    /// ESPnet's `end_detect` (M = 3, D_end = log(1·e^−10)): true when, for each of the last
    /// three hypothesis lengths `i − m`, the best ended hypothesis of that length scores more
    /// than 10 below the best ended overall. Lengths count sos and eos; scores compare as
    /// float64, as FunASR's `asdict()` hands them over.
    package static func endDetected(_ ended: [BeamHypothesis], step i: Int) -> Bool {
        guard let best = ended.map({ Double($0.score) }).max() else { return false }
        let dEnd = Foundation.log(1 * Foundation.exp(-10.0))
        var count = 0
        for m in 0..<3 {
            let same = ended.filter { $0.tokens.count == i - m }.map { Double($0.score) }
            if let top = same.max(), top - best < dEnd { count += 1 }
        }
        return count == 3
    }

    /// The indices of the k largest of `n` values, largest first; equal values keep the lower
    /// index first (torch.topk's order on CPU for distinct values; ties are rare in float).
    package static func topK(_ p: UnsafePointer<Float>, count n: Int, k: Int, into out: inout [Int]) {
        out.removeAll(keepingCapacity: true)
        let k = min(k, n)
        guard k > 0 else { return }
        // Insertion into a short sorted list: k is the beam (5), n the vocabulary.
        func better(_ a: Int, _ b: Int) -> Bool { p[a] > p[b] || (p[a] == p[b] && a < b) }
        for i in 0..<n {
            if out.count == k {
                guard better(i, out[k - 1]) else { continue }
                out.removeLast()
            }
            var j = out.count
            out.append(i)
            while j > 0 && better(i, out[j - 1]) {
                out[j] = out[j - 1]
                j -= 1
            }
            out[j] = i
        }
    }

    /// Python's `sorted(key=score, reverse=True)`: stable, so equal scores keep their order.
    package static func stableSortedDescending<T>(_ items: [(T, Float)]) -> [(T, Float)] {
        items.enumerated().sorted { a, b in
            a.element.1 != b.element.1 ? a.element.1 > b.element.1 : a.offset < b.offset
        }.map(\.element)
    }
}
