/// One token's time span in integer milliseconds, as FunASR reports `[start_ms, end_ms]`.
public struct TimestampSpan: Sendable, Hashable, Codable {
    /// Start, in milliseconds from the start of the audio (plus any VAD offset).
    public var startMs: Int
    /// End, in milliseconds.
    public var endMs: Int

    /// A span from `startMs` to `endMs`.
    public init(startMs: Int, endMs: Int) {
        self.startMs = startMs
        self.endMs = endMs
    }
}

/// Token timestamps from CIF weights, exactly as FunASR 1.4.16 computes them for Paraformer.
///
/// Port of `funasr/utils/timestamp_tools.py` `ts_prediction_lfr6_standard` (with its
/// fallback `cif_wo_hidden`) and of the `fires` output of
/// `funasr/models/paraformer/cif_predictor.py` `cif_wo_hidden_v1` / `cif_v1`. Verified
/// against FunASR by `Tools/gen_text_fixtures.py`.
///
/// ```
/// frame rate  r = 60 ms / upsampleRate            (10 ms shift × LFR 6)
/// boundaries  b_k = k + forceTimeShift  for frames k with peaks[k] ≥ 1 − 1e-4 (Float32)
/// if count(b) ≠ N + 1:   w ← weights / (Σweights / (N+1))  (float32, Σ in torch's order);
///                        peaks ← loop-CIF(w, 1 − 1e-4)
/// token i     [b_i, b_{i+1}]·r, cut at b_i + 12 frames (rest is silence)
/// last token  ends at the frame count T, or at (T + b_N)/2 when b_N < T − 5
/// result      Int(seconds · 1000)  (truncation), plus the VAD offset
/// ```
public enum TimestampPredictor {
    /// Which CIF array goes where in the call to `ts_prediction_lfr6_standard`.
    public enum ArgumentOrder: Sendable {
        /// What FunASR 1.4.16 `Paraformer.inference` does: the CIF `fires` array as the
        /// weights (`us_alphas`) and the CIF alphas as the peaks (`us_peaks`). The alphas
        /// rarely reach 1 − 1e-4, so the fallback almost always runs on the fires array.
        case funasr1416
        /// The order FunASR intends (issue #3723, fixed by PR #3716): alphas as the
        /// weights, fires as the peaks.
        case intended
    }

    /// Timestamps of a Paraformer's tokens from its CIF alphas, as
    /// `Paraformer.inference(..., output_timestamp=True)` computes them.
    ///
    /// - Parameters:
    ///   - alphas: the CIF weights of one utterance as the predictor passes them to `cif_v1`,
    ///     i.e. after `tail_process_fn`: the T encoder frames plus the tail frame
    ///     (`tail_threshold`, 0.45) when the model has one, so T + 1 values. FunASR 1.4.16
    ///     truncates alphas and fires to `encoder_out_lens + 1` (+1 only when
    ///     `tail_threshold > 0`); for one utterance without padding that is the whole array.
    ///   - tokens: the token strings after dropping blank/sos/eos ids (`<unk>` included).
    ///   - vadOffsetMs: `begin_time` of the VAD segment, in milliseconds (0 without VAD).
    ///   - order: `.funasr1416` reproduces FunASR 1.4.16 bit for bit.
    package static func paraformerTimestamps(
        alphas: [Float], tokens: [String], vadOffsetMs: Int = 0,
        order: ArgumentOrder = .funasr1416
    ) -> [TimestampSpan] {
        let fires = cifFires(alphas: alphas)
        switch order {
        case .funasr1416:
            return timestamps(weights: fires, peaks: alphas, tokens: tokens,
                              vadOffsetMs: vadOffsetMs)
        case .intended:
            return timestamps(weights: alphas, peaks: fires, tokens: tokens,
                              vadOffsetMs: vadOffsetMs)
        }
    }

    /// The `fires` array of `cif_v1` (`CIF.fires`).
    package static func cifFires(alphas: [Float]) -> [Float] { CIF.fires(alphas: alphas) }

