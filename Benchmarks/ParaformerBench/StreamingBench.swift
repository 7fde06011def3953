import Foundation
import Paraformer
import ParaformerCore
import ParaformerModels

/// Compute time per streaming chunk (`--streaming`): the clip is pushed in `chunkMs` pieces as
/// a live source would, and each push is timed. Reported per pass: mean, median, p90 and max
/// milliseconds per chunk, and the mean's ratio to the chunk's real-time length.
struct StreamingReport: Codable {
    var available: Bool
    var note: String?
    var clip: String
    var chunkMs: Int
    var chunks: Int
    /// Per pass: mean ms per chunk.
    var passMeanMs: [Double]
    /// Of the median pass (by mean).
    var meanMs: Double?
    var medianMs: Double?
    var p90Ms: Double?
    var maxMs: Double?
    /// meanMs / chunkMs.
    var realTimeRatio: Double?
    var tokenIds: [Int]
    var text: String
    var peakRssBytes: Int
}

enum StreamingBench {
    /// One streaming session over `samples`: returns the seconds of each push and the text.
    /// `push(chunk, isFinal)` feeds one piece and returns the token ids it produced.
    typealias Session = () throws -> (push: ([Float], Bool) throws -> [Int], finish: () -> String)

    static func run(recognizer: Recognizer, clip: String, chunkMs: Int, runs: Int, warmup: Int) throws
        -> StreamingReport
    {
        let audio = try AudioDecoder.load(contentsOf: URL(fileURLWithPath: clip))
        let rate = recognizer.hyperparameters.sampleRate
        let wave = audio.sampleRate == rate ? audio : try audio.resampled(to: rate)
        let samples = wave.samples
        let step = rate * chunkMs / 1000
        let nChunks = (samples.count + step - 1) / step

        // The engine's RecognitionStream (Sources/Paraformer/RecognitionStream.swift), with the chunking of
        // FunASR's demo that the PyTorch peer uses: [0, chunk/60 ms, chunk/120 ms], encoder
        // look-back 4, decoder look-back 1. The last piece goes in with `finish()` (FunASR's
        // is_final=True call) and is timed with it.
        let streamOptions = StreamingOptions(
            chunkSize: [0, chunkMs / 60, chunkMs / 120], encoderChunkLookBack: 4, decoderChunkLookBack: 1)
        let session: Session = {
            let stream = try recognizer.makeStream(options: streamOptions)
            var text = ""
            return (
                push: { chunk, isFinal in
                    var ids = try stream.accept(samples: chunk).tokenIds
                    if isFinal {
                        let (partial, result) = try stream.finishPartial()
                        ids += partial.tokenIds
                        text = result.text
                    }
                    return ids
                },
                finish: { text }
            )
        }
        let clock = ContinuousClock()
        var passes: [(times: [Double], ids: [Int], text: String)] = []
        for pass in 0..<(warmup + runs) {
            let s = try session()
            var times: [Double] = []
            var ids: [Int] = []
            var start = 0
            // Warm-up passes: the first 5 chunks only (as the peer runners do).
            let limit = pass < warmup ? min(samples.count, 5 * step) : samples.count
            while start < limit {
                let end = min(start + step, samples.count)
                let chunk = Array(samples[start..<end])
                let t0 = clock.now
                ids += try s.push(chunk, pass >= warmup && end == samples.count)
                times.append((clock.now - t0).seconds)
                start = end
            }
            if pass >= warmup { passes.append((times, ids, s.finish())) }
        }
        let means = passes.map { $0.times.reduce(0, +) / Double($0.times.count) * 1000 }
        let order = means.indices.sorted { means[$0] < means[$1] }
        let mid = passes[order[order.count / 2]]
        let sorted = mid.times.sorted()
        let p90 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.9).rounded(.down)))]
        let meanMs = means[order[order.count / 2]]
        return StreamingReport(
            available: true, note: nil, clip: clip, chunkMs: chunkMs, chunks: mid.times.count,
            passMeanMs: means, meanMs: meanMs, medianMs: median(mid.times) * 1000, p90Ms: p90 * 1000,
            maxMs: sorted.last.map { $0 * 1000 }, realTimeRatio: meanMs / Double(chunkMs), tokenIds: mid.ids,
            text: mid.text, peakRssBytes: procStatus("VmHWM"))
    }
}
