import Foundation
import XCTest

@testable import Paraformer
@testable import ParaformerCore
@testable import ParaformerModels

/// CT-Transformer punctuation against FunASR 1.4.16 (`AutoModel.generate` on random-weight
/// models built with FunASR's classes; `Tools/gen_punc_fixtures.py`). Text and `punc_array`
/// must be identical.
final class PunctuationParityTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let input: String
        let text: String
        let punc_array: [Int]
        /// FunASR's `split_words` (jieba models only).
        let words: [String]?
    }
    struct Call: Decodable {
        let input: String
        let text: String
        let punc_array: [Int]
        let pre_text: [String]
    }
    struct Model: Decodable {
        let model: String
        let cases: [Case]?
        let calls: [Call]?
    }

    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/punc/\(name)", withExtension: nil)!
    }

    static let expected: [String: Model] = {
        let data = try! Data(contentsOf: url("expected.json"))
        let object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var models: [String: Model] = [:]
        for (key, value) in object where value is [String: Any] {
            let d = try! JSONSerialization.data(withJSONObject: value)
            models[key] = try! JSONDecoder().decode(Model.self, from: d)
        }
        return models
    }()

    func punctuator(_ name: String) throws -> Punctuator {
        try Punctuator(modelPath: Self.url(name).path)
    }

    private func checkOffline(_ key: String, minimumCases: Int) throws {
        let m = try XCTUnwrap(Self.expected[key])
        let p = try punctuator(m.model)
        let cases = try XCTUnwrap(m.cases)
        XCTAssertGreaterThanOrEqual(cases.count, minimumCases)
        for c in cases {
            let r = p.punctuate(c.input)
            XCTAssertEqual(r.text, c.text, "\(key)/\(c.name)")
            XCTAssertEqual(r.puncArray, c.punc_array, "\(key)/\(c.name)")
        }
    }

    func testOfflineMatchesFunASR() throws {
        try checkOffline("punc", minimumCases: 18)
    }

    func testASCIIPunctuationListMatchesFunASR() throws {
        try checkOffline("punc-ascii", minimumCases: 5)
    }

    func testCommaCutAfterTwoHundredWordsMatchesFunASR() throws {
        try checkOffline("punc-nostop", minimumCases: 2)
    }

    /// The word-level model: jieba segmentation (dictionary exported by the converter), the
    /// per-character punc_array.
    func testJiebaWordModelMatchesFunASR() throws {
        let m = try XCTUnwrap(Self.expected["punc-jieba"])
        let p = try punctuator(m.model)
        let jieba = try XCTUnwrap(p.model.jieba)
        let cases = try XCTUnwrap(m.cases)
        XCTAssertGreaterThanOrEqual(cases.count, 7)
        for c in cases {
            let words = jieba.splitWords(PythonText.scalars(c.input)).map(PythonText.string)
            XCTAssertEqual(words, c.words, c.name)
            let r = p.punctuate(c.input)
            XCTAssertEqual(r.text, c.text, c.name)
            XCTAssertEqual(r.puncArray, c.punc_array, c.name)
        }
    }

    /// The same model with jieba's own dictionary (about 500 000 entries) on long natural and
    /// random text, when `gen_punc_fixtures.py --full-jieba DIR` has made it (not committed:
    /// 12 MB): in $PARAFORMER_PUNC_LARGE_DIR, default /work/cache/punc.
    func testJiebaFullDictionaryMatchesFunASRWhenPresent() throws {
        let dir = ProcessInfo.processInfo.environment["PARAFORMER_PUNC_LARGE_DIR"] ?? "/work/cache/punc"
        let json = dir + "/punc-jieba-full.json"
        guard FileManager.default.fileExists(atPath: json) else {
            throw XCTSkip("no full jieba fixture (Tools/gen_punc_fixtures.py --full-jieba \(dir))")
        }
        let m = try JSONDecoder().decode(Model.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
        let p = try Punctuator(modelPath: dir + "/" + m.model)
        let jieba = try XCTUnwrap(p.model.jieba)
        for c in try XCTUnwrap(m.cases) {
            XCTAssertEqual(jieba.splitWords(PythonText.scalars(c.input)).map(PythonText.string), c.words, c.name)
            let r = p.punctuate(c.input)
            XCTAssertEqual(r.text, c.text, c.name)
            XCTAssertEqual(r.puncArray, c.punc_array, c.name)
        }
    }

    func testStreamingCallsMatchFunASR() throws {
        let m = try XCTUnwrap(Self.expected["punc-online"])
        let p = try punctuator(m.model)
        let stream = try p.makeStream()
        let calls = try XCTUnwrap(m.calls)
        XCTAssertGreaterThanOrEqual(calls.count, 10)
        for (i, c) in calls.enumerated() {
            let r = stream.accept(c.input)
            XCTAssertEqual(r.text, c.text, "call \(i)")
            XCTAssertEqual(r.puncArray, c.punc_array, "call \(i)")
            XCTAssertEqual(stream.carriedWords, c.pre_text, "call \(i)")
        }
        // reset() starts a new stream: the first call again gives FunASR's first output.
        stream.reset()
        XCTAssertEqual(stream.accept(calls[0].input).text, calls[0].text)
        XCTAssertEqual(p.punctuate(calls[0].input).text, calls[0].text)
    }

    /// The fixtures exercise what they claim: windows cut and carried over, several classes,
    /// sentence ends inside long inputs.
    func testFixturesExerciseTheRules() throws {
        let cases = try XCTUnwrap(Self.expected["punc"]?.cases)
        let all = cases.flatMap(\.punc_array)
        XCTAssertEqual(Set(all).intersection([1, 2, 3, 4, 5]).count, 5)
        let long = try XCTUnwrap(cases.first { $0.name == "zh_very_long" })
        XCTAssertGreaterThan(long.punc_array.count, 100)
        let nostop = try XCTUnwrap(Self.expected["punc-nostop"]?.cases?.first)
        XCTAssertGreaterThan(nostop.punc_array.count, 200)
        XCTAssertTrue(nostop.text.dropLast().contains("。"), "the comma cut turns a ， into 。")
    }

    func testThreadsShareOnePunctuator() throws {
        let m = try XCTUnwrap(Self.expected["punc"])
        let p = try punctuator(m.model)
        let cases = try XCTUnwrap(m.cases)
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var texts: [Int: String] = [:]
        }
        let results = Results()
        let inputs = cases.map(\.input)
        DispatchQueue.concurrentPerform(iterations: inputs.count) { i in
            let text = p.punctuate(inputs[i]).text
            results.lock.lock()
            results.texts[i] = text
            results.lock.unlock()
        }
        for (i, c) in cases.enumerated() { XCTAssertEqual(results.texts[i], c.text) }
    }
}

