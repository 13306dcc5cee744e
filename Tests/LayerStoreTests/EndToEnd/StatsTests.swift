import Foundation
import Testing
@testable import LayerStore

/// `Store.stats()`: live and dead counts agree with a model, across memtables, segments,
/// compaction and the cold tier; live snapshots are tracked.
@Suite struct StatsTests {
    @Test func liveAndDeadCountsFollowPutsDeletesFlushesAndCompaction() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        // 10 keys put twice (the first versions are dead), 3 of them deleted (their puts and the
        // tombstones are dead), half of it flushed before the rest.
        for i in 0..<10 { try store.put([UInt8](repeating: 1, count: 10), forKey: Array("k\(i)".utf8), in: "d") }
        try store.flush()
        for i in 0..<10 { try store.put([UInt8](repeating: 2, count: 20), forKey: Array("k\(i)".utf8), in: "d") }
        for i in 0..<3 { try store.delete(forKey: "k\(i)", in: "d") }
        try store.put("v", forKey: "only", in: "e")

        var stats = try store.stats()
        #expect(stats.lsn == store.lastLSN && stats.lsn == 24)
        #expect(stats.checkpointLSN == 10)
        #expect(stats.dimensions.map(\.name) == ["d", "e"])
        var d = stats.dimensions[0]
        #expect(d.liveRecordCount == 7 && d.liveByteCount == 7 * (2 + 20))
        #expect(d.versionCount == 23)
        #expect(d.deadRecordCount == 16 && d.tombstoneCount == 3)
        #expect(d.deadByteCount == 10 * (2 + 10) + 3 * (2 + 20) + 3 * 2)
        #expect(d.liveRecordCount + d.deadRecordCount == d.versionCount)
        #expect(d.segments.count == 1 && d.segments[0].codec == "none" && d.segments[0].recordCount == 10)
        #expect(d.segmentByteCount == d.segments[0].byteCount && d.segmentByteCount > 0)
        #expect(d.memtableVersionCount == 13 && d.memtableByteCount >= 13 * (2 + Memtable.entryOverheadByteCount))
        #expect(stats.dimensions[1].liveRecordCount == 1 && stats.dimensions[1].segments.isEmpty)
        #expect(stats.mappedByteCount == store.mappedByteCount && stats.mappedByteCount > 0)

        // Everything flushed, then compacted into the cold tier: the dead versions are gone.
        try store.flush()
        var compaction = CompactionOptions()
        compaction.compression = .lz4
        _ = try store.compact(compaction)
        stats = try store.stats()
        d = stats.dimensions[0]
        #expect(d.liveRecordCount == 7 && d.liveByteCount == 7 * 22)
        #expect(d.deadRecordCount == 0 && d.versionCount == 7 && d.memtableVersionCount == 0)
        #expect(d.segments.count == 1 && d.segments[0].codec == "lz4" && d.segments[0].version >= 1)
    }

    @Test func theOldestLiveSnapshotIsReportedUntilItIsReleased() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        try store.put("1", forKey: "a", in: "d")
        #expect(try store.stats().liveSnapshotCount == 0)
        #expect(try store.stats().oldestSnapshotLSN == nil)
        var old: Snapshot? = try store.snapshot()
        try store.put("2", forKey: "a", in: "d")
        var newer: Snapshot? = try store.snapshot()
        var again: Snapshot? = try store.snapshot()
        var stats = try store.stats()
        #expect(stats.liveSnapshotCount == 3 && stats.oldestSnapshotLSN == 1)
        old = nil
        stats = try store.stats()
        #expect(stats.liveSnapshotCount == 2 && stats.oldestSnapshotLSN == 2)
        newer = nil
        #expect(try store.stats().liveSnapshotCount == 1)
        again = nil
        #expect(try store.stats().oldestSnapshotLSN == nil)
        withExtendedLifetime((old, newer, again)) {}
        // A snapshot's view does not count against the versions of the store's own stats.
        #expect(try store.stats().dimensions[0].versionCount == 2)
    }

    @Test func aClosedStoreRefusesAndAReadOnlyStoreCountsItsReplayedWAL() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let writer = try Store(path: path, options: testOptions())
        for i in 0..<5 { try writer.put("v\(i)", forKey: "k", in: "d") }
        var options = testOptions()
        options.readOnly = true
        let reader = try Store(path: path, options: options)
        let stats = try reader.stats()
        #expect(stats.dimensions.first?.liveRecordCount == 1 && stats.dimensions.first?.deadRecordCount == 4)
        #expect(stats.dimensions.first?.memtableVersionCount == 5)
        try reader.close()
        do { _ = try reader.stats(); Issue.record("stats on a closed store") } catch { #expect(error.code == .closed) }
    }
}
