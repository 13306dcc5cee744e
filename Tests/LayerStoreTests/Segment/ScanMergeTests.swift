import Testing
@testable import LayerStore

/// The scan's merge of several segments and memtable entries (runs bounded by the other
/// sources' keys) agrees with a model: the newest version of each key as of the snapshot LSN,
/// tombstones hidden, prefixes and early stops respected; both on hand-built sources and
/// through a store with several flushes, overwrites, deletes and unflushed writes.
@Suite struct ScanMergeTests {
    typealias Version = SegmentTests.Version

    /// Keys over a small alphabet (so prefixes and interleaving are common), each with up to
    /// four versions at increasing LSNs, some tombstones.
    static func model(seed: UInt64, keys: Int) -> [[UInt8]: [Version]] {
        var rng = SeededRandom(seed: seed)
        var model: [[UInt8]: [Version]] = [:]
        var lsn: LSN = 10
        for _ in 0..<keys {
            let key = (0..<Int.random(in: 1...6, using: &rng)).map { _ in UInt8.random(in: 0...3, using: &rng) }
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let isDelete = Int.random(in: 0..<5, using: &rng) == 0
                model[key, default: []].append(Version(lsn: lsn, value: isDelete ? nil : Array("v\(lsn)".utf8)))
                lsn += 1
            }
        }
        return model
    }

    /// What a scan as of `lsn` with `prefix` returns.
    static func expected(_ model: [[UInt8]: [Version]], lsn: LSN, prefix: [UInt8]) -> [([UInt8], [UInt8])] {
        model.compactMap { key, versions -> ([UInt8], [UInt8])? in
            guard key.starts(with: prefix), let newest = versions.filter({ $0.lsn <= lsn }).max(by: { $0.lsn < $1.lsn }),
                let value = newest.value
            else { return nil }
            return (key, value)
        }.sorted { a, b in a.0.lexicographicallyPrecedes(b.0) }
    }

    static func scan(_ sources: () throws -> [ScanSource], lsn: LSN, prefix: [UInt8], limit: Int = .max) throws -> [([UInt8], [UInt8])] {
        var out: [([UInt8], [UInt8])] = []
        try prefix.withUnsafeBytes { p in
            var merge = try ScanMerge(try sources(), lsn: lsn)
            try merge.run(prefix: p) { key, value in
                out.append((key.withUnsafeBytes { [UInt8]($0) }, value.withUnsafeBytes { [UInt8]($0) }))
                return out.count < limit
            }
        }
        return out
    }

    /// The model's versions split by LSN into `segmentCount` segments (disjoint LSN ranges, as
    /// flushes make them) and memtable entries for the newest range; the sources are rebuilt for
    /// each scan (a cursor is consumed).
    @Test(arguments: [(UInt64(1), 2), (2, 3), (3, 5), (4, 1)])
    func handBuiltSourcesAgreeWithTheModel(seed: UInt64, segmentCount: Int) throws {
        let dir = TemporaryDirectory()
        let model = Self.model(seed: seed, keys: 500)
        let lsns = model.values.flatMap { $0 }.map(\.lsn)
        let (low, high) = (lsns.min()!, lsns.max()! + 1)
        let parts = segmentCount + 1  // the last part stays in the "memtable"
        func part(_ lsn: LSN) -> Int { Int((lsn - low) * LSN(parts) / (high - low)) }
        var segments: [Segment] = []
        for s in 0..<segmentCount {
            var slice: [[UInt8]: [Version]] = [:]
            for (key, versions) in model {
                let mine = versions.filter { part($0.lsn) == s }
                if !mine.isEmpty { slice[key] = mine }
            }
            let id = UInt64(10 + s)
            let path = dir.child(SegmentName.fileName(id: id, version: 1))
            ByteSurgery.write(path, try SegmentTests.build(slice, id: id, blockSize: 256))
            segments.insert(try SegmentTests.open(path, id: id), at: 0)  // newest first
        }
        for lsn in [low - 1, low + (high - low) / 3, low + (high - low) * 2 / 3, high] {
            // Memtable entries: the newest visible version in the last part, per key.
            var entries: [MemEntry] = []
            for (key, versions) in model {
                if let v = versions.filter({ part($0.lsn) == segmentCount && $0.lsn <= lsn }).max(by: { $0.lsn < $1.lsn }) {
                    entries.append(MemEntry(key: key, version: MemVersion(lsn: v.lsn, isDelete: v.value == nil, value: v.value ?? [])))
                }
            }
            entries.sort { a, b in a.key.lexicographicallyPrecedes(b.key) }
            let arena = ByteArena()
            for prefix in [[], [0], [2, 1], [3, 3, 3], [9]] as [[UInt8]] {
                let sources = { () throws -> [ScanSource] in
                    var out = [ScanSource(entries.filter { $0.key.starts(with: prefix) }, arena: arena)]
                    try prefix.withUnsafeBytes { p in
                        for segment in segments { out.append(ScanSource(try SegmentCursor(segment: segment, from: p))) }
                    }
                    return out
                }
                let want = Self.expected(model, lsn: lsn, prefix: prefix)
                let got = try Self.scan(sources, lsn: lsn, prefix: prefix)
                #expect(got.map(\.0) == want.map(\.0), "keys as of \(lsn), prefix \(prefix)")
                #expect(got.map(\.1) == want.map(\.1), "values as of \(lsn), prefix \(prefix)")
                // Stopping early stops, after exactly the first records.
                let stopped = try Self.scan(sources, lsn: lsn, prefix: prefix, limit: 3)
                #expect(stopped.map(\.0) == Array(want.prefix(3)).map(\.0))
            }
        }
    }

    /// Through a store: several flushes (so several segments per dimension), overwrites and
    /// deletes of keys in older segments, and unflushed writes in the memtable.
    @Test func storeWithSeveralSegmentsAndAMemtableAgreesWithTheModel() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        var rng = SeededRandom(seed: 280)
        var model: [String: String] = [:]
        var snapshots: [(Snapshot, [String: String])] = []
        for round in 0..<5 {
            try store.write { batch in
                for i in 0..<400 {
                    let key = "k\(Int.random(in: 0..<900, using: &rng) + 1000)"
                    if Int.random(in: 0..<6, using: &rng) == 0 {
                        try batch.delete(forKey: key, in: "d")
                        model[key] = nil
                    } else {
                        let value = "r\(round)-\(i)"
                        try batch.put(value, forKey: key, in: "d")
                        model[key] = value
                    }
                }
            }
            snapshots.append((try store.snapshot(), model))
            if round < 4 { try store.flush() }
        }
        #expect((store.currentState().segments["d"]?.count ?? 0) >= 4)
        #expect(store.currentState().memtables.contains { !$0.isEmpty })
        func scan(_ read: (String, [UInt8], (RawSpan, RawSpan) -> Bool) throws -> Void, prefix: String = "") throws -> [(String, String)] {
            var out: [(String, String)] = []
            try read("d", Array(prefix.utf8)) { key, value in
                out.append((key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }, value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }))
                return true
            }
            return out
        }
        func sorted(_ m: [String: String], prefix: String = "") -> [(String, String)] {
            m.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        for prefix in ["", "k1", "k15", "k1899", "z"] {
            let got = try scan({ try store.scan($0, prefix: $1, $2) }, prefix: prefix)
            let want = sorted(model, prefix: prefix)
            #expect(got.map(\.0) == want.map(\.0) && got.map(\.1) == want.map(\.1), "prefix \(prefix)")
        }
        // Each snapshot still sees the store as it was, whatever was flushed or written since.
        for (i, (snapshot, then)) in snapshots.enumerated() {
            let got = try scan({ try snapshot.scan($0, prefix: $1, $2) })
            let want = sorted(then)
            #expect(got.map(\.0) == want.map(\.0) && got.map(\.1) == want.map(\.1), "snapshot \(i)")
        }
        try store.close()
    }
}
