import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// The committed streaming fixtures of `Tools/gen_streaming_fixtures.py`: random-weight
/// paraformer-online models run by FunASR 1.4.16's `ParaformerStreaming` chunk by chunk.
enum StreamFixtures {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/streaming/\(name)", withExtension: nil)!
    }

    static let expected: GGUFFile = try! GGUFFile(path: url("expected.gguf").path)

    struct Stride: Decodable {
        let call: Int
        let final: Bool
        let tail: Bool
        let frames: Int
        let window: Int
        let cif_carry_in: Float
        let cif_carry_out: Float
        let token_count: Int
        let token_ids: [Int]
        let tokens: [String]
    }

    struct AsIs: Decodable {
        let call_texts: [String]
        let token_ids: [Int]
        let encoder_out_rel_diff: Double
    }

    struct Case: Decodable {
        let name: String
        let model: String
        let audio: String
        let chunk_size: [Int]
        let encoder_chunk_look_back: Int
        let decoder_chunk_look_back: Int
        let call_sizes: [Int]
        let call_texts: [String]
        let fake_text: String
        let fake_token_ids: [Int]
        let strides: [Stride]
        let asis: AsIs?

        var options: StreamingOptions {
            StreamingOptions(
                chunkSize: chunk_size, encoderChunkLookBack: encoder_chunk_look_back,
                decoderChunkLookBack: decoder_chunk_look_back)
        }
    }

    struct Meta: Decodable {
        let audio_lengths: [String: Int]
        let cases: [Case]
    }

    /// One expected-output file and what it holds.
    struct Expected {
        let file: GGUFFile
        let meta: Meta
        let speech: [Float]

        init(_ file: GGUFFile) {
            self.file = file
            let json = file.metadata["fixture.json"]!.stringValue!
            meta = try! JSONDecoder().decode(Meta.self, from: Data(json.utf8))
            speech = try! file.tensor("audio").array
        }

        /// The case's audio: a prefix of the fixture's speech.
        func audio(_ name: String) -> [Float] { Array(speech[..<meta.audio_lengths[name]!]) }
        func tensor(_ name: String) -> Tensor? { file.info(name) == nil ? nil : try! file.tensor(name) }
    }

    static let committed = Expected(expected)
    static var meta: Meta { committed.meta }
    static var cases: [Case] { meta.cases }
    static func audio(_ name: String) -> [Float] { committed.audio(name) }
    static func tensor(_ name: String) -> Tensor? { committed.tensor(name) }

    /// The full-size (large-online) set of `gen_streaming_fixtures.py --large`, when made:
    /// in $PARAFORMER_STREAMING_LARGE_DIR, default /work/cache/streaming.
    static let large: (set: Expected, modelPath: String)? = {
        let dir = ProcessInfo.processInfo.environment["PARAFORMER_STREAMING_LARGE_DIR"] ?? "/work/cache/streaming"
        let expected = dir + "/large-online-expected.gguf"
        let model = dir + "/large-online.gguf"
        guard FileManager.default.fileExists(atPath: expected), FileManager.default.fileExists(atPath: model),
            let file = try? GGUFFile(path: expected)
        else { return nil }
        return (Expected(file), model)
    }()

    private static let lock = NSLock()
    nonisolated(unsafe) private static var recognizers: [String: Recognizer] = [:]
    static func recognizer(_ model: String) throws -> Recognizer {
        lock.lock()
        defer { lock.unlock() }
        if let r = recognizers[model] { return r }
        let path = model == "large-online"
            ? large!.modelPath
            : ModelFixtures.path("\(model).gguf")
        let r = try Recognizer(model: URL(fileURLWithPath: path))
        recognizers[model] = r
        return r
    }

    /// max |a − b| / max |b|
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count)")
        var diff: Float = 0
        var scale: Float = 0
        for i in a.indices {
            diff = max(diff, abs(a[i] - b[i]))
            scale = max(scale, abs(b[i]))
        }
        return diff / max(scale, 1e-12)
    }
}

/// Parity with FunASR's `ParaformerStreaming` (paraformer/model.py `inference` with cache,
/// is_final, chunk_size, encoder/decoder_chunk_look_back), fed chunk_size[1]·960 samples per
/// call as FunASR's README does.
final class StreamParityTests: XCTestCase {
    /// Encoder output and CIF weights, relative to the tensor's max magnitude.
    let tolerance: Float = 1e-4
    /// Decoder logits, relative.
    let logitTolerance: Float = 1e-3
    /// Online frontend features, absolute.
    let featureTolerance: Float = 1e-3

    /// Worst errors seen, for the log.
    private var worst: (encoder: Float, alphas: Float, logits: Float) = (0, 0, 0)

    func testEveryChunkMatchesFunASR() throws {
        XCTAssertGreaterThanOrEqual(StreamFixtures.cases.count, 8)
        for c in StreamFixtures.cases { try check(c, StreamFixtures.committed) }
        print("streaming parity, worst relative error: encoder \(worst.encoder), alphas \(worst.alphas), logits \(worst.logits)")
    }

    /// The same on the full-size architecture (paraformer-large sized, random weights), when
    /// `Tools/gen_streaming_fixtures.py --large` has been run.
    func testFullSizeModelMatchesFunASR() throws {
        guard let large = StreamFixtures.large else {
            throw XCTSkip("no large-online fixture (Tools/gen_streaming_fixtures.py --large)")
        }
        for c in large.set.meta.cases { try check(c, large.set) }
        print("full-size streaming parity, worst relative error: encoder \(worst.encoder), alphas \(worst.alphas), logits \(worst.logits)")
    }

