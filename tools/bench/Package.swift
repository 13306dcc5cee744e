// swift-tools-version:6.1
//
// LayerStore's benchmarks, in their own package so the main package stays free of benchmark
// dependencies. Microbenchmarks of the hot paths with malloc counts (ordo-one/benchmark):
//   swift package --package-path tools/bench benchmark --no-progress
// The side-by-side comparison with LMDB, SQLite and RocksDB (issue: benchmarks) will live here too.

import PackageDescription

let package = Package(
    name: "LayerStoreBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "LayerStoreBenchmarks",
            dependencies: [
                .product(name: "LayerStore", package: "main"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LayerStoreBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
