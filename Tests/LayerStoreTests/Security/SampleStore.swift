import Foundation
@testable import LayerStore

/// A small store holding every kind of file a reader meets, with its expected contents, and a
/// copy of its bytes to restore between damages:
/// - dimension "d": two plain (codec 0) segments from two flushes, small blocks, versions of
///   some keys in both, tombstones;
/// - dimension "z": one LZ4 (codec 1) segment from a compaction;
/// - two manifests (the flush's pair, then the compaction's);
/// - one WAL file with a dozen batches since the last flush, copied while the writer was still
///   open, so it keeps its preallocated zero tail (bytes nothing reads).
struct SampleStore {
    typealias Model = [String: [String: String]]

    static let dimensions = ["d", "z"]
    let path: String
    /// What a reader must see.
    let expected: Model
    /// The contents after the last flush and after each batch since: a WAL cut short may roll
    /// the store back to any of these (a consistent prefix), and to nothing older.
    let prefixes: [Model]
    /// Every key ever written, per dimension (deleted ones too: they must stay deleted).
    let keys: [String: [String]]
    /// The store's files (relative paths) and their bytes as first captured.
    let pristine: [(name: String, bytes: [UInt8])]

    static func make(at path: String, options: StoreOptions = testOptions { $0.blockByteCountTarget = 512 }) throws -> SampleStore {
        let store = try Store(path: path, options: options)
        var model: Model = [:]
        var keys: [String: Set<String>] = [:]
        func batch(_ ops: [(dim: String, key: String, value: String?)]) throws {
            _ = try store.write { b in
                for op in ops {
                    if let v = op.value { try b.put(v, forKey: op.key, in: op.dim) } else { try b.delete(forKey: op.key, in: op.dim) }
                }
            }
            for op in ops {
                model[op.dim, default: [:]][op.key] = op.value
                keys[op.dim, default: []].insert(op.key)
            }
        }
        func value(_ key: String, _ round: Int) -> String { String(repeating: "\(key)@\(round)/", count: 1 + Int(key.utf8.last! % 7)) }
        for start in stride(from: 0, to: 60, by: 5) {
            try batch((start..<start + 5).map { ("d", "key-\(pad($0))", value("key-\(pad($0))", 1)) })
        }
        for start in stride(from: 0, to: 80, by: 10) {
            try batch((start..<start + 10).map { ("z", "cold-\(pad($0))", value("cold-\(pad($0))", 1)) })
        }
        try store.flush()
        for start in stride(from: 40, to: 100, by: 6) {
            try batch((start..<start + 6).map { ("d", "key-\(pad($0))", value("key-\(pad($0))", 2)) })
        }
        try batch(stride(from: 0, to: 100, by: 9).map { ("d", "key-\(pad($0))", nil) })
        try batch(stride(from: 0, to: 80, by: 3).map { ("z", "cold-\(pad($0))", value("cold-\(pad($0))", 2)) })
        try store.flush()
        var compaction = CompactionOptions()
        compaction.dimension = "z"
        compaction.compression = .lz4
        _ = try store.compact(compaction)
        var prefixes = [model]
        for round in 0..<12 {
            let dim = round % 3 == 0 ? "z" : "d"
            let base = dim == "z" ? "cold" : "key"
            try batch((0..<3).map { i in
                let key = "\(base)-\(pad((round * 7 + i * 13) % 100))"
                return (dim, key, (round + i) % 4 == 0 ? nil : value(key, 3 + round))
            })
            prefixes.append(model)
        }
        let pristine = SampleStore.files(under: path).map { ($0, [UInt8](FileManager.default.contents(atPath: path + "/" + $0)!)) }
        try store.close()
        return SampleStore(path: path, expected: model, prefixes: prefixes,
                           keys: keys.mapValues { $0.sorted() }, pristine: pristine)
    }

    /// Puts the store back as first captured: removes files that appeared, rewrites every file.
    func restore() {
        let names = Set(pristine.map(\.name))
        for name in SampleStore.files(under: path) where !names.contains(name) {
            try? FileManager.default.removeItem(atPath: path + "/" + name)
        }
        for (name, bytes) in pristine { ByteSurgery.write(path + "/" + name, bytes) }
    }

    /// The regular files below `root`, relative to it, sorted.
    static func files(under root: String) -> [String] {
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

private func pad(_ i: Int) -> String {
    let s = String(i)
    return String(repeating: "0", count: max(0, 3 - s.count)) + s
}
