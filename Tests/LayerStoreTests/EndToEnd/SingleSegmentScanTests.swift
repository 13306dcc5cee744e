import Testing
@testable import LayerStore

/// Scans of a dimension held by one segment and no memtable (the merge-free path) agree with
/// the general merge: newest version per key, tombstones hidden, prefix bounds respected.
@Suite struct SingleSegmentScanTests {
    func scan(_ store: Store, prefix: String = "") throws -> [String: String] {
        var out: [String: String] = [:]
        var keys: [String] = []
        try store.scan("d", prefix: Array(prefix.utf8)) { key, value in
            let k = key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            keys.append(k)
            out[k] = value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            return true
        }
        #expect(keys == keys.sorted() && Set(keys).count == keys.count, "key order, each key once")
        return out
    }

    @Test func versionsTombstonesAndPrefixesInOneSegment() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        var model: [String: String] = [:]
        // Several versions of the same keys land in one memtable, hence one segment.
        for round in 0..<3 {
            try store.write { batch in
                for i in 0..<300 {
                    let key = "k\(i % 100 < 10 ? "0" : "")\(i % 100)-\(i / 100)"
                    try batch.put("v\(round)-\(i)", forKey: key, in: "d")
                    model[key] = "v\(round)-\(i)"
                }
            }
        }
        for i in stride(from: 0, to: 100, by: 7) {
            let key = "k\(i < 10 ? "0" : "")\(i)-1"
            try store.delete(forKey: key, in: "d")
            model[key] = nil
        }
        try store.flush()
        #expect(store.currentState().segments["d"]?.count == 1)
        #expect(try scan(store) == model)
        #expect(try scan(store, prefix: "k4") == model.filter { $0.key.hasPrefix("k4") })
        #expect(try scan(store, prefix: "k99-2") == model.filter { $0.key.hasPrefix("k99-2") })
        #expect(try scan(store, prefix: "zz").isEmpty)
        // A snapshot taken before a later write does not see it (the memtable then takes part).
        var early = 0
        let snapshot = try store.snapshot()
        try store.put("late", forKey: "k00-0", in: "d")
        try snapshot.scan("d") { _, _ in early += 1; return true }
        #expect(early == model.count)
        #expect(try scan(store)["k00-0"] == "late")
        // Stopping early stops.
        var seen = 0
        try store.scan("d") { _, _ in seen += 1; return seen < 5 }
        #expect(seen == 5)
        try store.close()
    }

    /// A segment whose every key has one record (the header's key count equals its record
    /// count): the walk skips the comparison with the previous key, and still hides tombstones
    /// and keeps each key once, in order.
    @Test func oneRecordPerKeyInOneSegment() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        var model: [String: String] = [:]
        try store.write { batch in
            for i in 0..<500 {
                let key = "k" + String(1000 + i)
                if i % 9 == 4 {
                    try batch.delete(forKey: key, in: "d")
                } else {
                    try batch.put("v\(i)", forKey: key, in: "d")
                    model[key] = "v\(i)"
                }
            }
        }
        try store.flush()
        let segment = try #require(store.currentState().segments.made("d").first)
        #expect(segment.header.keyCount == segment.header.recordCount)
        #expect(try scan(store) == model)
        #expect(try scan(store, prefix: "k12") == model.filter { $0.key.hasPrefix("k12") })
        try store.close()
    }

    /// A dimension loaded in key order across flushes: segments with disjoint key ranges, scanned
    /// one after another without a merge. Then a write into one's range makes them overlap
    /// (the merge takes over): both ways read the model, prefixes across the boundaries included.
    @Test func disjointSegmentsScanInKeyOrderAndOverlappingOnesStillMerge() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        var model: [String: String] = [:]
        func key(_ i: Int) -> String { "k" + String(1000 + i) }
        // Three flushes in key order, flushed in an order that is not key order.
        for part in [1, 0, 2] {
            try store.write { batch in
                for i in (part * 300)..<(part * 300 + 300) {
                    for version in 0..<(i % 3 + 1) {
                        try batch.put("v\(version)-\(i)", forKey: key(i), in: "d")
                        model[key(i)] = "v\(version)-\(i)"
                    }
                }
                for i in stride(from: part * 300, to: part * 300 + 300, by: 13) {
                    try batch.delete(forKey: key(i), in: "d")
                    model[key(i)] = nil
                }
            }
            try store.flush()
        }
        #expect(store.currentState().segments["d"]?.count == 3)
        #expect(try scan(store) == model)
        for prefix in ["k12", "k129", "k13", "k15", "k1599", "k16", "k9"] {
            #expect(try scan(store, prefix: prefix) == model.filter { $0.key.hasPrefix(prefix) }, "\(prefix)")
        }
        for stopAfter in [1, 299, 300, 301, 600, 650] {
            var seen: [String] = []
            try store.scan("d") { k, _ in
                seen.append(k.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
                return seen.count < stopAfter
            }
            #expect(seen == Array(model.keys.sorted().prefix(stopAfter)), "\(stopAfter)")
        }
        // A newer segment inside an older one's range: the segments overlap, the merge reads.
        try store.put("new", forKey: key(450), in: "d")
        try store.delete(forKey: key(451), in: "d")
        try store.flush()
        model[key(450)] = "new"
        model[key(451)] = nil
        #expect(store.currentState().segments["d"]?.count == 4)
        #expect(try scan(store) == model)
        #expect(try scan(store, prefix: "k14") == model.filter { $0.key.hasPrefix("k14") })
        try store.close()
    }
}
