import Foundation
import XCTest

@testable import Paraformer
import ParaformerCore
import ParaformerModels

/// `HotwordReader` (FunASR's `generate_hotwords_list` input rules), `HotwordTokenizer`
/// (`seg_tokenize` + `tokens2ids`) and `LSTMLayer` against a naive loop.
final class HotwordReaderTests: XCTestCase {
    private func temp(_ name: String, _ data: Data) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hotword-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    func testStringIsOneHotwordPerWord() throws {
        XCTAssertEqual(try HotwordReader.read("达摩院  hello\t魔搭 "), [["达摩院"], ["hello"], ["魔搭"]])
        XCTAssertEqual(try HotwordReader.read(""), [])
        XCTAssertEqual(try HotwordReader.read("   "), [])
        XCTAssertEqual(try HotwordReader.read("a\u{3000}b"), [["a"], ["b"]])  // Python's isspace
    }

    func testFileIsOneHotwordPerLineAndSkipsEmptyLines() throws {
        let path = try temp("h.txt", Data("达摩院\n\n  hello world \r\n魔搭\n".utf8))
        XCTAssertEqual(try HotwordReader.read(path), [["达摩院"], ["hello", "world"], ["魔搭"]])
    }

    func testMissingFileIsAnErrorNamingIt() {
        XCTAssertThrowsError(try HotwordReader.read("/no/such/hotwords.txt")) { error in
            guard case ParaformerError.invalidHotwords(let source, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(source, "/no/such/hotwords.txt")
            XCTAssertTrue("\(error)".contains("/no/such/hotwords.txt"))
        }
    }

    func testNonUTF8FileIsAnError() throws {
        let path = try temp("latin1.txt", Data([0x68, 0xE9, 0x0A, 0xFF, 0xFE]))
        XCTAssertThrowsError(try HotwordReader.read(path)) { error in
            guard case ParaformerError.invalidHotwords(let source, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(source, path)
            XCTAssertTrue(reason.contains("UTF-8"))
        }
    }

    func testURLIsRefused() {
        XCTAssertThrowsError(try HotwordReader.read("https://example.com/h.txt"))
    }

    func testBlankLineFileEqualsFileWithout() throws {
        let a = try HotwordReader.read(HotwordParityTests.path("hotwords_blank_line.txt"))
        let b = try HotwordReader.read(HotwordParityTests.path("hotwords_several.txt"))
        XCTAssertEqual(a, b)
        let recognizer = try Recognizer(model: URL(fileURLWithPath: HotwordParityTests.path("seaco-tiny.gguf")))
        let la = try recognizer.hotwords(HotwordParityTests.path("hotwords_blank_line.txt"))
        let lb = try recognizer.hotwords(HotwordParityTests.path("hotwords_several.txt"))
        XCTAssertEqual(la.tokenIds, lb.tokenIds)
        XCTAssertEqual(la.vectors.array, lb.vectors.array)
    }

    func testSegTokenizeRules() throws {
        let recognizer = try Recognizer(model: URL(fileURLWithPath: HotwordParityTests.path("seaco-tiny.gguf")))
        let tok = try XCTUnwrap(recognizer.hotwordModel?.tokenizer)
        XCTAssertEqual(tok.pieces(["达摩院"]), ["达", "摩", "院"])  // CJK: char by char
        XCTAssertEqual(tok.pieces(["Hello"]), ["he@@", "llo"])  // lowercased, seg_dict entry
        XCTAssertEqual(tok.pieces(["达摩院ai"]), ["<unk>"])  // mixed: one <unk>
        XCTAssertEqual(tok.pieces(["5g"]), ["<unk>"])
        XCTAssertEqual(tok.pieces(["你好吗"]), ["你", "好", "<unk>"])  // a CJK char not in seg_dict
        XCTAssertEqual(tok.pieces(["hello", "world"]), ["he@@", "llo", "wor@@", "ld"])
        let list = try recognizer.hotwords("达摩院 xyz")
        XCTAssertEqual(list.tokenIds.last, [recognizer.hyperparameters.sosId])
        XCTAssertEqual(list.tokenIds[1], [tok.unkId])
        XCTAssertEqual(list.words, ["达摩院", "xyz"])
    }

    func testPlainParaformerRefusesHotwords() throws {
        let recognizer = try Recognizer(model: URL(fileURLWithPath: ModelFixtures.path("tiny.gguf")))
        XCTAssertFalse(recognizer.supportsHotwords)
        XCTAssertThrowsError(try recognizer.hotwords("达摩院"))
    }

    func testListFromAnotherRecognizerIsRefused() throws {
        let a = try Recognizer(model: URL(fileURLWithPath: HotwordParityTests.path("seaco-tiny.gguf")))
        let b = try Recognizer(model: URL(fileURLWithPath: HotwordParityTests.path("seaco-tiny.gguf")))
        let list = try a.hotwords("达摩院")
        XCTAssertThrowsError(try b.transcribe(.file(HotwordParityTests.audio("zh_short")), hotwords: list))
    }

    /// LSTMLayer (forward and reverse) against torch's equations written out naively.
    func testLSTMLayerMatchesNaiveLoop() throws {
        let l = 5, i = 3, h = 4
        var seed: UInt64 = 42
        let wih = TestRandom.floats(4 * h * i, seed: &seed), whh = TestRandom.floats(4 * h * h, seed: &seed)
        let bih = TestRandom.floats(4 * h, seed: &seed), bhh = TestRandom.floats(4 * h, seed: &seed)
        let x = TestRandom.floats(l * i, seed: &seed)
        func sig(_ v: Float) -> Float { 1 / (1 + expf(-v)) }
        for reverse in [false, true] {
            let layer = LSTMLayer(
                weightIH: Tensor(wih, shape: [4 * h, i]), weightHH: Tensor(whh, shape: [4 * h, h]),
                bias: Tensor(zip(bih, bhh).map { $0 + $1 }, shape: [4 * h]), hidden: h, reverse: reverse)
            let out = Tensor(zeros: [l, h])
            layer(Tensor(x, shape: [l, i]), into: out.data, outStride: h, Workspace())
            var hs = [Float](repeating: 0, count: h), cs = [Float](repeating: 0, count: h)
            for s in 0..<l {
                let t = reverse ? l - 1 - s : s
                var g = [Float](repeating: 0, count: 4 * h)
                for r in 0..<(4 * h) {
                    var v = bih[r] + bhh[r]
                    for k in 0..<i { v += wih[r * i + k] * x[t * i + k] }
                    for k in 0..<h { v += whh[r * h + k] * hs[k] }
                    g[r] = v
                }
                for j in 0..<h {
                    cs[j] = sig(g[h + j]) * cs[j] + sig(g[j]) * tanhf(g[2 * h + j])
                    hs[j] = sig(g[3 * h + j]) * tanhf(cs[j])
                    XCTAssertEqual(out[t, j], hs[j], accuracy: 1e-5, "reverse \(reverse) t \(t)")
                }
            }
        }
    }
}
