import Foundation
import LayerStoreWorkload
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

/// Seeded, reproducible random numbers for tests: the workload's splitmix64.
typealias SeededRandom = SplitMix64

/// Options for small, fast test stores.
func testOptions(_ adjust: (inout StoreOptions) -> Void = { _ in }) -> StoreOptions {
    var o = StoreOptions()
    o.walFileByteCount = 1 << 20
    o.memtableByteCountMax = 1 << 20
    o.blockByteCountTarget = 1024
    adjust(&o)
    return o
}
