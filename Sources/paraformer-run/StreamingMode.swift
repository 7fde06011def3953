import ArgumentParser
import Foundation
import Paraformer
import ParaformerCore
import ParaformerModels
import ParaformerDataSet

#if canImport(Glibc)
    import Glibc
#endif

/// Options of streaming recognition (paraformer-online models).
struct StreamingArguments: ParsableArguments {
    @Flag(help: "Stream the audio chunk by chunk through a paraformer-streaming model, printing partial results (to standard error) as chunks complete.")
    var streaming = false

    @Option(help: ArgumentHelp(
        "FunASR's chunk_size in 60 ms LFR frames: left look-back, chunk, right look-ahead (600 ms chunks with 300 ms look-ahead by default; 0,8,4 is 480 ms).",
        valueName: "l,c,r"))
    var chunkSize = ChunkSize(values: [0, 10, 5])

    @Option(help: ArgumentHelp("Chunks of encoder attention look-back (FunASR's encoder_chunk_look_back).", valueName: "n"))
    var encoderChunkLookBack: Int = 4

    @Option(help: ArgumentHelp("Chunks of decoder look-back (FunASR's decoder_chunk_look_back).", valueName: "n"))
    var decoderChunkLookBack: Int = 1

    @Flag(help: "Feed files at real time (as a microphone would) and report each chunk's latency.")
    var realtime = false

    func options() -> StreamingOptions {
        StreamingOptions(
            chunkSize: chunkSize.values, encoderChunkLookBack: encoderChunkLookBack,
            decoderChunkLookBack: decoderChunkLookBack)
    }
}

/// `--chunk-size l,c,r`: three whole numbers (checked further by `StreamingOptions`).
struct ChunkSize: ExpressibleByArgument, Equatable {
    var values: [Int]

    init(values: [Int]) { self.values = values }

    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else { return nil }
        values = parts.map { $0! }
    }

    var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}

/// Streams every input (`-` is raw 16 kHz 16-bit little-endian mono PCM on standard input).
/// Partial text goes to standard error as chunks complete; the final line (or JSON object)
/// per input to standard output. Returns the number of inputs that failed.
func runStreaming(_ s: StreamingArguments, recognizer: Recognizer, files: [String], json: Bool) throws -> Int {
    let options = s.options()
    var failed = 0
    for path in files {
        let key = path == "-" ? "stdin" : utteranceKey(path)
        do {
            let stream = try recognizer.makeStream(options: options)
            var latencies: [Double] = []
            let clock = ContinuousClock()
            let report = { (p: PartialResult) in
                if !p.text.isEmpty { printError("\(key)\t… \(p.textSoFar)") }
            }
            if path == "-" {
                try feedStandardInput(stream, report: report)
            } else {
                let audio = try AudioDecoder.load(contentsOf: URL(fileURLWithPath: path), channel: recognizer.options.channel)
                let samples = try audio.resampled(to: stream.sampleRate).samples
                // Feed 100 ms at a time; in real time, each block is "heard" before it is fed.
                let block = stream.sampleRate / 10
                let start = clock.now
                var offset = 0
                while offset < samples.count {
                    let end = min(offset + block, samples.count)
                    if s.realtime {
                        let due = start + .milliseconds(Int(Double(end) / Double(stream.sampleRate) * 1000))
                        if clock.now < due { try? awaitSleep(until: due, clock) }
                    }
                    let before = stream.chunkCount
                    let t0 = clock.now
                    let partial = try stream.accept(samples: Array(samples[offset..<end]))
                    if stream.chunkCount > before { latencies.append((clock.now - t0).secondsValue) }
                    report(partial)
                    offset = end
                }
            }
            let t0 = clock.now
            let result = try stream.finish()
            latencies.append((clock.now - t0).secondsValue)
            emit(json ? jsonLine(key: key, result, streaming: true) : plainLine(key: key, result))
            if s.realtime && !latencies.isEmpty {
                let sorted = latencies.sorted()
                let chunkSeconds = Double(options.chunkSize[1]) * 0.06
                printError(String(
                    format: "%@: %d chunks of %.0f ms, compute per chunk: mean %.1f ms, p95 %.1f ms, max %.1f ms",
                    key, latencies.count, chunkSeconds * 1000,
                    latencies.reduce(0, +) / Double(latencies.count) * 1000,
                    sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.95))] * 1000, sorted.last! * 1000))
            }
        } catch {
            printError("error: \(path): \(error)")
            failed += 1
        }
    }
    return failed
}

/// Reads raw PCM (16-bit little-endian mono at the model's rate) from standard input until
/// end of file, feeding it as it arrives.
private func feedStandardInput(_ stream: RecognitionStream, report: (PartialResult) -> Void) throws {
    let handle = FileHandle.standardInput
    var carry: UInt8? = nil
    while true {
        let data = handle.readData(ofLength: 3200)  // 100 ms at 16 kHz
        if data.isEmpty { break }
        var bytes = [UInt8](data)
        if let c = carry { bytes.insert(c, at: 0) }
        carry = bytes.count % 2 == 1 ? bytes.removeLast() : nil
        var samples = [Float](repeating: 0, count: bytes.count / 2)
        for i in 0..<samples.count {
            let v = Int16(bitPattern: UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8)
            samples[i] = Float(v) / 32768
        }
        report(try stream.accept(samples: samples))
    }
}

private func awaitSleep(until deadline: ContinuousClock.Instant, _ clock: ContinuousClock) throws {
    let remaining = deadline - clock.now
    let (s, atto) = remaining.components
    let micros = s * 1_000_000 + atto / 1_000_000_000_000
    if micros > 0 { usleep(UInt32(min(micros, 10_000_000))) }
}

extension Duration {
    var secondsValue: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
