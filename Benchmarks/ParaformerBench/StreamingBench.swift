import Foundation
import Paraformer

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

        // ------------------------------------------------------------------------------------
        // STREAMING HOOK: the engine's streaming API (`Stream`, Sources/Paraformer/Recognizer/
        // Stream.swift) is being written by another engineer. Until it exists this returns
        // `available: false`. When it lands, build the session here, e.g.
        //
        //     let session: Session = {
        //         let stream = try recognizer.makeStream()          // name per the final API
        //         var ids: [Int] = []
        //         return (push: { chunk, isFinal in
        //                     let r = try stream.accept(samples: chunk, sampleRate: rate, isFinal: isFinal)
        //                     ids += r.tokenIds; return r.tokenIds },
        //                 finish: { ... text ... })
        //     }
        //
        // and the timing loop below does the rest.
        // ------------------------------------------------------------------------------------
        let session: Session? = nil
        guard let session else {
            return StreamingReport(
                available: false,
                note: "the engine has no streaming API yet (Stream.swift); hook in Benchmarks/ParaformerBench/StreamingBench.swift",
                clip: clip, chunkMs: chunkMs, chunks: nChunks, passMeanMs: [], meanMs: nil, medianMs: nil,
                p90Ms: nil, maxMs: nil, realTimeRatio: nil, tokenIds: [], text: "", peakRssBytes: -1)
        }

        let clock = ContinuousClock()
        var passes: [(times: [Double], ids: [Int], text: String)] = []
        for pass in 0..<(warmup + runs) {
            let s = try session()
            var times: [Double] = []
            var ids: [Int] = []
            var start = 0
            while start < samples.count {
                let end = min(start + step, samples.count)
                let chunk = Array(samples[start..<end])
                let t0 = clock.now
                ids += try s.push(chunk, end == samples.count)
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
