/// A scorer's state for one hypothesis (decoder caches, CTC forward variables). Immutable once
/// made; hypotheses that share a prefix share it.
package protocol ScorerState: AnyObject {}

/// A scorer of every vocabulary token (ESPnet `ScorerInterface`): the attention decoder, an
/// LM, a length bonus. It scores several hypotheses in one call, so a model can batch them.
package protocol FullScorer {
    /// The state of the empty prefix (`<sos>` only).
    func initialState() -> ScorerState?
    /// For each hypothesis (its prefix, starting with `<sos>`, and its state): the score of
    /// every next token [V], and the state after the prefix.
    func score(_ hyps: [(prefix: [Int], state: ScorerState?)]) -> [(scores: [Float], state: ScorerState?)]
}

/// A scorer of selected tokens only (ESPnet `PartialScorerInterface`): the CTC prefix scorer,
/// which is too costly to run on the whole vocabulary and so scores the pre-beam.
package protocol PartialScorer {
    func initialState() -> ScorerState?
    /// The score of each of `ids` appended to `prefix` (relative to the prefix's own score),
    /// and the state of each extended prefix (ESPnet `score_partial` + `select_state`).
    func score(prefix: [Int], state: ScorerState?, ids: [Int]) -> [(score: Float, state: ScorerState?)]
}

/// One hypothesis of the search.
package struct Hypothesis {
    /// `<sos>`, the tokens, and `<eos>` once ended.
    package var tokens: [Int]
    /// The weighted total.
    package var score: Float
    /// Each scorer's own accumulated score, full scorers first then partial ones.
    package var scores: [Float]
    var states: [ScorerState?]
}

