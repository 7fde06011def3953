import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels
@testable import ParaformerDataSet

/// A second, independent oracle for streaming: the per-call fixtures of
/// `Tools/gen_model_fixtures.py stream` (FunASR 1.4.16's README loop: `generate(cache=…,
/// is_final=…, chunk_size=…)` on 600/480 ms strides, dither 0). Per-call text, all tokens and
/// the final text must be identical.
final class StreamOracleCrossCheckTests: XCTestCase {
    static func fixture(_ name: String) -> String {
        ModelFixtures.path(name)
    }

    func testEveryCallMatchesFunASR() throws {
        var cases = 0
        // `tiny-online-inout`: tiny-online's weights with Linear matrices stored [in, out].
        for modelFile in ["tiny-online", "small-online", "tiny-online-inout"] {
            let model = modelFile.hasSuffix("-inout") ? String(modelFile.dropLast("-inout".count)) : modelFile
            let recognizer = try Recognizer(model: URL(fileURLWithPath: Self.fixture("\(modelFile).gguf")))
            for audio in ["stream_a", "stream_b"] {
                for setting in ["cs0-10-5_lb4-1", "cs0-8-4_lb4-1", "cs0-10-5_lb0-0"] {
                    let name = "\(model)__\(audio)__\(setting)"
                    let fx = try GGUFFile(path: Self.fixture("\(name).gguf"))
                    let label = "\(modelFile): \(name)"
                    func ints(_ key: String) -> [Int] { fx.metadata[key]?.arrayValue?.compactMap(\.intValue) ?? [] }
                    func strings(_ key: String) -> [String] {
                        fx.metadata[key]?.arrayValue?.compactMap(\.stringValue) ?? []
                    }
                    let options = StreamingOptions(
                        chunkSize: ints("fixture.chunk_size"),
                        encoderChunkLookBack: fx.metadata["fixture.encoder_chunk_look_back"]?.intValue ?? -9,
                        decoderChunkLookBack: fx.metadata["fixture.decoder_chunk_look_back"]?.intValue ?? -9)
                    let wave = try AudioDecoder.load(contentsOf: URL(fileURLWithPath: Self.fixture("audio/\(audio).wav")))
                    XCTAssertEqual(wave.samples.count, fx.metadata["fixture.num_samples"]?.intValue, label)
                    let stream = try recognizer.makeStream(options: options)
                    let ranges = ints("fixture.call_sample_ranges")
                    let expectedTexts = strings("fixture.call_texts")
                    var texts: [String] = []
                    var result: RecognitionResult? = nil
                    for call in 0..<(ranges.count / 2) {
                        let slice = Array(wave.samples[ranges[2 * call]..<ranges[2 * call + 1]])
                        let partial = try stream.accept(samples: slice)
                        if call == ranges.count / 2 - 1 {
                            let (last, final) = try stream.finishPartial()
                            texts.append(TextPostprocessor.text(from: (partial.tokens + last.tokens).map(\.text)))
                            result = final
                        } else {
                            texts.append(partial.text)
                        }
                    }
                    XCTAssertEqual(texts, expectedTexts, label)
                    XCTAssertEqual(result?.tokens.map(\.text), strings("fixture.tokens"), label)
                    XCTAssertEqual(result?.text, fx.metadata["fixture.fake_streaming_text"]?.stringValue, label)
                    cases += 1
                }
            }
        }
        XCTAssertEqual(cases, 18)
    }
}