    /// `ts_prediction_lfr6_standard`, with parameters named by what the function reads.
    ///
    /// - Parameters:
    ///   - weights: FunASR's `us_alphas`. Read only when the boundary count in `peaks` is
    ///     not `tokens.count + 1`: then rescaled to sum to `tokens.count + 1` and integrated
    ///     by the loop CIF (threshold 1 − 1e-4) to give new peaks. FunASR 1.4.16's
    ///     Paraformer passes the CIF **fires** here (see `ArgumentOrder.funasr1416`).
    ///   - peaks: FunASR's `us_peaks`: frames with a value ≥ 1 − 1e-4 are token boundaries;
    ///     its length is the frame count. FunASR 1.4.16's Paraformer passes the CIF
    ///     **alphas** (with the tail frame) here.
    ///   - tokens: the tokens (a final `</s>` is ignored); `<sil>` tokens get no span.
    ///   - vadOffsetMs: added to every span (`vad_offset`).
    ///   - forceTimeShift: frames added to every boundary (−1.5).
    ///   - upsampleRate: peaks per 60 ms frame (1 for Paraformer, 3 for BiCif).
    /// - Returns: one span per token (fewer only in degenerate cases); empty for no tokens.
    ///   Where FunASR raises IndexError (no boundary at all, e.g. all-zero weights), this
    ///   returns an empty array.
    package static func timestamps(
        weights: [Float], peaks: [Float], tokens: [String], vadOffsetMs: Int = 0,
        forceTimeShift: Double = -1.5, upsampleRate: Int = 1
    ) -> [TimestampSpan] {
        guard !tokens.isEmpty else { return [] }
        let startEndThreshold = 5.0  // frames of silence before the first / after the last
        let maxTokenDuration = 12.0  // frames; longer spans end in a silence
        let timeRate = 10.0 * 6 / 1000 / Double(upsampleRate)  // s per frame: 10 ms × LFR 6
        let peakThreshold = Float(1.0 - 1e-4)  // torch compares in float32
        let chars = tokens.last == "</s>" ? Array(tokens.dropLast()) : tokens

        func boundaries(_ peaks: [Float]) -> [Double] {
            peaks.indices.filter { peaks[$0] >= peakThreshold }.map { Double($0) + forceTimeShift }
        }
        var fireFrames = boundaries(peaks)
        var frameCount = peaks.count
        if fireFrames.count != chars.count + 1 {
            let peaks = loopCIF(renormalized(weights, to: chars.count + 1),
                                threshold: peakThreshold)
            fireFrames = boundaries(peaks)
            frameCount = peaks.count
        }
        guard let firstFire = fireFrames.first, let lastFire = fireFrames.last else { return [] }

        // (token, [start, end] in seconds); nil token is FunASR's "<sil>".
        var entries: [(token: String?, start: Double, end: Double)] = []
        if firstFire > startEndThreshold {
            entries.append((nil, 0.0, firstFire * timeRate))
        }
        for i in 0..<(fireFrames.count - 1) {
            let (from, to) = (fireFrames[i], fireFrames[i + 1])
            let token: String? = i < chars.count && chars[i] == "<sil>" ? nil : ""
            if to - from <= maxTokenDuration {
                entries.append((token, from * timeRate, to * timeRate))
            } else {
                let split = from + maxTokenDuration
                entries.append((token, from * timeRate, split * timeRate))
                entries.append((nil, split * timeRate, to * timeRate))
            }
        }
        if Double(frameCount) - lastFire > startEndThreshold {
            let end = (Double(frameCount) + lastFire) * 0.5
            if !entries.isEmpty { entries[entries.count - 1].end = end * timeRate }
            entries.append((nil, end * timeRate, Double(frameCount) * timeRate))
        } else if !entries.isEmpty {
            entries[entries.count - 1].end = Double(frameCount) * timeRate
        }
        let offset = Double(vadOffsetMs) / 1000.0
        return entries.compactMap { entry in
            guard entry.token != nil else { return nil }
            let (start, end) = vadOffsetMs != 0
                ? (entry.start + offset, entry.end + offset) : (entry.start, entry.end)
            return TimestampSpan(startMs: Int(start * 1000), endMs: Int(end * 1000))
        }
    }

    // MARK: - Fallback

    /// `alphas /= alphas.sum() / n` in float32, the sum rounded as torch's CPU kernel rounds
    /// it (`TorchFloatSum`): a float64 sum differs from it in the last bit for about 40% of
    /// arrays, which moves a boundary when a running sum lands that close to the threshold.
    private static func renormalized(_ weights: [Float], to n: Int) -> [Float] {
        let sum = TorchFloatSum.sum(weights)
        let divisor = sum / Float(n)
        return weights.map { $0 / divisor }
    }

    /// The running weight sum before each threshold subtraction (timestamp_tools.py
    /// `cif_wo_hidden`): a sum ≥ threshold fires and keeps the excess, all in float32.
    private static func loopCIF(_ weights: [Float], threshold: Float) -> [Float] {
        var integrate: Float = 0
        return weights.map { weight in
            integrate += weight
            let fired = integrate
            if integrate >= threshold { integrate -= threshold }
            return fired
        }
    }
}
