// swift-tools-version:6.1
//
// LayerStore: an embedded, append-only, persistent storage engine.
// The library lives in Sources/LayerStore; the `layerstore` CLI in tools/layerstore.

import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "LayerStore",
    products: [
        .library(name: "LayerStore", targets: ["LayerStore"]),
        // The seed-280 workload generator, shared by the CLI's demo and the benchmark package.
        .library(name: "LayerStoreWorkload", targets: ["LayerStoreWorkload"]),
        .executable(name: "layerstore", targets: ["layerstore"]),
        .executable(name: "layerstore-torture", targets: ["layerstore-torture"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CXXHash",
            pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"])]
        ),
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // A header-only module: the software prefetch the hash tables use.
        .systemLibrary(name: "CPrefetch"),
        .systemLibrary(name: "CWriteBack"),
        .target(
            name: "LayerStore",
            dependencies: ["CXXHash", "CLZ4", "CPrefetch", "CWriteBack", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "LayerStoreWorkload",
            path: "tools/workload",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "layerstore",
            dependencies: [
                "LayerStore",
                "LayerStoreWorkload",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/layerstore",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "layerstore-torture",
            dependencies: ["LayerStore"],
            path: "tools/torture",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LayerStoreTests",
            dependencies: ["LayerStore", "LayerStoreWorkload"],
            // Inputs a fuzzer once crashed on: read from the source tree by path, not bundled.
            exclude: ["Security/FuzzInputs"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LayerStoreCLITests",
            dependencies: ["LayerStore", "LayerStoreWorkload", "layerstore"],
            swiftSettings: strictSettings
        ),
    ]
)
