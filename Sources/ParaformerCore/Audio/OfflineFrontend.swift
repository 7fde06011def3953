/// The whole offline frontend, FunASR's `WavFrontend.forward` with dither 0:
/// ```
/// samples [N] (16 kHz, [-1, 1]) → fbank [T, 80] → LFR [ceil(T/6), 560] → CMVN [T_lfr, 560]
/// ```
/// Immutable: one instance serves every thread.
///
/// Short clips follow FunASR 1.4.16: WavFrontend passes `frame_length = min(25 ms, N/fs)`,
/// so 2…399 samples give one frame whose window is the whole clip (FFT size the next power
/// of two, mel bank for that size). A single sample, where FunASR fails an assertion, gives
/// no frames: `features` returns [0, 560].
package struct OfflineFrontend: Sendable {
    /// Stage 1: log-mel fbank, [T, 80].
    package let fbank: FbankComputer
    /// Stage 2: LFR stacking, [ceil(T/6), 560].
    package let lfr: LFR
    /// Stage 3: normalisation with the model's am.mvn values.
    package let cmvn: CMVN

    /// - Parameters:
    ///   - cmvnShift, cmvnScale: lfrM·numMelBins values each.
    ///   - cmvnKey: the family's metadata key of the shift, named in errors
    ///     (`paraformer.cmvn.shift`).
    /// - Throws: `ParaformerError.invalidMetadata` if the CMVN arrays do not have
    ///   lfrM·numMelBins finite values; `.invalidOption` for non-positive LFR sizes.
    package init(cmvnShift: [Float], cmvnScale: [Float], lfrM: Int = 7, lfrN: Int = 6,
                fbank options: FbankOptions = FbankOptions(), cmvnKey: String = "cmvn.shift") throws {
        guard lfrM >= 1, lfrN >= 1 else {
            throw ParaformerError.invalidOption(name: "lfr", reason: "lfr_m \(lfrM) and lfr_n \(lfrN) must be positive")
        }
        let cmvn = try CMVN(shift: cmvnShift, scale: cmvnScale, key: cmvnKey)
        guard cmvn.shift.count == lfrM * options.numMelBins else {
            throw ParaformerError.invalidMetadata(
                key: cmvnKey,
                reason: "\(cmvn.shift.count) values, expected lfr_m × n_mels = \(lfrM * options.numMelBins)")
        }
        self.cmvn = cmvn
        self.lfr = LFR(m: lfrM, n: lfrN)
        self.fbank = FbankComputer(options: options)
    }

    /// Width of one output frame: lfr_m · n_mels (560).
    package var featureDimension: Int { lfr.m * fbank.options.numMelBins }
    /// The rate `features(samples:)` expects.
    package var sampleRate: Int { fbank.options.sampleRate }

    /// Log-mel fbank of `samples` (at `sampleRate`, in [-1, 1]) with FunASR's short-clip
    /// rule: [T, 80], one frame for 2…399 samples, none for 1.
    package func fbankFeatures(samples: [Float]) -> Tensor {
        if samples.count >= fbank.windowSize { return fbank.compute(samples) }
        guard let short = shortClipComputer(sampleCount: samples.count) else {
            return Tensor(zeros: [0, fbank.options.numMelBins])
        }
        return short.compute(samples)
    }

    /// Features of `samples` (at `sampleRate`, in [-1, 1]): fbank, LFR, CMVN. [T_lfr, 560]
    /// - Throws: `.emptyAudio` for no samples, `.invalidAudio` for NaN or infinite ones.
    package func features(samples: [Float]) throws -> Tensor {
        try AudioDecoder.validate(samples, source: "samples")
        let x = lfr(fbankFeatures(samples: samples))  // [T_lfr, 560]
        cmvn.apply(to: x)
        return x
    }

    /// Features of `audio` at any rate: resampled to `sampleRate` first, as FunASR does.
    package func features(audio: AudioBuffer) throws -> Tensor {
        try features(samples: audio.resampled(to: sampleRate).samples)
    }

    /// Checks samples at any rate and resamples them to `sampleRate`: the waveform that
    /// `features(samples:)` expects.
    /// - Parameter source: names the audio in errors.
    /// - Throws: `.emptyAudio`, `.invalidAudio` (NaN or infinite), `.unsupportedSampleRate`.
    package func waveform(samples: [Float], sampleRate rate: Int, source: String = "samples") throws
        -> [Float]
    {
        try AudioBuffer(samples: samples, sampleRate: rate, source: source).resampled(to: sampleRate)
            .samples
    }

    /// The computer FunASR effectively uses for a clip shorter than one window:
    /// frame_length = N / fs · 1000 ms (WavFrontend.forward's `min`).
    /// `nil` where that window has under 2 samples (FunASR asserts there).
    private func shortClipComputer(sampleCount: Int) -> FbankComputer? {
        var options = fbank.options
        let fs = Double(options.sampleRate)
        options.frameLengthMs = Double(sampleCount) / fs * 1000
        guard Int(fs * options.frameLengthMs * 0.001) >= 2 else { return nil }
        return FbankComputer(options: options)
    }
}
