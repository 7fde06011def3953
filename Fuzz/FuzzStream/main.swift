// libFuzzer target: the chunked-stream APIs (issue #16): RecognitionStream (tiny streaming
// fixture model) and VADStream (the VAD fixture model) driven by a program of random slice
// sizes and call orders (accept Float / Int16 slices, noise, NaN, finish, reset, accept after
// finish), with random and absurd options. Every call must return or throw a ParaformerError;
// and when a program fed exactly the clip since the last reset, however sliced, the result
// must equal the one of feeding the clip in one call. Built only by Tools/fuzz.sh.
import Foundation
import FuzzSupport
import Paraformer
import ParaformerCore

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Tests/ParaformerTests/Fixtures")
// The committed fixtures: a failure here is a broken checkout, not a finding.
private let recognizer = try! Recognizer(
    model: fixtures.appendingPathComponent("model/tiny-online.gguf"), options: RecognizerOptions(threads: 1))
private let detector = try! VoiceActivityDetector(modelPath: fixtures.appendingPathComponent("vad/vad-speech.gguf").path)
/// The streaming clip (1.8 s at 16 kHz).
private let speechClip = try! AudioDecoder.load(contentsOf: fixtures.appendingPathComponent("model/audio/stream_a.wav")).samples
/// For the VAD: 0.4 s silence, 0.9 s tone, 0.5 s silence, 0.6 s tone, 0.3 s silence.
private let vadClip: [Float] = {
    var out: [Float] = []
    for (seconds, tone) in [(0.4, false), (0.9, true), (0.5, false), (0.6, true), (0.3, false)] {
        let n = Int(seconds * 16000)
        out += (0..<n).map { tone ? Float(0.3 * sin(2 * Double.pi * 300 * Double($0) / 16000)) : 0 }
    }
    return out
}()

/// Options by index: FunASR's, other valid ones, and absurd ones that must be refused.
private let streamingOptions: [StreamingOptions] = [
    StreamingOptions(), StreamingOptions(chunkSize: [0, 8, 4]), StreamingOptions(chunkSize: [0, 1, 1]),
    StreamingOptions(chunkSize: [0, 10, 5], encoderChunkLookBack: 0, decoderChunkLookBack: 0),
    StreamingOptions(chunkSize: [5, 10, 5]), StreamingOptions(chunkSize: [0, 0, 0]),
    StreamingOptions(chunkSize: [0, -1, 5]), StreamingOptions(chunkSize: [0, Int.max, 5]),
    StreamingOptions(chunkSize: [0, 10, Int.max]), StreamingOptions(chunkSize: [0, 10]),
    StreamingOptions(chunkSize: [0, 10, 5], encoderChunkLookBack: -1, decoderChunkLookBack: Int.max),
    StreamingOptions(chunkSize: [Int.min, 10, 5]), StreamingOptions(chunkSize: [0, 1_000_000, 5]),
    StreamingOptions(chunkSize: [0, 3, 9]), StreamingOptions(chunkSize: [0, 20, 0]),
    StreamingOptions(chunkSize: [0, 10, 5], encoderChunkLookBack: 1_000_000, decoderChunkLookBack: 1_000_000),
]
private let vadOptions: [VADOptions] = [
    VADOptions(chunkSizeMs: 200), VADOptions(chunkSizeMs: 10), VADOptions(chunkSizeMs: 1),
    VADOptions(maxEndSilenceTime: 100, chunkSizeMs: 60000), VADOptions(chunkSizeMs: 0),
    VADOptions(chunkSizeMs: -5), VADOptions(chunkSizeMs: Int.max), VADOptions(maxEndSilenceTime: -1),
    VADOptions(speechNoiseThreshold: .nan), VADOptions(silenceSchedule: [], chunkSizeMs: 200),
    VADOptions(maxEndSilenceTime: 0, chunkSizeMs: 37), VADOptions(speechNoiseThreshold: -1e300, chunkSizeMs: 200),
]

nonisolated(unsafe) private var streamReference: [Int: [Int]] = [:]
nonisolated(unsafe) private var vadReference: [Int: [[Int]]] = [:]

/// Stream events joined into FunASR's segments ([beg, -1] + [-1, end] → [beg, end]).
private func segments(_ events: [VADEvent]) -> [[Int]] {
    var out: [[Int]] = []
    var open: Int? = nil
    for e in events {
        if let s = e.startMs, let t = e.endMs {
            out.append([s, t])
        } else if let s = e.startMs {
            open = s
        } else if let t = e.endMs {
            out.append([open ?? -1, t])
            open = nil
        }
    }
    if let open { out.append([open, -1]) }
    return out
}

/// The input as a program: byte 0 chooses the stream and its options, then each operation is
/// one byte (what) and two (how many samples).
private struct Program {
    var bytes: UnsafeBufferPointer<UInt8>
    var at = 1
    /// Samples the program has fed: it ends past 5 s of audio (a run must stay well inside
    /// libFuzzer's timeout in a debug + ASan build; 11 s of audio took over 20 s).
    var fed = 0
    /// At most 300 operations (each finish runs the model's final chunk): a run stays short.
    mutating func next() -> (op: UInt8, count: Int)? {
        guard at + 3 <= bytes.count, at <= 900, fed <= 80_000 else { return nil }
        defer { at += 3 }
        return (bytes[at], Int(bytes[at + 1]) | Int(bytes[at + 2]) << 8)
    }
}

