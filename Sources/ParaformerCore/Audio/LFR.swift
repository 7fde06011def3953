/// Low-frame-rate stacking: `m` consecutive fbank frames concatenated, every `n`-th frame
/// (FunASR `apply_lfr`, lfr_m 7 / lfr_n 6 for Paraformer).
///
/// Offline, FunASR prepends (m−1)/2 copies of frame 0 and pads the tail with copies of the
/// last frame; for every length this equals the clamp rule (checked for T = 1…399 by
/// `Tools/gen_frontend_fixtures.py`):
/// ```
/// out[i, j·D ..< (j+1)·D] = fbank[clamp(n·i + j − (m−1)/2, 0, T−1)]     j < m
/// out: [ceil(T / n), m·D]
/// ```
package struct LFR: Sendable, Equatable {
    /// Frames stacked per output frame (`frontend_conf.lfr_m`).
    package let m: Int
    /// Hop in input frames (`frontend_conf.lfr_n`).
    package let n: Int

    /// - Precondition: m ≥ 1 and n ≥ 1.
    package init(m: Int = 7, n: Int = 6) {
        precondition(m >= 1 && n >= 1, "LFR m \(m), n \(n)")
        self.m = m
        self.n = n
    }

    /// Output frames for `frames` fbank frames: ceil(T / n).
    package func outputCount(frames: Int) -> Int { (frames + n - 1) / n }

    /// Stacks `fbank` [T, D] into an owned tensor [ceil(T/n), m·D].
    package func callAsFunction(_ fbank: Tensor) -> Tensor {
        stack(
            UnsafeBufferPointer(start: fbank.data, count: fbank.count), dim: fbank.cols,
            windows: outputCount(frames: fbank.rows), offset: -(m - 1) / 2)
    }

    /// The one stacking loop, offline and online: `windows` output frames, window i made of
    /// rows n·i + offset + j (j < m) of `rows` ([R, D] row-major), clamped to 0…R−1 (the offline padding,
    /// and the online final flush's repeated last row).
    /// ```
    /// out[i, j·D ..< (j+1)·D] = rows[clamp(n·i + j + offset, 0, R−1)]
    /// ```
    package func stack(
        _ rows: UnsafeBufferPointer<Float>, dim d: Int, windows: Int, offset: Int
    ) -> Tensor {
        let out = Tensor(zeros: [windows, m * d])  // [k, m·D]
        let count = rows.count / d
        guard windows > 0, count > 0, let rows = rows.baseAddress else { return out }
        for i in 0..<windows {
            for j in 0..<m {
                let src = min(max(n * i + j + offset, 0), count - 1)
                (out.row(i) + j * d).update(from: rows + src * d, count: d)
            }
        }
        return out
    }
}

/// Cepstral mean and variance normalisation with the model's `am.mvn` values
/// (FunASR `apply_cmvn`; GGUF `paraformer.cmvn.shift` / `paraformer.cmvn.scale`):
/// ```
/// y[t, d] = (x[t, d] + shift[d]) · scale[d]          x, y: [T, D]
/// ```
/// `shift` holds negated means, `scale` inverse standard deviations.
package struct CMVN: Sendable, Equatable {
    /// Added first: the negated means (am.mvn `<AddShift>`), [D].
    package let shift: [Float]
    /// Multiplied next: inverse standard deviations (am.mvn `<Rescale>`), [D].
    package let scale: [Float]

    /// - Throws: `ParaformerError.invalidMetadata` if the arrays differ in length, are
    ///   empty, or hold a NaN or infinity.
    /// - Parameter key: the metadata key named in errors (the family's, e.g. `paraformer.cmvn.shift`).
    package init(shift: [Float], scale: [Float], key: String = "cmvn.shift") throws {
        guard !shift.isEmpty, shift.count == scale.count else {
            throw ParaformerError.invalidMetadata(
                key: key,
                reason: "\(shift.count) shift values for \(scale.count) scale values")
        }
        guard shift.allSatisfy(\.isFinite), scale.allSatisfy(\.isFinite) else {
            throw ParaformerError.invalidMetadata(
                key: key, reason: "the CMVN values hold a NaN or infinity")
        }
        self.shift = shift
        self.scale = scale
    }

    /// Normalises `x` [T, D] in place (D = `shift.count`).
    package func apply(to x: Tensor) {
        precondition(x.cols == shift.count, "CMVN of \(shift.count) values on \(x.shape)")
        shift.withUnsafeBufferPointer { sh in
            scale.withUnsafeBufferPointer { sc in
                for t in 0..<x.rows {
                    let r = x.row(t)
                    for d in 0..<sh.count { r[d] = (r[d] + sh[d]) * sc[d] }
                }
            }
        }
    }
}
