import ParaformerCore
import Foundation

/// The offline Paraformer network: encoder → CIF predictor → NAR decoder → argmax.
/// Read-only after init; every call brings its own `Workspace`, so one model serves many threads.
/// FunASR: paraformer/model.py `Paraformer.inference`.
package final class ParaformerModel: LoadedModel, Sendable {
    package let hparams: Hyperparameters
    package let encoder: SANMEncoder
    package let predictor: CIFPredictor
    package let decoder: ParaformerDecoder
    /// Keeps the mapping alive for the weight views.
    package let file: GGUFFile

    package convenience init(file: GGUFFile) throws {
        let hp = try Hyperparameters(file)
        let store = WeightStore(file, linearLayout: hp.linearLayout)
        try self.init(file: file, hparams: hp, store: store, decoder: hp.decoder)
        try store.checkAllUsed()
    }

    /// The Paraformer inside a larger model (the hotword families, ParaformerModels/Hotword),
    /// bound from the larger model's store, which checks the leftovers; `decoder` sizes the
    /// standard decoder stack (Contextual Paraformer: one attention layer fewer).
    package init(file: GGUFFile, hparams hp: Hyperparameters, store: WeightStore, decoder dc: DecoderConfig) throws {
        self.file = file
        hparams = hp
        encoder = try SANMEncoder(store, hp.encoder)
        predictor = try CIFPredictor(store, hp.predictor)
        decoder = try ParaformerDecoder(store, dc)
    }

    /// The registry entry: offline and streaming Paraformer files.
    package static let family = ModelFamily(
        name: "Paraformer",
        architectures: [Hyperparameters.Architecture.offline, .streaming].map(\.rawValue),
        kind: .speechRecognition, load: { try ParaformerModel(file: $0) })

    /// Everything one utterance produced, stage by stage.
    package struct Output {
        /// Encoder frames T.
        package var frames: Int
        /// CIF weights per encoder frame [T] (before the tail frame).
        package var alphas: [Float]
        package var firing: CIFPredictor.Firing
        /// Decoded ids (N of them, before dropping blank/sos/eos).
        package var tokenIds: [Int]
        /// Log-probabilities of the chosen ids.
        package var tokenScores: [Float]
        /// Optional dumps for parity tests.
        package var encoderOut: [Float]? = nil
        package var embeddings: [Float]? = nil
        package var logits: [Float]? = nil
    }

    /// Runs utterances (features [T_b, inputSize] each) through the network as one padded batch.
    package func run(_ features: [Tensor], keepIntermediates: Bool = false, _ ws: Workspace) -> [Output] {
        var timings = StageTimings()
        return run(features, keepIntermediates: keepIntermediates, ws, timings: &timings)
    }

    /// `run`, adding each stage's wall time to `timings`.
    package func run(
        _ features: [Tensor], keepIntermediates: Bool = false, _ ws: Workspace,
        timings: inout StageTimings
    ) -> [Output] {
        let clock = ContinuousClock()
        let mark = ws.mark
        defer { ws.rewind(to: mark) }
        let d = hparams.modelDim
        let lengths = features.map(\.rows)
        let frames = lengths.max() ?? 0
        let layout = BatchLayout(frames: frames, lengths: lengths)
        guard frames > 0 else {
            return lengths.map { _ in Output(frames: 0, alphas: [], firing: .init(alphas: [], peaks: [], fireFrames: [], tokenCount: 0), tokenIds: [], tokenScores: []) }
        }

        let input = ws.zeros([layout.rows, hparams.inputSize])  // [B·T, 560]
        for (b, f) in features.enumerated() {
            input.row(b * frames).update(from: f.data, count: f.count)
        }
        var t0 = clock.now
        let encoded = encoder(input, layout: layout, ws)  // [B·T, D]
        timings.encoder += (clock.now - t0).seconds
        t0 = clock.now
        let alphas = predictor.alphas(encoded, layout: layout, ws)  // [B·T]

        var firings: [CIFPredictor.Firing] = []
        for (b, n) in lengths.enumerated() {
            firings.append(
                predictor.fire(alphas: alphas.data + b * frames, count: n, hidden: encoded.row(b * frames)))
        }
        let tokenCounts = firings.map { max($0.tokenCount, 0) }
        let maxTokens = tokenCounts.max() ?? 0
        let tokenLayout = BatchLayout(frames: maxTokens, lengths: tokenCounts)
        let embeds = ws.zeros([max(tokenLayout.rows, 1), d])  // [B·N, D]
        for (b, n) in lengths.enumerated() where tokenCounts[b] > 0 {
            let view = embeds.slice(b * maxTokens..<(b * maxTokens + tokenCounts[b]))
            predictor.embeddings(firings[b], hidden: encoded.row(b * frames), frames: n, into: view, ws)
        }

        timings.predictor += (clock.now - t0).seconds
        t0 = clock.now
        var logits: Tensor? = nil
        if maxTokens > 0 {
            logits = decoder(
                embeds.slice(0..<tokenLayout.rows), tokens: tokenLayout, memory: encoded,
                memoryLayout: layout, ws)
        }
        timings.decoder += (clock.now - t0).seconds
        let v = hparams.vocabSize
        var outputs: [Output] = []
        for (b, n) in lengths.enumerated() {
            var ids: [Int] = []
            var scores: [Float] = []
            if let logits {
                for j in 0..<tokenCounts[b] {
                    let row = logits.row(b * maxTokens + j)
                    let best = Kernels.argmax(row, n: v)
                    ids.append(best)
                    scores.append(Self.logSoftmax(row, n: v, at: best))
                }
            }
            var out = Output(
                frames: n, alphas: Array(UnsafeBufferPointer(start: alphas.data + b * frames, count: n)),
                firing: firings[b], tokenIds: ids, tokenScores: scores)
            if keepIntermediates {
                out.encoderOut = Array(UnsafeBufferPointer(start: encoded.row(b * frames), count: n * d))
                out.embeddings = Array(UnsafeBufferPointer(start: embeds.row(b * maxTokens), count: tokenCounts[b] * d))
                if let logits {
                    out.logits = Array(UnsafeBufferPointer(start: logits.row(b * maxTokens), count: tokenCounts[b] * v))
                }
            }
            outputs.append(out)
        }
        return outputs
    }

    /// log_softmax(row)[index].
    package static func logSoftmax(_ row: UnsafePointer<Float>, n: Int, at index: Int) -> Float {
        var m = -Float.infinity
        for i in 0..<n { m = max(m, row[i]) }
        var s: Double = 0
        for i in 0..<n { s += Double(expf(row[i] - m)) }
        return row[index] - m - Float(Foundation.log(s))
    }
}

