// swift-tools-version:5.9
import PackageDescription

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
            name: "Paraformer",
            dependencies: ["COpenBLAS", "CFFTW", "CSndfile", "CParaformerKernels"],
            path: "Sources/Paraformer"),
        .executableTarget(
            name: "paraformer-run",
            dependencies: [
                "Paraformer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/paraformer-run"),
        .executableTarget(
            name: "paraformer-quantize",
            dependencies: [
                "Paraformer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/paraformer-quantize"),
        .executableTarget(
            name: "ParaformerBench",
            dependencies: ["Paraformer"],
            path: "Benchmarks/ParaformerBench"),
        .testTarget(
            name: "ParaformerTests",
            dependencies: ["Paraformer", "paraformer-run"],
            path: "Tests/ParaformerTests",
            resources: [.copy("Fixtures")]),
    ]
)
