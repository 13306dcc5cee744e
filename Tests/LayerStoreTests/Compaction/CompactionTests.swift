import Foundation
import Testing
@testable import LayerStore

@Suite struct CompactionTests {
    typealias Model = [String: [UInt8]]

    /// Four flushed generations of overlapping writes and deletes, plus unflushed ones.
    func fill(_ store: Store, seed: UInt64) throws -> Model {
        var rng = SeededRandom(seed: seed)
        var model: Model = [:]
        for round in 0..<5 {
            for _ in 0..<300 {
                let key = "key-\(Int.random(in: 0..<200, using: &rng))"
                if Int.random(in: 0..<6, using: &rng) == 0 {
                    try store.delete(forKey: key, in: "d")
                    model[key] = nil
                } else {
                    let value = [UInt8](repeating: UInt8(round), count: Int.random(in: 1...400, using: &rng))
                    try store.put(value, forKey: Array(key.utf8), in: "d")
                    model[key] = value
                }
            }
            if round < 4 { try store.flush() }
        }
        return model
    }

    func check(_ store: Store, _ model: Model) throws {
        let records = try store.snapshot().records(in: "d")
        #expect(records.count == model.count)
        for r in records { #expect(model[String(decoding: r.key, as: UTF8.self)] == r.value) }
        for (key, value) in model { #expect(try store.value(forKey: Array(key.utf8), in: "d") == value) }
    }

    @Test(arguments: [CompactionOptions.Compression.none, .lz4])
    func compactionKeepsEveryVisibleValueAndDropsTheRest(_ compression: CompactionOptions.Compression) throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        let model = try fill(store, seed: 3)
        let before = try store.snapshot()
        let beforeRecords = try before.records(in: "d")
        var options = CompactionOptions()
        options.compression = compression
        options.targetSegmentByteCount = 1 << 16
        let report = try store.compact(options)
        let d = try #require(report.dimensions.first)
        #expect(d.segmentsBefore == 4)
        #expect(d.segmentsAfter >= 1)
        #expect(d.recordsAfter < d.recordsBefore)
        #expect(d.versionsDropped > 0)
        #expect(d.recordsBefore == d.recordsAfter + d.versionsDropped + d.tombstonesDropped)
        #expect(d.compressedSegments == (compression == .lz4 ? d.segmentsAfter : 0))
        #expect(d.removed.count == 4)
        try check(store, model)
        // A snapshot from before still reads its own view, from the old (unlinked) files.
        #expect(try before.records(in: "d") == beforeRecords)
        // Only the outputs are on disk, and the store reopens to the same contents.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.child("s/dims/d")).sorted() == d.written.map { String($0.split(separator: "/").last!) }.sorted())
        try store.close()
        let reopened = try Store(path: dir.child("s"), options: testOptions())
        try check(reopened, model)
        #expect(reopened.recoveryReport.removedUnpublishedSegments.isEmpty)
    }

    @Test func keepVersionsKeepsOlderVersionsAndColdAfterPicksSegmentsByAge() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        for v in 0..<3 {
            for k in 0..<50 { try store.put("v\(v)", forKey: "k\(k)", in: "d") }
            try store.flush()
        }
        var keep2 = CompactionOptions()
        keep2.keepVersions = 2
        keep2.compression = .lz4OlderThan(seconds: 3600)  // nothing is an hour old: stays hot
        let report = try store.compact(keep2)
        #expect(report.dimensions[0].recordsAfter == 100)
        #expect(report.dimensions[0].compressedSegments == 0)
        var cold = CompactionOptions()
        cold.compression = .lz4OlderThan(seconds: 0)
        let second = try store.compact(cold)
        #expect(second.dimensions[0].recordsAfter == 50)
        #expect(second.dimensions[0].compressedSegments == second.dimensions[0].segmentsAfter)
        for k in 0..<50 { #expect(try store.string(forKey: "k\(k)", in: "d") == "v2") }
        // A one-segment rewrite is a new version of the same segment.
        #expect(second.dimensions[0].written.allSatisfy { $0.hasSuffix("-00000002.seg") })
    }

    @Test func readersKeepReadingDuringCompaction() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        let model = try fill(store, seed: 9)
        let failures = Locked(0)
        let stop = Locked(false)
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                while !stop.withLock({ $0 }) {
                    for (key, value) in model.prefix(40) {
                        if (try? store.value(forKey: Array(key.utf8), in: "d")) != value { failures.withLock { $0 += 1 } }
                    }
                }
            }.start()
        }
        for round in 0..<3 {
            var options = CompactionOptions()
            options.compression = round == 1 ? .lz4 : .none
            options.targetSegmentByteCount = 1 << 16
            _ = try store.compact(options)
        }
        stop.withLock { $0 = true }
        group.wait()
        #expect(failures.withLock { $0 } == 0)
        try check(store, model)
    }

    @Test func notEnoughSpaceRefusesBeforeTouchingAnything() throws {
        let dir = TemporaryDirectory()
        let io = FaultInjectingFileIO()
        let store = try Store(path: dir.child("s"), options: testOptions(), io: io)
        let model = try fill(store, seed: 5)
        store.writer!.withLock { $0.wal.waitForSparePreparation() }  // (no file appears meanwhile)
        let files = dir.files(under: "s")
        io.availableOverride = 1000
        do { _ = try store.compact(); Issue.record("compacted without space") } catch {
            #expect(error.code == .noSpace)
        }
        #expect(dir.files(under: "s") == files)
        try check(store, model)
    }

    @Test(arguments: [FaultInjectingFileIO.Operation.write, .sync, .rename, .syncDirectory])
    func aFailedCompactionLeavesTheOldState(_ operation: FaultInjectingFileIO.Operation) throws {
        let dir = TemporaryDirectory()
        let io = FaultInjectingFileIO()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions(), io: io)
        let model = try fill(store, seed: 7)
        io.fail(operation, pathContains: operation == .rename ? "MANIFEST" : (operation == .syncDirectory ? "dims" : ".seg"))
        #expect(throws: StoreError.self) { _ = try store.compact() }
        io.clear()
        try check(store, model)
        try store.close()
        let reopened = try Store(path: path, options: testOptions())
        try check(reopened, model)
        // Whatever the failed attempt wrote is gone after the reopen.
        let listed = reopened.mappedAddressRanges(of: "d").count
        #expect(try FileManager.default.contentsOfDirectory(atPath: path + "/dims/d").count == listed)
        _ = try reopened.compact()
        try check(reopened, model)
    }
}