private func fail(_ what: String) -> Never { fatalError("invariant broken: \(what)") }

private func runRecognition(_ program: inout Program, optionIndex: Int) throws {
    let stream = try recognizer.makeStream(options: streamingOptions[optionIndex])
    var cursor = 0
    var clean = true  // only the clip, in order, since the last reset
    var finished = false
    var noise = 0
    while let (op, count) = program.next() {
        do {
            switch op % 8 {
            case 0, 1:  // the next `count` samples of the clip, as Float or Int16
                let end = min(cursor + count, speechClip.count)
                let slice = Array(speechClip[cursor..<end])
                program.fed += slice.count
                if op % 8 == 0 {
                    _ = try stream.accept(samples: slice)
                } else {
                    _ = try stream.accept(samples: slice.map { Int16(($0 * 32768).rounded()) })
                }
                cursor = end
            case 2:  // noise of `count` samples (at most 10 s per program)
                guard noise + count <= 160_000 else { continue }
                noise += count
                program.fed += count
                var seed = UInt64(count) &* 0x9E37_79B9_7F4A_7C15 | 1
                let samples = (0..<count).map { _ -> Float in
                    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
                    return Float(Int64(bitPattern: seed) % 40000) / 32768
                }
                _ = try stream.accept(samples: samples)
                clean = false
            case 3:  // a NaN: refused, nothing changes
                do {
                    _ = try stream.accept(samples: [0, .nan])
                    fail("NaN accepted")
                } catch ParaformerError.invalidAudio {
                } catch ParaformerError.streamFinished where finished {}
            case 4, 5:
                let result = op % 8 == 4 ? try stream.finish() : try stream.finishPartial().result
                if finished { fail("finish after finish returned") }
                finished = true
                if clean && cursor == speechClip.count {
                    if streamReference[optionIndex] == nil {
                        let one = try recognizer.makeStream(options: streamingOptions[optionIndex])
                        _ = try one.accept(samples: speechClip)
                        streamReference[optionIndex] = try one.finish().tokenIds
                    }
                    if result.tokenIds != streamReference[optionIndex] {
                        fail("sliced stream gave \(result.tokenIds), one call \(streamReference[optionIndex]!)")
                    }
                }
            case 6:
                stream.reset()
                cursor = 0
                clean = true
                finished = false
            default:
                _ = try stream.accept(samples: [Float]())
            }
        } catch ParaformerError.streamFinished {
            if !finished { fail("streamFinished before finish") }
        }
    }
}

private func runVAD(_ program: inout Program, optionIndex: Int) throws {
    let stream = try detector.makeStream(options: vadOptions[optionIndex])
    var cursor = 0
    var clean = true
    var finished = false
    var events: [VADEvent] = []
    var noise = 0
    while let (op, count) = program.next() {
        do {
            switch op % 6 {
            case 0, 1:  // the next samples of the clip; op 1 makes it the final call
                let end = min(cursor + count, vadClip.count)
                program.fed += end - cursor
                let last = op % 6 == 1
                events += try stream.accept(samples: Array(vadClip[cursor..<end]), isFinal: last)
                if last { finished = true }
                cursor = end
            case 2:
                guard noise + count <= 160_000 else { continue }
                noise += count
                program.fed += count
                events += try stream.accept(samples: (0..<count).map { Float(($0 * 7919) % 2001 - 1000) / 1000 })
                clean = false
            case 3:
                do {
                    _ = try stream.accept(samples: [.infinity])
                    fail("infinity accepted")
                } catch ParaformerError.invalidAudio {
                } catch ParaformerError.streamFinished where finished {}
            default:
                events += try stream.finish()
                finished = true
            }
        } catch ParaformerError.streamFinished {
            if !finished { fail("streamFinished before the final call") }
        }
        if finished && clean && cursor == vadClip.count {
            if vadReference[optionIndex] == nil {
                let one = try detector.makeStream(options: vadOptions[optionIndex])
                vadReference[optionIndex] = segments(try one.accept(samples: vadClip, isFinal: true))
            }
            if segments(events) != vadReference[optionIndex] {
                fail("sliced VAD gave \(segments(events)), one call \(vadReference[optionIndex]!)")
            }
            clean = false  // checked once
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzStream(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    var program = Program(bytes: UnsafeBufferPointer(start: data, count: size))
    let mode = Int(data[0])
    do {
        if mode & 1 == 0 {
            try runRecognition(&program, optionIndex: (mode >> 1) % streamingOptions.count)
        } else {
            try runVAD(&program, optionIndex: (mode >> 1) % vadOptions.count)
        }
    } catch is ParaformerError {
    } catch {
        fatalError("not a ParaformerError: \(error)")
    }
    return 0
}

runLibFuzzer(fuzzStream)
