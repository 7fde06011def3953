// Shared by the libFuzzer targets (issue #16); built only with PARAFORMER_FUZZ=1.
import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Hands the process over to libFuzzer's driver with `testOneInput` (same flags as libFuzzer's
/// own main: corpus dirs, -max_total_time, ...). SwiftPM links an executable's `main` to its
/// top-level code, so libFuzzer's main is not used; each target's top level calls this.
public func runLibFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}