    private func check(_ c: StreamFixtures.Case, _ set: StreamFixtures.Expected) throws {
        let recognizer = try StreamFixtures.recognizer(c.model)
        let stream = try recognizer.makeStream(options: c.options)
        stream.keepIntermediates = true
        let audio = set.audio(c.audio)
        var texts: [String] = []
        var offset = 0
        var result: RecognitionResult? = nil
        for (i, size) in c.call_sizes.enumerated() {
            let piece = Array(audio[offset..<(offset + size)])
            offset += size
            let partial = try stream.accept(samples: piece)
            if i == c.call_sizes.count - 1 {
                XCTAssertEqual(partial.chunks, 0, c.name)
                let (last, whole) = try stream.finishPartial()
                texts.append(last.text)
                result = whole
            } else {
                texts.append(partial.text)
            }
        }
        XCTAssertEqual(offset, audio.count)
        XCTAssertEqual(stream.chunkOutputs.count, c.strides.count, "\(c.name): chunks")
        for (k, (mine, theirs)) in zip(stream.chunkOutputs, c.strides).enumerated() {
            let where_ = "\(c.name) chunk \(k)"
            XCTAssertEqual(mine.frames, theirs.tail ? 0 : theirs.frames, where_)
            XCTAssertEqual(mine.window, theirs.window, where_)
            let enc = set.tensor("\(c.name).\(k).encoder_out")!.array
            let encError = StreamFixtures.relativeError(mine.encoderOut!, enc)
            XCTAssertLessThanOrEqual(encError, tolerance, "\(where_): encoder")
            let alphas = set.tensor("\(c.name).\(k).alphas")!.array
            let alphaError = StreamFixtures.relativeError(mine.alphas, alphas)
            XCTAssertLessThanOrEqual(alphaError, tolerance, "\(where_): alphas")
            worst.encoder = max(worst.encoder, encError)
            worst.alphas = max(worst.alphas, alphaError)
            XCTAssertEqual(mine.tokenIds.count, theirs.token_count, "\(where_): tokens fired")
            let kept = mine.tokenIds.filter { $0 > 2 }
            XCTAssertEqual(kept, theirs.token_ids, "\(where_): token ids")
            if let logits = set.tensor("\(c.name).\(k).logits") {
                let e = StreamFixtures.relativeError(mine.logits ?? [], logits.array)
                XCTAssertLessThanOrEqual(e, logitTolerance, "\(where_): logits")
                worst.logits = max(worst.logits, e)
            }
        }
        XCTAssertEqual(texts, c.call_texts, "\(c.name): per-call text")
        XCTAssertEqual(texts.joined(), c.call_texts.joined(), c.name)
        XCTAssertEqual(result?.text, c.fake_text, "\(c.name): final text")
        XCTAssertEqual(result?.tokenIds, c.fake_token_ids, "\(c.name): final ids")
    }

    /// The online frontend inside the stream gives FunASR's encoder input chunk by chunk.
    func testChunkFeaturesMatchFunASR() throws {
        var checked = 0
        for c in StreamFixtures.cases where StreamFixtures.tensor("\(c.name).0.features") != nil {
            let recognizer = try StreamFixtures.recognizer(c.model)
            let frontend = OnlineFrontend(frontend: recognizer.frontend)
            let audio = StreamFixtures.audio(c.audio)
            let stride = c.chunk_size[1] * 960
            for (k, s) in c.strides.enumerated() where !s.tail {
                let start = k * stride
                let piece = Array(audio[start..<min(start + stride, audio.count)])
                let mine = try frontend.accept(samples: piece, isFinal: s.final)
                let theirs = StreamFixtures.tensor("\(c.name).\(k).features")!
                XCTAssertEqual(mine.shape, theirs.shape, "\(c.name) chunk \(k)")
                var worst: Float = 0
                for i in 0..<min(mine.count, theirs.count) { worst = max(worst, abs(mine[i] - theirs[i])) }
                XCTAssertLessThanOrEqual(worst, featureTolerance, "\(c.name) chunk \(k)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 10)
    }

    /// FunASR's fake streaming: the whole audio through the streaming model in one call.
    func testFakeStreamingMatchesFunASR() throws {
        for c in StreamFixtures.cases {
            let recognizer = try StreamFixtures.recognizer(c.model)
            let r = try recognizer.transcribeStreaming(
                .samples(StreamFixtures.audio(c.audio), sampleRate: 16000), options: c.options)
            XCTAssertEqual(r.text, c.fake_text, c.name)
            XCTAssertEqual(r.tokenIds, c.fake_token_ids, c.name)
        }
    }

    /// REFERENCE.md §5.3: FunASR's tail chunk scales its cached features by sqrt(D) twice.
    /// The fixture holds FunASR as installed and with the in-place scale kept off the cache;
    /// the first layer's LayerNorm absorbs the factor, so both agree with us.
    func testTailChunkQuirkIsInvisible() throws {
        let tails = StreamFixtures.cases.filter { $0.asis != nil }
        XCTAssertGreaterThanOrEqual(tails.count, 3)
        for c in tails {
            let asis = c.asis!
            XCTAssertEqual(asis.call_texts, c.call_texts, c.name)
            XCTAssertEqual(asis.token_ids, c.strides.last!.token_ids, c.name)
            XCTAssertLessThanOrEqual(asis.encoder_out_rel_diff, 1e-5, c.name)
            XCTAssertTrue(c.strides.last!.tail, c.name)
        }
    }
}
