import Foundation
import Synchronization
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// One loaded model of each kind shared by 8 threads × 50 mixed calls at once (issue #16):
/// offline transcriptions of different clips (single and batched), streaming sessions with
/// different chunk sizes and slice sizes, offline and streaming VAD, punctuation. Every result
/// must equal the same call made alone, before the threads start. The small fixture models keep
/// it to seconds in a debug build; Tools/sanitize.sh thread runs it under TSan.
final class ConcurrencyStressTests: XCTestCase {
    /// The outcome of one call, comparable across runs.
    enum Outcome: Equatable {
        case tokens([Int], String)
        case segments([SpeechSegment])
        case events([[Int]])
        case punctuation(PunctuationResult)
        case failed(String)
    }

    struct Models: @unchecked Sendable {
        let offline: Recognizer
        let online: Recognizer
        let vad: VoiceActivityDetector
        let punctuator: Punctuator
        let clips: [[Float]]
        let streamClips: [[Float]]
        let vadClip: [Float]
    }

    static let texts = [
        "跨境河流是养育沿岸人民的生命之源", "长期以来为帮助下游地区防灾减灾中方技术人员在上游地区极为恶劣的自然条件下克服巨大困难",
        "hello world this is a test", "我们 的 祖国 是 花园",
    ]
    static let streamingOptions = [
        StreamingOptions(), StreamingOptions(chunkSize: [0, 8, 4]),
        StreamingOptions(chunkSize: [0, 10, 5], encoderChunkLookBack: 0, decoderChunkLookBack: 0),
    ]
    static let slices = [0, 960, 1600, 4321, 9600]
    static let vadChunks = [10, 60, 200, 60000]

    static func loadModels() throws -> Models {
        let one = RecognizerOptions(threads: 1)
        let load = { (name: String) throws -> [Float] in
            try AudioDecoder.load(contentsOf: URL(fileURLWithPath: ModelFixtures.path("audio/\(name).wav"))).samples
        }
        var vadClip: [Float] = []
        for (seconds, tone) in [(0.4, false), (0.9, true), (0.5, false), (0.6, true), (0.3, false)] {
            let n = Int(seconds * 16000)
            vadClip += (0..<n).map { tone ? Float(0.3 * sin(2 * Double.pi * 300 * Double($0) / 16000)) : 0 }
        }
        return Models(
            offline: try Recognizer(model: URL(fileURLWithPath: ModelFixtures.path("tiny.gguf")), options: one),
            online: try Recognizer(model: URL(fileURLWithPath: ModelFixtures.path("tiny-online.gguf")), options: one),
            vad: try VoiceActivityDetector(modelPath: VADFixtures.path("vad-speech.gguf")),
            punctuator: try Punctuator(
                modelPath: VADFixtures.path("punc-pipeline.gguf"), options: PunctuatorOptions(threads: 1)),
            clips: try ["zh_short", "zh_long", "en", "mix"].map(load),
            streamClips: try ["stream_a", "stream_b"].map(load),
            vadClip: vadClip)
    }

    /// Call number `k` of the mix (the same `k` is the same call, whichever thread makes it).
    static func call(_ k: Int, _ m: Models) -> Outcome {
        do {
            switch k % 6 {
            case 0:  // one offline transcription
                let clip = m.clips[k / 6 % m.clips.count]
                let r = try m.offline.transcribe(.samples(clip, sampleRate: 16000))
                return .tokens(r.tokenIds, r.text)
            case 1:  // a batch of two clips
                let a = m.clips[k / 6 % m.clips.count]
                let b = m.clips[(k / 6 + 1) % m.clips.count]
                let rs = try m.offline.transcribe(batch: [.samples(a, sampleRate: 16000), .samples(b, sampleRate: 16000)])
                return .tokens(rs.flatMap(\.tokenIds), rs.map(\.text).joined(separator: "|"))
            case 2:  // a streaming session, its slice size and chunk options by k
                let clip = m.streamClips[k / 6 % m.streamClips.count]
                let stream = try m.online.makeStream(options: streamingOptions[k / 12 % streamingOptions.count])
                let slice = slices[k / 6 % slices.count]
                var start = 0
                repeat {
                    let end = slice == 0 ? clip.count : min(start + slice, clip.count)
                    _ = try stream.accept(samples: Array(clip[start..<end]))
                    start = end
                } while start < clip.count
                let r = try stream.finish()
                return .tokens(r.tokenIds, r.text)
            case 3:  // offline VAD, fixed or dynamic end silence
                let options = k / 6 % 2 == 0 ? VADOptions() : VADOptions(maxEndSilenceTime: 300)
                return .segments(try m.vad.detect(samples: m.vadClip, sampleRate: 16000, options: options))
            case 4:  // streaming VAD in 100 ms slices, chunk size by k
                let stream = try m.vad.makeStream(options: VADOptions(chunkSizeMs: vadChunks[k / 6 % vadChunks.count]))
                var events: [[Int]] = []
                var start = 0
                while start < m.vadClip.count {
                    let end = min(start + 1600, m.vadClip.count)
                    events += try stream.accept(samples: Array(m.vadClip[start..<end])).map(\.pair)
                    start = end
                }
                events += try stream.finish().map(\.pair)
                return .events(events)
            default:
                return .punctuation(m.punctuator.punctuate(texts[k / 6 % texts.count]))
            }
        } catch {
            return .failed("\(error)")
        }
    }

    func testEightThreadsOfMixedCallsGiveTheResultsOfCallsMadeAlone() throws {
        let m = try Self.loadModels()
        let threads = 8
        let callsPerThread = 50
        // Every thread makes a different sequence of the same distinct calls.
        // The plans draw from 72 distinct calls (which cover every clip, chunk option, slice
        // size, VAD option and text), each made alone once first.
        let distinct = 6 * 12
        let plan: [[Int]] = (0..<threads).map { t in
            var seed = UInt64(t + 1) &* 0x9E37_79B9_7F4A_7C15
            return (0..<callsPerThread).map { _ in
                seed ^= seed << 13
                seed ^= seed >> 7
                seed ^= seed << 17
                return Int(seed % UInt64(distinct))
            }
        }
        let needed = Set(plan.joined())
        var alone: [Int: Outcome] = [:]
        for k in needed.sorted() { alone[k] = Self.call(k, m) }
        for (k, o) in alone {
            if case .failed(let e) = o { XCTFail("call \(k) alone failed: \(e)") }
        }
        // Each kind of call is in the mix.
        XCTAssertEqual(Set(needed.map { $0 % 6 }), Set(0..<6))

        let together = Mutex<[[Outcome]]>(Array(repeating: [], count: threads))
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var outcomes: [Outcome] = []
            for k in plan[t] { outcomes.append(Self.call(k, m)) }
            together.withLock { $0[t] = outcomes }
        }
        let results = together.withLock { $0 }
        var compared = 0
        for t in 0..<threads {
            XCTAssertEqual(results[t].count, callsPerThread)
            for (i, k) in plan[t].enumerated() where i < results[t].count {
                XCTAssertEqual(results[t][i], alone[k], "thread \(t), call \(i) (kind \(k % 6))")
                compared += 1
            }
        }
        XCTAssertEqual(compared, threads * callsPerThread)
    }
}
