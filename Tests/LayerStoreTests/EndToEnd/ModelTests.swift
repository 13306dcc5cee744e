import Foundation
import Testing
@testable import LayerStore

/// Randomized end-to-end runs checked against an in-memory model: writes, deletes, flushes,
/// reopens, snapshots, scans.
@Suite struct ModelTests {
    typealias Model = [String: [[UInt8]: [UInt8]]]

    static func check(_ store: Store, _ model: Model, _ dims: [String], _ context: String) throws {
        let snapshot = try store.snapshot()
        for dim in dims {
            let expected = (model[dim] ?? [:]).sorted { a, b in a.key.lexicographicallyPrecedes(b.key) }
            let got = try snapshot.records(in: dim)
            #expect(got.map(\.key) == expected.map(\.key), "\(context): keys of \(dim)")
            #expect(got.map(\.value) == expected.map(\.value), "\(context): values of \(dim)")
            for (key, value) in expected.prefix(20) {
                #expect(try store.value(forKey: key, in: dim) == value, "\(context)")
            }
        }
    }

    @Test(arguments: [UInt64(11), 12, 13, 14])
    func randomWritesFlushesAndReopensMatchTheModel(seed: UInt64) throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        var rng = SeededRandom(seed: seed)
        let dims = ["a", "b", "c"]
        var model: Model = [:]
        var options = testOptions { $0.memtableByteCountMax = 16 << 10; $0.flushInBackground = seed % 2 == 0 }
        if seed == 13 { options.durability = .bufferedUnsynced }
        var store: Store? = try Store(path: path, options: options)
        for step in 0..<400 {
            var batch = WriteBatch()
            var staged = model
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let dim = dims.randomElement(using: &rng)!
                let key = Array("k\(Int.random(in: 0..<60, using: &rng))".utf8) + (Bool.random(using: &rng) ? [0, 255] : [])
                if Int.random(in: 0..<5, using: &rng) == 0 {
                    try batch.delete(forKey: key, in: dim)
                    staged[dim, default: [:]][key] = nil
                } else {
                    let value = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    try batch.put(value, forKey: key, in: dim)
                    staged[dim, default: [:]][key] = value
                }
            }
            try store!.commit(batch)
            model = staged
            switch Int.random(in: 0..<40, using: &rng) {
            case 0: try store!.flush()
            case 1:
                try store!.close()
                store = try Store(path: path, options: options)
            case 2: try Self.check(store!, model, dims, "seed \(seed) step \(step)")
            default: break
            }
        }
        try Self.check(store!, model, dims, "seed \(seed) end")
        try store!.close()
        store = try Store(path: path, options: options)
        try Self.check(store!, model, dims, "seed \(seed) reopened")
    }

    @Test func aSnapshotStaysFixedAcrossWritesFlushesAndDeletes() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        for i in 0..<50 { try store.put("v\(i)", forKey: "k\(i)", in: "d") }
        let before = try store.snapshot()
        let expected = try before.records(in: "d")
        for i in 0..<50 where i % 2 == 0 { try store.delete(forKey: "k\(i)", in: "d") }
        try store.put("new", forKey: "k1", in: "d")
        try store.flush()
        try store.put("newer", forKey: "k3", in: "d")
        try store.flush()
        #expect(try before.records(in: "d") == expected)
        #expect(try before.string(forKey: "k1", in: "d") == "v1")
        #expect(try before.string(forKey: "k0", in: "d") == "v0")
        let after = try store.snapshot()
        #expect(try after.string(forKey: "k1", in: "d") == "new")
        #expect(try after.string(forKey: "k0", in: "d") == nil)
        #expect(try after.records(in: "d").count == 25)
    }

    @Test func prefixScansMergeMemtableAndSegments() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        for i in 0..<30 { try store.put("seg\(i)", forKey: "p\(i % 3)-\(i)", in: "d") }
        try store.flush()
        for i in 0..<30 where i % 5 == 0 { try store.put("mem\(i)", forKey: "p\(i % 3)-\(i)", in: "d") }
        try store.delete(forKey: "p1-1", in: "d")
        let p1 = try store.snapshot().records(in: "d", prefix: Array("p1-".utf8))
        let keys = p1.map { String(decoding: $0.key, as: UTF8.self) }
        #expect(keys == (0..<30).filter { $0 % 3 == 1 && $0 != 1 }.map { "p1-\($0)" }.sorted())
        for r in p1 {
            let i = Int(String(decoding: r.key, as: UTF8.self).dropFirst(3))!
            #expect(String(decoding: r.value, as: UTF8.self) == (i % 5 == 0 ? "mem\(i)" : "seg\(i)"))
        }
        var stopped: [String] = []
        try store.scan("d") { key, _ in
            stopped.append(key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
            return stopped.count < 3
        }
        #expect(stopped.count == 3)
        #expect(try store.snapshot().records(in: "d", prefix: Array("zz".utf8)).isEmpty)
        #expect(try store.snapshot().records(in: "never").isEmpty)
    }
}
