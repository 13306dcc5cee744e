// swift-tools-version:6.1
//
// LayerStore's benchmarks, in their own package so the main package stays free of benchmark
// dependencies and of the peers it is compared with.
// - The side-by-side run against LMDB, SQLite and RocksDB on the standard workload (seed-280):
//     tools/bench/setup.sh && swift run -c release --package-path tools/bench bench [--quick]
// - Microbenchmarks of the hot paths with malloc counts (ordo-one/benchmark):
//     swift package --package-path tools/bench benchmark --no-progress

import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its directory, so the root package's identity is the
/// name of the clone's directory (`main` here, anything in another checkout).
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let rootPackage = root.lastPathComponent.lowercased()

let strictSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "LayerStoreBench",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bench", targets: ["bench"]),
    ],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The peers' C APIs, from Debian's -dev packages (tools/bench/setup.sh installs them).
        .systemLibrary(name: "CLMDB", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CRocksDB", providers: [.apt(["librocksdb-dev"])]),
        // The limits: XXH3 and LZ4 as the machine runs them (the root's targets are not products).
        .systemLibrary(name: "CBenchXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        .systemLibrary(name: "CBenchLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        // The pure part: statistics, figures, targets and the report writers (tested).
        .target(
            name: "BenchReport",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "bench",
            dependencies: [
                "BenchReport", "CLMDB", "CSQLite", "CRocksDB", "CBenchXXHash", "CBenchLZ4",
                .product(name: "LayerStore", package: rootPackage),
                .product(name: "LayerStoreWorkload", package: rootPackage),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "BenchReportTests",
            dependencies: [
                "BenchReport",
                .product(name: "LayerStoreWorkload", package: rootPackage),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "LayerStoreBenchmarks",
            dependencies: [
                .product(name: "LayerStore", package: rootPackage),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LayerStoreBenchmarks",
            swiftSettings: strictSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
