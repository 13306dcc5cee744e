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
}