/// ESPnet's label-synchronous beam search (FunASR 0.8.8 `modules/beam_search/beam_search.py
/// BeamSearch`, the non-batch one): each step extends every running hypothesis by its best
/// tokens under the weighted sum of the scorers and keeps the `beam` best.
/// ```
/// s(y) = Σ_full w_k · full_k(y)                                    all V tokens
/// pre-beam: the top ⌊1.5·beam⌋ tokens of s (when there are partial scorers)
/// s(y) += Σ_partial w_k · partial_k(y)     on the pre-beam; the rest is −∞
/// ```
/// `<eos>` ends a hypothesis; at the last step every running hypothesis gets `<eos>`.
/// With `maxLenRatio` 0 the search stops by end detection (no better ended hypothesis of the
/// last M = 3 lengths within D_end = −10 of the best) or after T' steps.
package struct BeamSearch {
    package var full: [(scorer: FullScorer, weight: Float)]
    package var partial: [(scorer: PartialScorer, weight: Float)]
    package var beamSize: Int
    package var vocabSize: Int
    package var sos: Int
    package var eos: Int
    /// ESPnet's `pre_beam_ratio`.
    package var preBeamRatio: Float = 1.5
    /// Pre-beam on the full scorers' weighted sum (ESPnet `pre_beam_score_key = "full"`);
    /// `false` scores the partial scorers on the whole vocabulary (0.8.8 with ctc_weight 1).
    package var preBeam: Bool = true

    package init(
        full: [(scorer: FullScorer, weight: Float)], partial: [(scorer: PartialScorer, weight: Float)],
        beamSize: Int, vocabSize: Int, sos: Int, eos: Int, preBeam: Bool = true
    ) {
        // ESPnet drops scorers of weight 0.
        self.full = full.filter { $0.weight != 0 }
        self.partial = partial.filter { $0.weight != 0 }
        self.beamSize = beamSize
        self.vocabSize = vocabSize
        self.sos = sos
        self.eos = eos
        self.preBeam = preBeam
    }

    var preBeamSize: Int { Int(preBeamRatio * Float(beamSize)) }
    var doPreBeam: Bool { preBeam && preBeamSize < vocabSize && !partial.isEmpty }

    /// The ended hypotheses, best first (empty when none ended: ESPnet's retry with a smaller
    /// minlenratio runs the same search again, as 0.8.8 never applies the minimum length).
    /// - Parameters:
    ///   - inputLength: T', the encoder frames (the step limit with maxLenRatio 0).
    package func search(inputLength: Int, maxLenRatio: Double = 0) -> [Hypothesis] {
        let maxLength: Int
        if maxLenRatio == 0 {
            maxLength = inputLength
        } else if maxLenRatio < 0 {
            maxLength = Int(-maxLenRatio)
        } else {
            maxLength = max(1, Int(maxLenRatio * Double(inputLength)))
        }
        var running = [
            Hypothesis(
                tokens: [sos], score: 0, scores: [Float](repeating: 0, count: full.count + partial.count),
                states: full.map { $0.scorer.initialState() } + partial.map { $0.scorer.initialState() })
        ]
        var ended: [Hypothesis] = []
        for i in 0..<maxLength {
            let best = step(running)
            running = []
            for var hyp in best {
                // ESPnet appends <eos> to every hypothesis at the last step, even to one that
                // has just chosen <eos> (it then ends with two).
                if i == maxLength - 1 { hyp.tokens.append(eos) }
                // ESPnet's final_score is 0 for these scorers.
                if hyp.tokens.last == eos { ended.append(hyp) } else { running.append(hyp) }
            }
            if maxLenRatio == 0 && endDetected(ended, i) { break }
            if running.isEmpty { break }
        }
        return stableSorted(ended)
    }

    /// Hypotheses by descending score, ties in their order (Python's stable `sorted`).
    private func stableSorted(_ hyps: [Hypothesis]) -> [Hypothesis] {
        hyps.enumerated().sorted { a, b in
            a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
        }.map(\.element)
    }

    /// One step of ESPnet `BeamSearch.search`.
    private func step(_ running: [Hypothesis]) -> [Hypothesis] {
        let inputs = running.map { (prefix: $0.tokens, state: Optional<ScorerState>.none) }
        var fullScores: [[(scores: [Float], state: ScorerState?)]] = []
        for (k, f) in full.enumerated() {
            fullScores.append(f.scorer.score(zip(inputs, running).map { (prefix: $0.prefix, state: $1.states[k]) }))
        }
        var best: [Hypothesis] = []
        for (h, hyp) in running.enumerated() {
            var weighted = [Float](repeating: 0, count: vocabSize)
            for (k, f) in full.enumerated() {
                let s = fullScores[k][h].scores
                for v in 0..<vocabSize { weighted[v] += f.weight * s[v] }
            }
            let ids = doPreBeam ? topK(weighted, preBeamSize) : Array(0..<vocabSize)
            var partScores: [[(score: Float, state: ScorerState?)]] = []
            for (k, p) in partial.enumerated() {
                let r = p.scorer.score(prefix: hyp.tokens, state: hyp.states[full.count + k], ids: ids)
                for (j, id) in ids.enumerated() { weighted[id] += p.weight * r[j].score }
                partScores.append(r)
            }
            for v in 0..<vocabSize { weighted[v] += hyp.score }
            // ESPnet `beam`: the best tokens among the pre-beam (all tokens without one).
            let candidates: [(id: Int, local: Int)]
            if ids.count == vocabSize {
                candidates = topK(weighted, beamSize).map { ($0, $0) }
            } else {
                let local = topK(ids.map { weighted[$0] }, beamSize)
                candidates = local.map { (ids[$0], $0) }
            }
            for (id, local) in candidates {
                var scores = hyp.scores
                var states = hyp.states
                for k in 0..<full.count {
                    scores[k] += fullScores[k][h].scores[id]
                    states[k] = fullScores[k][h].state
                }
                for k in 0..<partial.count {
                    scores[full.count + k] += partScores[k][local].score
                    states[full.count + k] = partScores[k][local].state
                }
                best.append(Hypothesis(tokens: hyp.tokens + [id], score: weighted[id], scores: scores, states: states))
            }
            best = Array(stableSorted(best).prefix(beamSize))
        }
        return best
    }

    /// ESPnet `end_detect` (M = 3, D_end = log(e^−10)): for each of the last M lengths, the
    /// best ended hypothesis of that length is more than 10 below the best overall.
    private func endDetected(_ ended: [Hypothesis], _ i: Int) -> Bool {
        guard let bestScore = ended.map(\.score).max() else { return false }
        var count = 0
        for m in 0..<3 {
            let same = ended.filter { $0.tokens.count == i - m }
            if let b = same.map(\.score).max(), b - bestScore < -10 { count += 1 }
        }
        return count == 3
    }
}

/// Indices of the k largest values, largest first (ties: lower index first).
func topK(_ values: [Float], _ k: Int) -> [Int] {
    let n = min(k, values.count)
    var heap: [Int] = []
    heap.reserveCapacity(n + 1)
    func better(_ a: Int, _ b: Int) -> Bool { values[a] != values[b] ? values[a] > values[b] : a < b }
    for i in values.indices {
        if heap.count < n {
            heap.append(i)
            if heap.count == n { heap.sort(by: better) }
        } else if n > 0, better(i, heap[n - 1]) {
            var j = n - 1
            while j > 0 && better(i, heap[j - 1]) { heap[j] = heap[j - 1]; j -= 1 }
            heap[j] = i
        }
    }
    if heap.count < n || heap.count == values.count { heap.sort(by: better) }
    return heap
}