/// FunASR's text rules around the network, without a model.
final class PunctuationTextTests: XCTestCase {
    private func words(_ s: String) -> [String] {
        PunctuationText.splitWords(PythonText.scalars(s)).map(PythonText.string)
    }

    func testSplitsCJKCharactersAndASCIIRuns() {
        XCTAssertEqual(words("你好hello world"), ["你", "好", "hello", "world"])
        XCTAssertEqual(words("a1,b你c"), ["a1,b", "你", "c"])
        XCTAssertEqual(words("  \t\u{3000}"), [])
        // Python str.split() whitespace, including U+3000, U+00A0 and U+001C.
        XCTAssertEqual(words("好\u{3000}x\u{A0}y\u{1C}z"), ["好", "x", "y", "z"])
        // Code points, not grapheme clusters: e + combining accent is two words.
        XCTAssertEqual(words("e\u{301}"), ["e", "\u{301}"])
    }

    func testMiniSentencesOfTwenty() {
        XCTAssertEqual(PunctuationText.miniSentences(count: 0, size: 20), [0..<0])
        XCTAssertEqual(PunctuationText.miniSentences(count: 20, size: 20), [0..<20])
        XCTAssertEqual(PunctuationText.miniSentences(count: 41, size: 20), [0..<20, 20..<40, 40..<41])
    }

