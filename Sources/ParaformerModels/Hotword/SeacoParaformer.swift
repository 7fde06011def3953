import Foundation
import ParaformerCore

/// SeACo-Paraformer (FunASR's `SeacoParaformer`, the model behind `paraformer-zh`): a
/// Paraformer with BiCif timestamps whose decoder output is biased towards a hotword list.
///
/// ```
/// H          = encoder(X)                                   // [T, D]
/// E, N       = CIF_loop(α(H) ‖ tail)                        // [N, D]  float32 loop (cif)
/// hid, L     = decoder(E, H)                                // [N, D], [N, V]
/// dec        = log_softmax(L)
/// hotwords nil:   out = dec
/// otherwise:      C = BiasEncoder(hotwords)                 // [Nh, D]
///                 C = C[top50(ASF scores) ‖ <s>]  if Nh > 50
///                 dha = log_softmax(W_hw · (seaco(E, C) + seaco(hid, C)) + b)
///                 out[l] = argmax dha[l] == NO_BIAS ? dec[l] : dha[l]
/// tokens     = argmax out;  timestamps from BiCif's upsampled alphas
/// ```
/// FunASR: seaco_paraformer/model.py `SeacoParaformer.inference`, `_seaco_decode_with_ASF`.
package final class SeacoParaformerModel: HotwordNetwork, Sendable {
    /// The Paraformer it extends: encoder, predictor (alphas), decoder.
    package let base: ParaformerModel
    package var hparams: Hyperparameters { base.hparams }
    package var encoder: SANMEncoder { base.encoder }
    package var predictor: CIFPredictor { base.predictor }
    package var decoder: ParaformerDecoder { base.decoder }
    package let timestampHead: BiCifTimestampHead
    package let biasEncoder: BiasEncoder
    /// seaco_decoder: att_layer_num full layers, FSMN-only ones, decoders3, after_norm.
    package let seacoLayers: [DecoderLayer]
    package let seacoAttLayers: Int
    package let seacoAfterNorm: LayerNorm
    /// hotword_output_layer: [V, D], [V]
    package let hotwordOutput: Linear
    /// `model_conf.NO_BIAS`: the DHA class meaning "no hotword here".
    package let noBiasId: Int
    /// `nfilter` of `_seaco_decode_with_ASF` (50).
    package let asfFilter: Int
    package let file: GGUFFile

    /// The registry entry.
    package static let family = ModelFamily(
        name: "SeACo-Paraformer", architectures: [Hyperparameters.Architecture.seaco.rawValue],
        kind: .speechRecognition, load: { try SeacoParaformerModel(file: $0) })

    package convenience init(file: GGUFFile) throws {
        try self.init(file: file, hparams: try Hyperparameters(file))
    }

    package init(file: GGUFFile, hparams hp: Hyperparameters) throws {
        self.file = file
        let meta = FamilyMetadata(file: file)
        let store = WeightStore(file, linearLayout: hp.linearLayout)
        let d = hp.modelDim
        base = try ParaformerModel(file: file, hparams: hp, store: store, decoder: hp.decoder)
        let upsample = try meta.int("seaco.predictor.upsample_times")
        try meta.check(upsample >= 1 && upsample <= 64, "seaco.predictor.upsample_times", "out of range")
        // The second (timestamp) CIF's constants, in the first one's ranges (ParaformerConfig):
        // a NaN or infinite value would reach the fire loop's Float → Int conversions.
        let smooth2 = try meta.float("seaco.predictor.smooth_factor2", default: 1)
        try meta.check(smooth2.isFinite && smooth2 > 0 && smooth2 <= 10, "seaco.predictor.smooth_factor2", "\(smooth2) is not in (0, 10]")
        let noise2 = try meta.float("seaco.predictor.noise_threshold2", default: 0)
        try meta.check(noise2.isFinite && abs(noise2) <= 10, "seaco.predictor.noise_threshold2", "\(noise2) is not in [-10, 10]")
        timestampHead = try BiCifTimestampHead(
            store, dim: d, upsample: upsample, smoothFactor: smooth2, noiseThreshold: noise2)
        let layers = try meta.int("seaco.bias_encoder.num_layers", default: 2)
        try meta.check(layers >= 1 && layers <= 8, "seaco.bias_encoder.num_layers", "out of range")
        biasEncoder = BiasEncoder(
            table: try store.tensor("decoder.embed.0.weight", [hp.vocabSize, d]),
            lstm: try LSTM(store, "bias_encoder", layers: layers, input: d, hidden: d))

        // The seaco decoder reuses the SAN-M decoder layer with its own sizes.
        let att = try meta.int("seaco.decoder.att_layer_num", default: 6)
        let shp = DecoderConfig(
            dim: d, heads: try meta.int("seaco.decoder.attention_heads"),
            linearUnits: try meta.int("seaco.decoder.linear_units"),
            blocks: try meta.int("seaco.decoder.num_blocks", default: att), attLayers: att,
            kernelSize: try meta.int("seaco.decoder.kernel_size"),
            sanmShift: try meta.int("seaco.decoder.sanm_shift", default: 0), vocabSize: hp.vocabSize)
        let shift = shp.sanmShift, blocks = shp.blocks
        try meta.check(shp.heads > 0 && d % shp.heads == 0, "seaco.decoder.attention_heads", "must divide the model dimension")
        try meta.check(shp.linearUnits > 0, "seaco.decoder.linear_units", "must be positive")
        try meta.check(shp.kernelSize >= 1 && shp.kernelSize <= 255, "seaco.decoder.kernel_size", "out of range")
        try meta.check(shift >= 0 && shift < shp.kernelSize, "seaco.decoder.sanm_shift", "out of range")
        // forward_asf6 reads decoders[5]: six full layers at least.
        try meta.check(att >= 6 && att <= 256, "seaco.decoder.att_layer_num", "must be between 6 and 256")
        try meta.check(blocks >= att && blocks <= 256, "seaco.decoder.num_blocks", "must be at least att_layer_num")
        var seaco: [DecoderLayer] = []
        for i in 0..<att {
            seaco.append(try DecoderLayer(store, "seaco_decoder.decoders.\(i)", shp, fsmnShift: shift, crossAttention: true))
        }
        for i in 0..<(blocks - att) {
            seaco.append(try DecoderLayer(store, "seaco_decoder.decoders2.\(i)", shp, fsmnShift: 0, crossAttention: false))
        }
        seaco.append(try DecoderLayer(store, "seaco_decoder.decoders3.0", shp, fsmnShift: nil, crossAttention: false))
        seacoLayers = seaco
        seacoAttLayers = att
        seacoAfterNorm = try LayerNorm(store, "seaco_decoder.after_norm", dim: d)
        hotwordOutput = try Linear(store, "hotword_output_layer", in: d, out: hp.vocabSize)
        noBiasId = try meta.int("seaco.no_bias_id")
        try meta.check(noBiasId >= 0 && noBiasId < hp.vocabSize, "seaco.no_bias_id", "\(noBiasId) is not a token id (vocabulary \(hp.vocabSize))")
        asfFilter = try meta.int("seaco.asf_filter", default: 50)
        try meta.check(asfFilter >= 1, "seaco.asf_filter", "must be positive")
        try store.checkAllUsed()
    }

    /// Everything one utterance produced.
    package struct Output {
        package var frames: Int
        /// Decoded ids, N of them (before dropping blank/sos/eos).
        package var tokenIds: [Int]
        /// BiCif's (us_alphas, us_peaks), 3T each.
        package var usAlphas: [Float]
        package var usPeaks: [Float]
        /// Parity dumps: hotword vectors after the ASF filter, merged log-probs [N, V],
        /// DHA logits [N, V], ASF scores [Nh].
        package var vectors: [Float]? = nil
        package var merged: [Float]? = nil
        package var dhaLogits: [Float]? = nil
        package var asfScores: [Float]? = nil
    }

    /// One utterance (features [T, inputSize]).
    package func run(
        _ features: Tensor, hotwords: Tensor?, keepIntermediates: Bool = false, _ ws: Workspace,
        timings: inout StageTimings
    ) -> Output {
        let clock = ContinuousClock()
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let d = hparams.modelDim, v = hparams.vocabSize
        let t = features.rows
        var out = Output(frames: t, tokenIds: [], usAlphas: [], usPeaks: [])
        guard t > 0 else { return out }
        let layout = BatchLayout(single: t)
        var t0 = clock.now
        let encoded = encoder(features, layout: layout, ws)  // [T, D]
        timings.encoder += (clock.now - t0).seconds
        t0 = clock.now
        let alphas = predictor.alphas(encoded, layout: layout, ws)  // [T]
        let embeds = Self.cifLoop(alphas: alphas, hidden: encoded, tail: hparams.predictorTailThreshold, threshold: hparams.predictorThreshold, ws)
        timings.predictor += (clock.now - t0).seconds
        let n = embeds.rows
        guard n >= 1 else { return out }

        t0 = clock.now
        let tokens = BatchLayout(single: n)
        let memory = BatchLayout(single: t)
        let hidden = ws.tensor([n, d])  // [N, D]
        hidden.copy(from: embeds)
        for layer in decoder.layers { layer(hidden, tokens: tokens, memory: encoded, memoryLayout: memory, ws) }
        decoder.afterNorm(hidden, into: hidden)
        let scores = ws.tensor([n, v])  // [N, V]
        decoder.output(hidden, into: scores)
        LogProbs.logSoftmax(scores)  // dec_lp
        if let hotwords {
            var c = hotwords  // [Nh, D]
            if asfFilter < c.rows {
                let s = asfScores(hidden, vectors: c, ws)
                if keepIntermediates { out.asfScores = s }
                let keep = Self.topK(s, min(asfFilter, c.rows - 1)) + [c.rows - 1]
                let kept = ws.tensor([keep.count, d])  // [50 + 1, D]
                for (r, i) in keep.enumerated() { kept.row(r).update(from: c.row(i), count: d) }
                c = kept
            }
            let a = seacoDecoder(embeds, memory: c, ws)  // [N, D]
            let b = seacoDecoder(hidden, memory: c, ws)  // [N, D]
            Kernels.add(a, b)
            let dha = ws.tensor([n, v])  // [N, V]
            hotwordOutput(a, into: dha)
            if keepIntermediates {
                out.dhaLogits = dha.array
                out.vectors = c.array
            }
            LogProbs.logSoftmax(dha)
            for l in 0..<n where Kernels.argmax(dha.row(l), n: v) != noBiasId {
                scores.row(l).update(from: dha.row(l), count: v)
            }
        }
        if keepIntermediates { out.merged = scores.array }
        out.tokenIds = (0..<n).map { Kernels.argmax(scores.row($0), n: v) }
        timings.decoder += (clock.now - t0).seconds
        t0 = clock.now
        (out.usAlphas, out.usPeaks) = timestampHead(encoded, tokenCount: n, ws)
        timings.predictor += (clock.now - t0).seconds
        return out
    }

    /// The seaco decoder's hidden output [N, D] for tgt [N, D] attending to hotword vectors.
    package func seacoDecoder(_ tgt: Tensor, memory c: Tensor, _ ws: Workspace) -> Tensor {
        let x = ws.tensor(tgt.shape)
        x.copy(from: tgt)
        let tokens = BatchLayout(single: tgt.rows)
        let memory = BatchLayout(single: c.rows)
        for layer in seacoLayers { layer(x, tokens: tokens, memory: c, memoryLayout: memory, ws) }
        seacoAfterNorm(x, into: x)
        return x
    }

    /// ASF scores [Nh]: the softmax weights of the sixth seaco layer's cross-attention with
    /// the decoder's hidden state as queries, summed over heads and positions.
    /// FunASR: paraformer/decoder.py `forward_asf6`, `DecoderLayerSANM.get_attn_mat`.
    package func asfScores(_ hidden: Tensor, vectors c: Tensor, _ ws: Workspace) -> [Float] {
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let n = hidden.rows, nh = c.rows, d = hidden.cols
        let x = ws.tensor(hidden.shape)
        x.copy(from: hidden)
        let tokens = BatchLayout(single: n), memory = BatchLayout(single: nh)
        for layer in seacoLayers[0..<5] { layer(x, tokens: tokens, memory: c, memoryLayout: memory, ws) }
        let sixth = seacoLayers[5]
        sixth.selfAttentionPart(x, tokens: tokens, ws)
        guard let (norm3, att) = sixth.crossAttention else { return [] }
        let y = norm3(x, ws)  // [N, D]
        let q = att.q(y, ws)  // [N, D]
        let kv = att.kv(c, ws)  // [Nh, 2D]
        let heads = att.heads, dk = d / heads
        let scale = 1 / Float(dk).squareRoot()
        let p = ws.tensor([n, nh])  // [N, Nh] one head's weights
        var scores = [Double](repeating: 0, count: nh)
        for h in 0..<heads {
            BLAS.gemmOnThisThread(
                transA: false, transB: true, m: n, n: nh, k: dk, alpha: scale, a: q.data + h * dk, lda: d,
                b: kv.data + h * dk, ldb: 2 * d, c: p.data, ldc: nh)
            for r in 0..<n {
                Kernels.softmaxRow(p.row(r), n: nh, valid: nh)
                for j in 0..<nh { scores[j] += Double(p[r, j]) }
            }
        }
        return scores.map { Float($0) }
    }

    /// Indices of the k largest values, largest first (torch.topk; ties by lower index).
    package static func topK(_ s: [Float], _ k: Int) -> [Int] {
        Array(s.indices.sorted { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }.prefix(k))
    }

    /// CifPredictorV3's integrate-and-fire: the float32 loop `cif`, after the tail frame
    /// (alpha = tail_threshold, hidden 0), truncated to N = floor(Σ α) rows (rows past the
    /// last fire are zero). FunASR: bicif_paraformer/cif_predictor.py `cif`, `tail_process_fn`.
    package static func cifLoop(alphas: Tensor, hidden: Tensor, tail: Float, threshold: Float, _ ws: Workspace) -> Tensor {
        let t = alphas.count, d = hidden.cols
        var a = alphas.array
        if tail > 0 { a.append(tail) }
        let total = Float(a.reduce(0.0) { $0 + Double($1) })
        let n = CIF.count(Double(tail > 0 ? total.rounded(.down) : total.rounded()), limit: a.count * 100)
        let out = ws.zeros([max(n, 0), d])  // [N, D]
        guard n > 0 else { return out }
        var integrate: Float = 0
        var frame = [Float](repeating: 0, count: d)
        var j = 0
        for s in 0..<a.count where j < n {
            let alpha = a[s]
            let completion = 1 - integrate
            integrate += alpha
            let fire = integrate >= threshold
            if fire { integrate -= 1 }
            let cur = fire ? completion : alpha
            let remainder = alpha - cur
            let h: UnsafeMutablePointer<Float>? = s < t ? hidden.row(s) : nil
            if let h { for i in 0..<d { frame[i] += cur * h[i] } }
            if fire {
                out.row(j).update(from: frame, count: d)
                j += 1
                if let h { for i in 0..<d { frame[i] = remainder * h[i] } } else { for i in 0..<d { frame[i] = 0 } }
            }
        }
        return out
    }
}
