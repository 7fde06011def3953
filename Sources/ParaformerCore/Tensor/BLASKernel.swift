import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Choosing OpenBLAS's sgemm kernel for the CPU.
///
/// OpenBLAS picks a kernel when the library loads, from the CPU's features, and reads
/// `OPENBLAS_CORETYPE` only then. Its choice is not always the fastest: on AMD Zen 4 Debian's
/// OpenBLAS 0.3.21 selects its Cooperlake (AVX-512) kernel, while the Haswell (AVX2) kernel
/// sustains about 20 % more GFLOP/s on the encoder's shapes. A process can only change the
/// kernel by starting again with the variable set, so executables call
/// `reexecWithPreferredKernel()` first thing; library users set `OPENBLAS_CORETYPE` themselves.
///
/// The preferred kernel is, in order: `OPENBLAS_CORETYPE` when set (nothing to do);
/// `PARAFORMER_BLAS_CORETYPE` (`default` keeps OpenBLAS's own choice); the result of
/// `paraformer-run --calibrate-blas`, stored in `~/.cache/paraformer/openblas-coretype`;
/// the built-in rule for CPUs measured here (Zen 4 and later → Haswell).
///
/// The rule and the calibration concern offline decoding (large products). Streaming works
/// on windows of ~15 rows, where OpenBLAS's AVX-512 builds have unpacked small-matrix kernels
/// that its Haswell build lacks (measured on Zen 4: Haswell is slower per chunk), so streaming
/// keeps OpenBLAS's choice unless one of the variables says otherwise.
package enum BLASKernel {
    /// What the process will mostly run.
    package enum Workload: Sendable { case offline, streaming }

    /// Where `--calibrate-blas` stores the measured winner.
    package static var calibrationFile: URL {
        let base = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("paraformer/openblas-coretype")
    }

    /// The kernel this process should run with, or nil to keep OpenBLAS's choice.
    package static func preferredCoreType(
        environment env: [String: String] = ProcessInfo.processInfo.environment, workload: Workload = .offline
    ) -> String? {
        #if canImport(Accelerate)
            return nil
        #else
            if env["OPENBLAS_CORETYPE"] != nil { return nil }
            if let forced = env["PARAFORMER_BLAS_CORETYPE"] { return forced == "default" ? nil : forced }
            if workload == .streaming { return nil }
            if let saved = try? String(contentsOf: calibrationFile, encoding: .utf8) {
                let name = saved.trimmingCharacters(in: .whitespacesAndNewlines)
                return name.isEmpty || name == "default" ? nil : name
            }
            return ruleForThisCPU()
        #endif
    }

    /// AMD CPUs with AVX-512 (Zen 4 and later): OpenBLAS 0.3.21 picks Cooperlake/SkylakeX,
    /// whose kernels run slower there than its Haswell kernel.
    package static func ruleForThisCPU() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        let head = info.prefix(8192)
        let amd = head.contains("AuthenticAMD")
        let avx512 = head.contains(" avx512f")
        return amd && avx512 ? "Haswell" : nil
    }

    /// Restarts the current executable with `OPENBLAS_CORETYPE` set to the preferred kernel,
    /// once (a marker variable prevents loops). Returns only if no restart is needed or the
    /// restart failed.
    package static func reexecWithPreferredKernel(workload: Workload = .offline) {
        #if os(Linux)
            let env = ProcessInfo.processInfo.environment
            guard env["PARAFORMER_BLAS_REEXEC"] == nil,
                let core = preferredCoreType(environment: env, workload: workload)
            else {
                return
            }
            setenv("OPENBLAS_CORETYPE", core, 1)
            setenv("PARAFORMER_BLAS_REEXEC", "1", 1)
            let args = CommandLine.arguments
            var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
            cArgs.append(nil)
            execv("/proc/self/exe", &cArgs)
            // execv only returns on failure: carry on with the current kernel.
            unsetenv("OPENBLAS_CORETYPE")
        #endif
    }
}

extension BLASKernel {
    /// Sustained single-thread sgemm GFLOP/s of the running kernel on the encoder's products
    /// (`rows` frames, model dim `d`, FFN `units`): QKV, output and both FFN projections.
    package static func measureEncoderGemm(rows: Int = 500, d: Int = 512, units: Int = 2048, seconds: Double = 1) -> Double {
        let shapes = [(d, 3 * d), (d, d), (d, units), (units, d)]  // (in, out)
        let a = [Float](repeating: 0.01, count: rows * units)
        let b = [Float](repeating: 0.02, count: units * units)
        var c = [Float](repeating: 0, count: rows * units)
        let clock = ContinuousClock()
        var flops = 0.0
        var elapsed = Duration.zero
        var rounds = 0
        while rounds < 2 || elapsed < .milliseconds(Int(seconds * 1000)) {
            let t0 = clock.now
            for (k, n) in shapes {
                BLAS.gemm(transA: false, transB: true, m: rows, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &c, ldc: n)
            }
            if rounds > 0 {  // the first round warms up
                elapsed += clock.now - t0
                flops += shapes.reduce(0.0) { $0 + 2.0 * Double(rows) * Double($1.0) * Double($1.1) }
            }
            rounds += 1
        }
        return flops / elapsed.seconds / 1e9
    }
}
