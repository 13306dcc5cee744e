import Foundation
@testable import LayerStore

/// A fresh directory under the system temp dir, removed when the value is released.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init(_ label: String = "store") {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/layerstore-test-\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A path inside the directory that does not exist yet.
    func child(_ name: String) -> String { path + "/" + name }

    /// Names of files below `sub` (recursively), sorted, relative to `path`.
    func files(under sub: String = "") -> [String] {
        let root = sub.isEmpty ? path : path + "/" + sub
        guard let e = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        while let name = e.nextObject() as? String {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDir)
            if !isDir.boolValue { out.append(name) }
        }
        return out.sorted()
    }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

/// Splitmix64: deterministic pseudo-random numbers for reproducible tests.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Options for small, fast test stores.
func testOptions(_ adjust: (inout StoreOptions) -> Void = { _ in }) -> StoreOptions {
    var o = StoreOptions()
    o.walFileByteCount = 1 << 20
    o.memtableByteCountMax = 1 << 20
    o.blockByteCountTarget = 1024
    adjust(&o)
    return o
}
