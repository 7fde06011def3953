/// The streaming frontend of one stream: the offline features computed chunk by chunk,
/// with FunASR's `WavFrontendOnline.forward` caching (dither 0), so that any chunking gives
/// the features (and the per-call frame counts) FunASR gives.
///
/// Per `accept(samples:isFinal:)`:
/// 1. fbank: waveform cache ++ samples; F = 1 + (N − 400) / 160 frames (0 if N < 400), the
///    fixed 25 ms window (no short-clip rule); the samples from 160·F on become the cache.
/// 2. If F > 0: the first time, the splice cache is seeded with 3 copies of the first frame
///    (the offline left padding). If final or cache rows + F ≥ 7, LFR runs over
///    R = [splice cache; new frames]:
///    - not final: K = (R − 7) / 6 + 1 complete windows, out[i] = R[6i ..< 6i+7]; the rows
///      from 6K on (1…6) stay in the splice cache;
///    - final: ceil((R − 3) / 6) windows, rows past the end repeat the last row.
///    Otherwise the new frames join the splice cache and nothing is returned.
/// 3. If F = 0 and final: the splice cache alone is flushed through the final LFR.
/// Then CMVN. Concatenated, the output equals `OfflineFrontend.features` of the whole
/// stream (for streams of at least 400 samples).
///
/// Per stream, not thread-safe; the `OfflineFrontend` it reads is shared.
package final class OnlineFrontend {
    /// The shared configuration: fbank, LFR, CMVN.
    package let frontend: OfflineFrontend
    /// Samples not yet covered by a whole fbank frame (< 400 after every call).
    private var waveformCache: [Float] = []
    /// Fbank rows waiting for LFR, [spliceRows, nMels] row-major.
    private var spliceCache: [Float] = []
    /// FunASR's `lfr_splice_cache` is non-empty (seeded by the first frame).
    private var seeded = false
    private var finished = false

    /// A new stream reading `frontend`'s configuration.
    package init(frontend: OfflineFrontend) {
        self.frontend = frontend
    }

    /// Forgets the stream, ready for a new one.
    package func reset() {
        waveformCache = []
        spliceCache = []
        seeded = false
        finished = false
    }

    /// Feeds the next samples (16 kHz, [-1, 1]; any count, 0 included).
    /// - Parameter isFinal: the last call of the stream; it flushes the caches.
    /// - Returns: the LFR+CMVN frames completed by this call, owned, [k, 560] (k may be 0).
    /// - Throws: `.invalidAudio` for a NaN or infinite sample, `.streamFinished` after a
    ///   final call until `reset()`.
    package func accept(samples: [Float], isFinal: Bool) throws -> Tensor {
        guard !finished else { throw ParaformerError.streamFinished }
        if let i = samples.firstIndex(where: { !$0.isFinite }) {
            throw ParaformerError.invalidAudio(
                source: "stream samples", reason: "sample \(i) is \(samples[i]) (NaN or infinite)")
        }
        finished = isFinal
        let fbank = frontend.fbank
        let nMels = fbank.options.numMelBins
        let lfr = frontend.lfr

        let buffer = waveformCache + samples
        let frames = fbank.frameCount(sampleCount: buffer.count)
        waveformCache = Array(buffer[(frames * fbank.windowShift)...])
        guard frames > 0 else {
            return isFinal && seeded ? finalize(rows: spliceCache) : empty
        }
        let oldCount = spliceCache.count
        if !seeded {
            seeded = true
            spliceCache.reserveCapacity((lfr.m - 1) / 2 * nMels + frames * nMels)
        }
        spliceCache.append(contentsOf: repeatElement(0, count: frames * nMels))
        spliceCache.withUnsafeMutableBufferPointer { rows in
            buffer.withUnsafeBufferPointer {
                fbank.compute($0, frames: frames, into: rows.baseAddress! + oldCount)
            }
        }
        if oldCount == 0 {
            // FunASR seeds `lfr_splice_cache` with (lfr_m − 1) / 2 copies of the first frame.
            let first = Array(spliceCache[0..<nMels])
            let pad = (0..<((lfr.m - 1) / 2)).flatMap { _ in first }
            spliceCache.insert(contentsOf: pad, at: 0)
        }
        let rowCount = spliceCache.count / nMels
        if isFinal { return finalize(rows: spliceCache) }
        guard rowCount >= lfr.m else { return empty }
        // Not final: only complete windows; the rows from n·K on wait for the next call.
        let k = (rowCount - lfr.m) / lfr.n + 1
        let out = spliceCache.withUnsafeBufferPointer {
            lfr.stack($0, dim: nMels, windows: k, offset: 0)
        }
        spliceCache.removeFirst(lfr.n * k * nMels)
        frontend.cmvn.apply(to: out)
        return out
    }

    private var empty: Tensor { Tensor(zeros: [0, frontend.featureDimension]) }

    /// FunASR's final online LFR over `rows` (R rows): ceil((R − 3) / 6) windows starting at
    /// 6i, rows past the end repeating the last one; then CMVN.
    private func finalize(rows: [Float]) -> Tensor {
        let lfr = frontend.lfr
        let nMels = frontend.fbank.options.numMelBins
        let r = rows.count / nMels
        let left = (lfr.m - 1) / 2
        let k = r > left ? (r - left + lfr.n - 1) / lfr.n : 0
        let out = rows.withUnsafeBufferPointer {
            lfr.stack($0, dim: nMels, windows: k, offset: 0)
        }
        spliceCache = []
        frontend.cmvn.apply(to: out)
        return out
    }
}
