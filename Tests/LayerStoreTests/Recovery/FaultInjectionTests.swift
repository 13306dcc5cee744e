import Foundation
import Testing
@testable import LayerStore

/// Failed system calls: typed errors, nothing unacknowledged, a failed sync latched.
@Suite struct FaultInjectionTests {
    func open(_ path: String, _ io: FaultInjectingFileIO, _ adjust: (inout StoreOptions) -> Void = { _ in }) throws(StoreError) -> Store {
        try Store(path: path, options: testOptions(adjust), io: io)
    }

    @Test func aFailedWALSyncIsFatalForTheWriterUntilReopened() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let io = FaultInjectingFileIO()
        let store = try open(path, io)
        try store.put("ok", forKey: "a", in: "d")
        io.fail(.syncData, pathContains: ".wal", errno: EIO)
        do { try store.put("lost?", forKey: "b", in: "d"); Issue.record("unsynced commit acknowledged") } catch let e {
            #expect(e.code == .writerFailed)
            #expect(e.errno == EIO)
        }
        // Not visible to readers, and every later write fails, even though syncs work again.
        #expect(try store.string(forKey: "b", in: "d") == nil)
        #expect(store.lastLSN == 1)
        for _ in 0..<3 {
            do { try store.put("x", forKey: "c", in: "d"); Issue.record("write after failed sync") } catch let e {
                #expect(e.code == .writerFailed)
            }
        }
        do { try store.sync(); Issue.record("sync after failed sync") } catch let e { #expect(e.code == .writerFailed) }
        try? store.close()
        let reopened = try Store(path: path, options: testOptions())
        #expect(try reopened.string(forKey: "a", in: "d") == "ok")
        #expect(try reopened.put("again", forKey: "c", in: "d") >= 2)
    }

    @Test func aFullDiskWhenTheWALGrowsAcknowledgesNothingAndRecovers() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let io = FaultInjectingFileIO()
        let store = try open(path, io)
        io.fail(.allocate, pathContains: ".wal", errno: ENOSPC)
        do { try store.put("v", forKey: "a", in: "d"); Issue.record("write without WAL space acknowledged") } catch let e {
            #expect(e.code == .noSpace)
        }
        #expect(try store.string(forKey: "a", in: "d") == nil)
        // Space is back: the store goes on, and the failed write never appears.
        try store.put("w", forKey: "b", in: "d")
        #expect(try store.string(forKey: "b", in: "d") == "w")
        try store.close()
        let reopened = try Store(path: path, options: testOptions())
        #expect(try reopened.string(forKey: "a", in: "d") == nil)
        #expect(try reopened.string(forKey: "b", in: "d") == "w")
    }

    @Test func aFailedWALWriteIsNotAcknowledgedAndLeavesNoHole() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let io = FaultInjectingFileIO()
        let store = try open(path, io)
        try store.put("1", forKey: "a", in: "d")
        io.fail(.write, pathContains: ".wal", errno: EIO)
        #expect(throws: StoreError.self) { try store.put("2", forKey: "b", in: "d") }
        try store.put("3", forKey: "c", in: "d")
        try store.close()
        let reopened = try Store(path: path, options: testOptions())
        #expect(try reopened.snapshot().records(in: "d").map { String(decoding: $0.value, as: UTF8.self) } == ["1", "3"])
        #expect(reopened.lastLSN == 2)
    }

    @Test(arguments: [FaultInjectingFileIO.Operation.allocate, .write, .sync, .rename, .syncDirectory])
    func aFailedFlushLosesNothingAndCanBeRetried(_ operation: FaultInjectingFileIO.Operation) throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let io = FaultInjectingFileIO()
        let store = try open(path, io) { $0.flushInBackground = false }
        for i in 0..<30 { try store.put("v\(i)", forKey: "k\(i)", in: "d") }
        let target = operation == .rename || operation == .syncDirectory ? "MANIFEST" : ".seg"
        io.fail(operation, pathContains: operation == .syncDirectory ? "" : target, errno: operation == .allocate ? ENOSPC : EIO)
        do { try store.flush(); Issue.record("flush with a failed \(operation) succeeded") } catch let e {
            #expect(e.code == (operation == .allocate ? .noSpace : .ioFailure))
        }
        for i in 0..<30 { #expect(try store.string(forKey: "k\(i)", in: "d") == "v\(i)") }
        try store.put("after", forKey: "k-after", in: "d")
        try store.flush()
        try store.close()
        let reopened = try Store(path: path, options: testOptions())
        for i in 0..<30 { #expect(try reopened.string(forKey: "k\(i)", in: "d") == "v\(i)") }
        #expect(try reopened.string(forKey: "k-after", in: "d") == "after")
        // Whatever the failed attempt left on disk is gone: only listed segments remain.
        let files = try FileManager.default.contentsOfDirectory(atPath: path + "/dims/d").sorted()
        #expect(files.count == reopened.mappedAddressRanges(of: "d").count, "\(files)")
    }

    @Test func aFailureBetweenTheTwoManifestCopiesLeavesAUsableStore() throws {
        // The first publish is the commit point; if the copy after it fails, memory must still
        // match the disk, so the next flush and compaction work (and do not trip an invariant).
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let io = FaultInjectingFileIO()
        let store = try open(path, io) { $0.flushInBackground = false }
        for i in 0..<20 { try store.put("v\(i)", forKey: "k\(i)", in: "d") }
        io.fail(.rename, pathContains: "MANIFEST", after: 1)
        #expect(throws: StoreError.self) { try store.flush() }
        for i in 20..<40 { try store.put("v\(i)", forKey: "k\(i)", in: "d") }
        try store.flush()
        io.fail(.rename, pathContains: "MANIFEST", after: 1)
        #expect(throws: StoreError.self) { _ = try store.compact() }
        _ = try store.compact()
        for i in 0..<40 { #expect(try store.string(forKey: "k\(i)", in: "d") == "v\(i)") }
        try store.close()
        let reopened = try Store(path: path, options: testOptions())
        for i in 0..<40 { #expect(try reopened.string(forKey: "k\(i)", in: "d") == "v\(i)") }
    }

    @Test func aFailedMapOfASegmentIsATypedErrorAndTheNextReadMapsIt() throws {
        // Segments listed at open are mapped on first use, so a failed mmap surfaces on the read
        // that needed it; the segment stays unmapped and the next read tries again.
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        for i in 0..<10 { try store.put("v\(i)", forKey: "k\(i)", in: "d") }
        try store.flush()
        try store.close()
        let io = FaultInjectingFileIO()
        io.fail(.map, pathContains: ".seg", errno: ENOMEM)
        let reopened = try open(path, io)
        do { _ = try reopened.string(forKey: "k3", in: "d"); Issue.record("read through a failed mmap") } catch let e {
            #expect(e.code == .ioFailure)
            #expect(e.errno == ENOMEM)
        }
        #expect(try reopened.string(forKey: "k3", in: "d") == "v3")
        try reopened.close()
        #expect(try Store(path: path, options: testOptions()).string(forKey: "k3", in: "d") == "v3")
    }
}
