// libFuzzer target: the GGUF reader plus model binding (issue #16). Any input must end in a
// loaded model or a ParaformerError; a trap, an ASan report or a hang is a bug.
// Built only by Tools/fuzz.sh (PARAFORMER_FUZZ=1, -sanitize=fuzzer,address).
import Foundation
import FuzzSupport
import ParaformerCore
import ParaformerModels

/// GGUFFile maps a path, so each input goes through one scratch file per process.
private let scratch: String = {
    FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-gguf-\(getpid()).gguf").path
}()

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard FileManager.default.createFile(atPath: scratch, contents: bytes) else { return 0 }
    do {
        let file = try GGUFFile(path: scratch)
        // Touch every tensor's data (reads past the mapping would show here), then bind.
        for info in file.tensorInfos { _ = try? file.tensor(info.name) }
        _ = try ModelRegistry.load(file)
    } catch is ParaformerError {
    } catch {
        fatalError("not a ParaformerError: \(error)")
    }
    return 0
}

runLibFuzzer(fuzzGGUF)
