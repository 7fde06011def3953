// libFuzzer target: the data-set readers (issue #16): wav.scp and Kaldi text files from file
// bytes, the error-rate scorer on two such files, and --shard values. Every input must end in
// a parsed list (whose invariants hold) or a ParaformerError. Built only by Tools/fuzz.sh.
import Foundation
import FuzzSupport
import ParaformerCore
import ParaformerDataSet

/// The readers take paths, so each input goes through one scratch file per process.
private let scratchDirectory: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-dataset-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()
private let scratch = scratchDirectory.appendingPathComponent("wav.scp")
private let scratch2 = scratchDirectory.appendingPathComponent("text")

private func check(_ ok: Bool, _ what: @autoclosure () -> String) {
    if !ok { fatalError("invariant broken: \(what())") }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzDataSet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    // Byte 0 chooses the reader; byte 1 is a parameter (where to cut for two files, flags).
    let mode = data[0] % 4
    let parameter = Int(data[1])
    let body = Data(bytes: data + 2, count: size - 2)
    do {
        switch mode {
        case 0:  // wav.scp
            try body.write(to: scratch)
            let scp = try WavScp(contentsOf: scratch)
            check(Set(scp.entries.map(\.id)).count == scp.entries.count, "wav.scp ids not unique")
            check(scp.entries.allSatisfy { !$0.id.isEmpty && !$0.path.isEmpty }, "empty id or path")
            let lines = scp.entries.map(\.line) + scp.problems.map(\.line)
            check(Set(lines).count == lines.count, "a line both kept and refused, or twice")
            for p in scp.problems { _ = p.description }
        case 1:  // a Kaldi text file (text, token, ...), possibly cut by an interrupted write
            try body.write(to: scratch)
            let text = try KaldiTextFile(contentsOf: scratch, dropUnterminatedLine: parameter & 1 == 1)
            check(Set(text.ids).count == text.count, "text ids not unique")
            check(text.ids.allSatisfy { text[$0] != nil }, "an id without a value")
        case 2:  // text.cer from a reference and a hypothesis file
            let cut = body.isEmpty ? 0 : parameter * body.count / 256
            try body.prefix(cut).write(to: scratch)
            try body.dropFirst(cut).write(to: scratch2)
            for unit in ErrorRateUnit.allCases {
                let report = try ErrorRateReport(referenceFile: scratch, hypothesisFile: scratch2, unit: unit)
                for u in report.utterances {
                    let c = u.counts
                    check(c.words == u.reference.count, "words \(c.words) != reference \(u.reference.count)")
                    check(c.errors >= 0 && c.errors <= max(u.reference.count, u.hypothesis.count), "errors \(c.errors)")
                    check(c.errors >= abs(u.reference.count - u.hypothesis.count), "errors below the length difference")
                }
                _ = report.render()
            }
        default:  // --shard K/N, then the slices of a list of `parameter` items
            let spec = try ShardSpec(parsing: String(decoding: body, as: UTF8.self))
            let total = parameter
            let range = spec.range(total: total)
            check(range.lowerBound >= 0 && range.upperBound <= total, "shard \(spec) of \(total): \(range)")
            if spec.count <= 1000 {
                var covered = 0
                for k in 1...spec.count {
                    let r = try ShardSpec(index: k, count: spec.count).range(total: total)
                    check(r.lowerBound == covered, "shards not contiguous")
                    covered = r.upperBound
                }
                check(covered == total, "shards cover \(covered) of \(total)")
            }
        }
    } catch is ParaformerError {
    } catch {
        fatalError("not a ParaformerError: \(error)")
    }
    return 0
}

runLibFuzzer(fuzzDataSet)
