// swift-tools-version:6.1
//
// libFuzzer targets for LayerStore's readers, in their own package: an executable whose only
// entry point is `LLVMFuzzerTestOneInput` links only with `-sanitize=fuzzer`, so the root
// package never sees these targets. Built and run by tools/fuzz.sh:
//   swift build --package-path tools/fuzz --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address --product FuzzWAL
// (one combined -sanitize flag: SwiftPM passes two separate ones and the compiler keeps the last)
// (debug only: a release build runs without coverage feedback).

import PackageDescription

let settings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "LayerStoreFuzz",
    dependencies: [
        // Named, so that the product reference does not depend on the name of the directory the
        // repository was cloned into (a path dependency's identity is its last path component).
        .package(name: "LayerStore", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "FuzzWAL",
            dependencies: [.product(name: "LayerStore", package: "LayerStore")],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "FuzzSegment",
            dependencies: [.product(name: "LayerStore", package: "LayerStore")],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "FuzzManifest",
            dependencies: [.product(name: "LayerStore", package: "LayerStore")],
            swiftSettings: settings
        ),
        .executableTarget(
            name: "FuzzStore",
            dependencies: [.product(name: "LayerStore", package: "LayerStore")],
            swiftSettings: settings
        ),
    ]
)
