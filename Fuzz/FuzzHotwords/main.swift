// libFuzzer target: the hotword reader (issue #16): a `hotword` value as a string or as the
// bytes of a .txt file, read, tokenised and encoded by the tiny SeACo and Contextual fixture
// models, and (for short lists) a transcription biased by it. Every input must end in a
// HotwordList (whose invariants hold) or a ParaformerError. Built only by Tools/fuzz.sh.
import Foundation
import FuzzSupport
import Paraformer
import ParaformerCore

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Tests/ParaformerTests/Fixtures")
private let recognizers: [Recognizer] = ["hotword/seaco-tiny.gguf", "hotword/contextual-tiny.gguf"].map {
    // The committed fixtures: a failure here is a broken checkout, not a finding.
    try! Recognizer(model: fixtures.appendingPathComponent($0), options: RecognizerOptions(threads: 1))
}
private let audio = try! AudioDecoder.load(contentsOf: fixtures.appendingPathComponent("model/audio/zh_short.wav"))
private let scratch: String = {
    FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-hotwords-\(getpid()).txt").path
}()

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzHotwords(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    // Byte 0: bit 0 = a file (else a string value), bit 1 = the Contextual model (else SeACo),
    // bit 2 = also transcribe with the list.
    let mode = data[0]
    let body = Data(bytes: data + 1, count: size - 1)
    let recognizer = recognizers[Int(mode >> 1) & 1]
    do {
        let value: String
        if mode & 1 == 1 {
            guard FileManager.default.createFile(atPath: scratch, contents: body) else { return 0 }
            value = scratch
        } else {
            value = String(decoding: body, as: UTF8.self)
        }
        let list = try recognizer.hotwords(value)
        // One entry per hotword plus FunASR's `<s>` entry, every id a token of the model.
        if list.count != list.words.count + 1 { fatalError("\(list.count) entries for \(list.words.count) hotwords") }
        let vocabulary = recognizer.tokens.count
        for ids in list.tokenIds where ids.isEmpty || !ids.allSatisfy({ $0 >= 0 && $0 < vocabulary }) {
            fatalError("token ids \(ids) outside the vocabulary of \(vocabulary)")
        }
        if mode & 4 != 0 && list.count <= 64 {
            _ = try recognizer.transcribe(.samples(audio.samples, sampleRate: audio.sampleRate), hotwords: list)
        }
    } catch is ParaformerError {
    } catch {
        fatalError("not a ParaformerError: \(error)")
    }
    return 0
}

runLibFuzzer(fuzzHotwords)