    func testCapitalizeLowersTheRest() {
        let cap = { PythonText.string(PunctuationText.capitalized(PythonText.scalars($0))) }
        XCTAssertEqual(cap("iPhone"), "Iphone")
        XCTAssertEqual(cap("hello"), "Hello")
        XCTAssertEqual(cap("WORLD"), "World")
    }

    func testEndingRules() {
        func end(_ s: String) -> (String, PunctuationText.Ending) {
            var t = PythonText.scalars(s)
            let e = PunctuationText.finishOffline(&t)
            return (PythonText.string(t), e)
        }
        XCTAssertTrue(end("你好、") == ("你好。", .replaced))
        XCTAssertTrue(end("iPhone、") == ("iPhone。", .replaced))
        XCTAssertTrue(end("hello,") == ("hello.", .replaced))
        XCTAssertTrue(end("你好") == ("你好。", .appended))
        XCTAssertTrue(end(" hello") == (" hello.", .appended))
        XCTAssertTrue(end("你好？") == ("你好？", .kept))
        XCTAssertTrue(end("hello?") == ("hello?", .kept))
    }

    func testSentenceEndSkipsFirstTwoAndLast() {
        let list = ["<unk>", "_", "，", "。", "？", "、"].map(PythonText.scalars)
        var c = [3, 3, 1, 1, 3]  // 。 only at 0, 1 and the last index
        XCTAssertEqual(PunctuationText.sentenceEnd(&c, list, sentenceEndId: 3, windowLength: 5), -1)
        c = [1, 1, 4, 1, 3]
        XCTAssertEqual(PunctuationText.sentenceEnd(&c, list, sentenceEndId: 3, windowLength: 5), 2)
        // No 。/？: a comma cut only past 200 words, and the comma becomes sentence_end_id.
        c = [1, 1, 2, 2, 1, 1]
        XCTAssertEqual(PunctuationText.sentenceEnd(&c, list, sentenceEndId: 3, windowLength: 6), -1)
        XCTAssertEqual(PunctuationText.sentenceEnd(&c, list, sentenceEndId: 3, windowLength: 201), 3)
        XCTAssertEqual(c[3], 3)
    }
}

/// Bad models and options.
final class PunctuatorErrorTests: XCTestCase {
    func testRejectsASRModel() {
        XCTAssertThrowsError(try Punctuator(modelPath: ModelFixtures.path("tiny.gguf"))) { error in
            guard case .invalidOption(name: "model", _)? = error as? ParaformerError else {
                return XCTFail("\(error)")
            }
        }
    }

    func testRejectsBadSplitSize() {
        let path = PunctuationParityTests.url("punc.gguf").path
        XCTAssertThrowsError(try Punctuator(modelPath: path, options: PunctuatorOptions(splitSize: 1)))
    }

    func testOfflineModelHasNoStream() throws {
        let p = try Punctuator(modelPath: PunctuationParityTests.url("punc.gguf").path)
        XCTAssertThrowsError(try p.makeStream())
    }

    func testEmptyAndUnknownInput() throws {
        let p = try Punctuator(modelPath: PunctuationParityTests.url("punc.gguf").path)
        XCTAssertEqual(p.punctuate(""), PunctuationResult(text: "", puncArray: []))
        XCTAssertEqual(p.punctuate(" \n\t"), PunctuationResult(text: "", puncArray: []))
        // Words outside the vocabulary are read as <unk> and printed as written.
        let r = p.punctuate("龘靐齉 xyzzy")
        XCTAssertTrue(r.text.hasPrefix("龘"))
        XCTAssertTrue(r.text.contains("xyzzy") || r.text.contains("Xyzzy"))
        XCTAssertEqual(r.puncArray.count, 4)
        let s = try Punctuator(modelPath: PunctuationParityTests.url("punc-online.gguf").path).makeStream()
        XCTAssertEqual(s.accept("").text, "")
    }
}
