// swift-tools-version:6.0
import PackageDescription

// Layers, lowest first; each target imports only those below it:
//   ParaformerCore      support types, tensor + kernels + BLAS, audio + features, GGUF + weights,
//                       shared layers (SAN-M, FSMN, attention, FFN), text + timestamps
//   ParaformerModels    one folder per model family + the registry (general.architecture)
//   Paraformer          the public facade: Recognizer, RecognitionStream, options, results
//   ParaformerDataSet   wav.scp / text lists, sharding, error rates
//   paraformer-run, paraformer-bench, tests
let package = Package(
    name: "Paraformer",
    products: [
        .library(name: "Paraformer", targets: ["Paraformer"]),
        .executable(name: "paraformer-run", targets: ["paraformer-run"]),
        .executable(name: "paraformer-bench", targets: ["ParaformerBench"]),
        .executable(name: "paraformer-quantize", targets: ["paraformer-quantize"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        .systemLibrary(
            name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3f",
            providers: [.apt(["libfftw3-dev"]), .brew(["fftw"])]),
        .systemLibrary(
            name: "CSndfile", path: "Sources/CSndfile", pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"]), .brew(["libsndfile"])]),
        // Hand-written SIMD kernels (int8 products, row kernels): per-function target
        // attributes and run-time CPU dispatch, no build flags.
        .target(name: "CParaformerKernels", path: "Sources/CParaformerKernels"),
        .target(
            name: "ParaformerCore",
            dependencies: ["COpenBLAS", "CFFTW", "CSndfile", "CParaformerKernels"],
            path: "Sources/ParaformerCore"),
        .target(
            name: "ParaformerModels",
            dependencies: ["ParaformerCore"],
            path: "Sources/ParaformerModels"),
        .target(
            name: "Paraformer",
            dependencies: ["ParaformerCore", "ParaformerModels"],
            path: "Sources/Paraformer"),
        .target(
            name: "ParaformerDataSet",
            dependencies: ["Paraformer", "ParaformerCore"],
            path: "Sources/ParaformerDataSet"),
        .executableTarget(
            name: "paraformer-run",
            dependencies: [
                "Paraformer", "ParaformerCore", "ParaformerModels", "ParaformerDataSet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/paraformer-run"),
        .executableTarget(
            name: "paraformer-quantize",
            dependencies: [
                "ParaformerCore", "ParaformerModels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/paraformer-quantize"),
        .executableTarget(
            name: "ParaformerBench",
            dependencies: ["Paraformer", "ParaformerCore", "ParaformerModels"],
            path: "Benchmarks/ParaformerBench"),
        .testTarget(
            name: "ParaformerTests",
            dependencies: [
                "Paraformer", "ParaformerCore", "ParaformerModels", "ParaformerDataSet", "paraformer-run",
            ],
            path: "Tests/ParaformerTests",
            resources: [.copy("Fixtures")]),
    ]
)

// libFuzzer targets (issue #16), only when asked: Tools/fuzz.sh sets PARAFORMER_FUZZ=1 and
// builds them with -sanitize=fuzzer,address in .build/fuzz. A plain `swift build` / `swift test`
// never sees them (their main hands over to libFuzzer's driver, linked only with that flag).
if Context.environment["PARAFORMER_FUZZ"] != nil {
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"))
    for (name, dependencies) in [
        ("FuzzGGUF", ["ParaformerCore", "ParaformerModels"]), ("FuzzAudio", ["ParaformerCore"]),
        ("FuzzDataSet", ["ParaformerCore", "ParaformerDataSet"]),
        ("FuzzHotwords", ["Paraformer", "ParaformerCore"]),
        ("FuzzStream", ["Paraformer", "ParaformerCore"]),
    ] {
        package.targets.append(
            .executableTarget(
                name: name, dependencies: (["FuzzSupport"] + dependencies).map { .target(name: $0) },
                path: "Fuzz/\(name)"))
    }
}
