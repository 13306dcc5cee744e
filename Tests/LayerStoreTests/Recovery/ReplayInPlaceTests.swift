import Foundation
import Testing
@testable import LayerStore

/// A replay points the memtable into the WAL's mapping (a writer) or its copy (a read-only
/// opener) instead of copying each record: the values must stay right for as long as anything
/// can read them, also after a flush removed the WAL files they came from.
@Suite struct ReplayInPlaceTests {
    /// Keys in two dimensions, some overwritten, some deleted; the model of what a read sees.
    func write(_ store: Store) throws -> [String: [String: String]] {
        var model: [String: [String: String]] = ["a": [:], "b": [:]]
        for round in 0..<3 {
            var batch = WriteBatch()
            for i in 0..<400 {
                let dim = i.isMultiple(of: 2) ? "a" : "b"
                let key = "key-\(i)"
                if round == 2 && i.isMultiple(of: 7) {
                    try batch.delete(forKey: key, in: dim)
                    model[dim]![key] = nil
                } else if round == 0 || i.isMultiple(of: 3) {
                    let value = String(repeating: "v\(round)-\(i)|", count: 1 + i % 5)
                    try batch.put(value, forKey: key, in: dim)
                    model[dim]![key] = value
                }
            }
            _ = try store.commit(batch)
        }
        return model
    }

    func expectMatches(_ model: [String: [String: String]], _ read: (String, String) throws -> String?) throws {
        for (dim, entries) in model {
            for i in 0..<400 {
                let key = "key-\(i)"
                #expect(try read(key, dim) == entries[key], "\(dim)/\(key)")
            }
        }
    }

    @Test func replayedValuesOutliveTheWALFilesTheyCameFrom() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let first = try Store(path: path, options: testOptions())
        let model = try write(first)
        try first.close()
        let walBefore = try FileManager.default.contentsOfDirectory(atPath: path + "/wal").filter { $0.hasSuffix(".wal") }

        // A read-only opener replays from its own copy of the files.
        var readOnly = testOptions()
        readOnly.readOnly = true
        let reader = try Store(path: path, options: readOnly)
        #expect(reader.recoveryReport.replayedOperationCount == 706)  // 400 + 134 + (58 deletes + 114 puts)
        try expectMatches(model) { try reader.string(forKey: $0, in: $1) }

        let store = try Store(path: path, options: testOptions())
        #expect(store.recoveryReport.replayedOperationCount == 706)  // 400 + 134 + (58 deletes + 114 puts)
        let snapshot = try store.snapshot()
        try expectMatches(model) { try snapshot.string(forKey: $0, in: $1) }
        try store.flush()
        let walAfter = try FileManager.default.contentsOfDirectory(atPath: path + "/wal").filter { $0.hasSuffix(".wal") }
        #expect(Set(walBefore).isDisjoint(with: walAfter), "the flush removed the replayed WAL files")
        // The snapshot still reads the replayed memtable, whose bytes came from those files.
        try expectMatches(model) { try snapshot.string(forKey: $0, in: $1) }
        #expect(try snapshot.records(in: "a").count == model["a"]!.count)
        try expectMatches(model) { try store.string(forKey: $0, in: $1) }
        try expectMatches(model) { try reader.string(forKey: $0, in: $1) }
        try reader.close()
        try store.close()
    }

    /// Several WAL files, each with enough operations over several dimensions to be inserted
    /// on two threads while the next file is read: every key reads back as the model says, for
    /// a writer (mapped files) and for a read-only opener (copies).
    @Test func aReplayOfManyFilesInsertedInTheBackgroundLosesNothing() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        var options = testOptions()
        options.walFileByteCount = 2 << 20
        options.memtableByteCountMax = 1 << 30
        let dimensions = ["w", "x", "y", "z"]
        var model: [String: [String: String]] = [:]
        var random = SeededRandom(seed: 0xF11E5)
        let first = try Store(path: path, options: options)
        var operations = 0
        for round in 0..<200 {
            var batch = WriteBatch()
            for _ in 0..<1000 {
                let dim = dimensions[Int.random(in: 0..<(round.isMultiple(of: 3) ? 4 : 2), using: &random)]
                let key = "k\(Int.random(in: 0..<40_000, using: &random))"
                if Int.random(in: 0..<8, using: &random) == 0 {
                    try batch.delete(forKey: key, in: dim)
                    model[dim, default: [:]][key] = nil
                } else {
                    let value = "\(round)-\(key)"
                    try batch.put(value, forKey: key, in: dim)
                    model[dim, default: [:]][key] = value
                }
            }
            operations += batch.count
            _ = try first.commit(batch)
        }
        try first.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: path + "/wal").filter { $0.hasSuffix(".wal") }
        #expect(files.count >= 3, "\(files)")

        var readOnly = options
        readOnly.readOnly = true
        for opts in [options, readOnly] {
            let store = try Store(path: path, options: opts)
            #expect(store.recoveryReport.replayedOperationCount == operations)
            for dim in dimensions {
                let records = try store.snapshot().records(in: dim)
                #expect(records.count == model[dim, default: [:]].count, "\(dim)")
                for record in records {
                    let key = String(decoding: record.key, as: UTF8.self)
                    #expect(model[dim]?[key] == String(decoding: record.value, as: UTF8.self), "\(dim)/\(key)")
                }
            }
            #expect(try store.string(forKey: "absent", in: "w") == nil)
            try store.close()
        }
    }
}
