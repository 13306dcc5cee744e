import Foundation
import Testing
@testable import LayerStore

/// Opening after crashes and damage: torn tails, stray files, damaged manifests, read-only opens.
@Suite struct RecoveryTests {
    func fill(_ store: Store, _ range: Range<Int>, dim: String = "d") throws {
        for i in range { try store.put("value-\(i)", forKey: "key-\(i)", in: dim) }
    }

    /// The WAL files of a store (not the spare a writer prepares beside them).
    func walFiles(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path + "/wal").sorted()) ?? []).filter { WALFormat.fileNumber($0) != nil }
    }

    @Test func aTornLastRecordIsTruncatedAndEverythingBeforeItKept() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try fill(store, 0..<10)
        let wal = path + "/wal/" + walFiles(path).last!
        // Simulate a crash mid-append: the process dies without close (no trim), and the last
        // record is only half written.
        let recordSize = WALWriter.recordByteCount(payload: WALFormat.operationHeaderByteCount + 1 + 5 + 7)
        let lastRecordEnd = WALFormat.headerByteCount + 10 * recordSize
        withExtendedLifetime(store) {}
        var bytes = ByteSurgery.read(wal)
        for i in (lastRecordEnd - recordSize / 2)..<bytes.count { bytes[i] = 0 }
        ByteSurgery.write(wal, bytes)
        try store.close()  // (the close trims; rewrite the torn image after it)
        ByteSurgery.write(wal, bytes)
        let reopened = try Store(path: path, options: testOptions())
        let torn = try #require(reopened.recoveryReport.tornTail)
        #expect(torn.offset == UInt64(lastRecordEnd - recordSize))
        #expect(torn.truncated)
        #expect(ByteSurgery.size(wal) == lastRecordEnd - recordSize)
        for i in 0..<9 { #expect(try reopened.string(forKey: "key-\(i)", in: "d") == "value-\(i)") }
        #expect(try reopened.string(forKey: "key-9", in: "d") == nil)
        // The next write gets the LSN after the last surviving record.
        #expect(try reopened.put("after", forKey: "k", in: "d") == 10)
    }

    @Test func aTornTailBeforeAnEmptyNewerFileIsDamage() throws {
        let dir = TemporaryDirectory()
        let (path, wal, recordSize) = try closedStoreOfTenRecords(dir)
        let name = String(wal.split(separator: "/").last!)
        let lastRecordEnd = WALFormat.headerByteCount + 10 * recordSize
        var bytes = ByteSurgery.read(wal)
        for i in (lastRecordEnd - recordSize / 2)..<lastRecordEnd { bytes[i] = 0 }
        ByteSurgery.write(wal, bytes)
        // A newer file whose header never reached the disk: a roll created it, so the file
        // before it had been synced whole and its bad last record is damage, not a torn tail.
        let empty = path + "/wal/" + WALFormat.fileName(WALFormat.fileNumber(name)! + 1)
        ByteSurgery.write(empty, [UInt8](repeating: 0, count: WALFormat.headerByteCount))
        for _ in 0..<2 {  // the failed open removed and truncated nothing, so it fails again
            do {
                _ = try Store(path: path, options: testOptions())
                Issue.record("a torn tail before a newer WAL file was accepted")
            } catch let e {
                #expect(e.code == .corrupted && e.path == wal, "\(e)")
                #expect(e.offset == UInt64(lastRecordEnd - recordSize), "\(e)")
            }
            #expect(FileManager.default.fileExists(atPath: empty))
            #expect(ByteSurgery.read(wal) == bytes)
        }
        // Without the newer file the same bytes are an ordinary torn tail.
        try FileManager.default.removeItem(atPath: empty)
        let reopened = try Store(path: path, options: testOptions())
        #expect(reopened.recoveryReport.tornTail?.offset == UInt64(lastRecordEnd - recordSize))
        #expect(try reopened.string(forKey: "key-8", in: "d") == "value-8")
        #expect(try reopened.string(forKey: "key-9", in: "d") == nil)
    }

    /// A closed store whose one WAL file holds ten single-put records of `recordSize` bytes each.
    func closedStoreOfTenRecords(_ dir: TemporaryDirectory) throws -> (path: String, wal: String, recordSize: Int) {
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try fill(store, 0..<10)
        try store.close()
        let recordSize = WALWriter.recordByteCount(payload: WALFormat.operationHeaderByteCount + 1 + 5 + 7)
        return (path, path + "/wal/" + walFiles(path).last!, recordSize)
    }

    /// A newest WAL file whose header never reached the disk (too short, or zeros) holds
    /// nothing: open, `recover` and `verify` all drop it, and only a writer removes it.
    @Test(arguments: [[UInt8](repeating: 0x57, count: 10), [UInt8](repeating: 0, count: 4096)])
    func anUnwrittenNewestWALFileIsDropped(contents: [UInt8]) throws {
        let dir = TemporaryDirectory()
        let (path, wal, _) = try closedStoreOfTenRecords(dir)
        let name = String(wal.split(separator: "/").last!)
        let empty = path + "/wal/" + WALFormat.fileName(WALFormat.fileNumber(name)! + 1)
        ByteSurgery.write(empty, contents)

        let verified = try Verifier.verify(store: path)
        #expect(verified.isClean, "\(verified.files.filter { $0.status != .ok })")
        #expect(verified.notes.contains { $0.message.contains("header was never written") }, "\(verified.notes)")
        var readOnly = testOptions()
        readOnly.readOnly = true
        let reader = try Store(path: path, options: readOnly)
        #expect(try reader.string(forKey: "key-9", in: "d") == "value-9")
        try reader.close()
        let dry = try Recoverer.run(path: path, dryRun: true, salvage: false)
        #expect(dry.consistent)
        #expect(FileManager.default.fileExists(atPath: empty), "a read-only open, verify or a dry run removed a file")

        let writer = try Store(path: path, options: testOptions())
        #expect(!FileManager.default.fileExists(atPath: empty))
        for i in 0..<10 { #expect(try writer.string(forKey: "key-\(i)", in: "d") == "value-\(i)") }
        #expect(try writer.put("after", forKey: "k", in: "d") == 11)
        try writer.close()

        let newest = walFiles(path).compactMap(WALFormat.fileNumber).max()!
        let unwritten = "wal/" + WALFormat.fileName(newest + 1)
        ByteSurgery.write(path + "/" + unwritten, contents)
        let recovered = try Recoverer.run(path: path, dryRun: false, salvage: false)
        #expect(recovered.tempFilesRemoved == [unwritten])
        #expect(!FileManager.default.fileExists(atPath: path + "/" + unwritten))
        let reopened = try Store(path: path, options: testOptions())
        #expect(try reopened.string(forKey: "k", in: "d") == "after")
        #expect(try reopened.string(forKey: "key-9", in: "d") == "value-9")
    }

    @Test func midLogDamageRefusesToOpenAndNamesTheSpot() throws {
        let dir = TemporaryDirectory()
        let (path, wal, recordSize) = try closedStoreOfTenRecords(dir)
        ByteSurgery.flip(wal, at: WALFormat.headerByteCount + 3 * recordSize + 40)
        do {
            _ = try Store(path: path, options: testOptions())
            Issue.record("opened a store with mid-log damage")
        } catch let e {
            #expect(e.code == .corrupted)
            #expect(e.path == wal)
            #expect(e.offset == UInt64(WALFormat.headerByteCount + 3 * recordSize))
        }
        // Nothing was truncated or removed.
        #expect(ByteSurgery.size(wal) > WALFormat.headerByteCount + 9 * recordSize)
    }

    @Test func strayTempFilesAndUnpublishedSegmentsAreRemoved() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try fill(store, 0..<5)
        try store.flush()
        try fill(store, 5..<8)
        try store.close()
        _ = FileManager.default.createFile(atPath: path + "/MANIFEST-00000000000000ff.tmp", contents: Data([1, 2, 3]))
        _ = FileManager.default.createFile(atPath: path + "/dims/d/00000000000000ff-00000001.seg.tmp", contents: Data([1]))
        _ = FileManager.default.createFile(atPath: path + "/dims/d/00000000000000fe-00000001.seg", contents: Data([1]))
        let reopened = try Store(path: path, options: testOptions())
        #expect(reopened.recoveryReport.removedTempFiles.sorted() == ["MANIFEST-00000000000000ff.tmp", "d/00000000000000ff-00000001.seg.tmp"])
        #expect(reopened.recoveryReport.removedUnpublishedSegments == ["d/00000000000000fe-00000001.seg"])
        #expect(!FileManager.default.fileExists(atPath: path + "/dims/d/00000000000000fe-00000001.seg"))
        for i in 0..<8 { #expect(try reopened.string(forKey: "key-\(i)", in: "d") == "value-\(i)") }
    }

    @Test func aDamagedNewestManifestFallsBackToThePreviousOne() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try fill(store, 0..<20)
        try store.flush()
        try fill(store, 20..<30)
        try store.flush()
        try fill(store, 30..<35)
        try store.close()
        let manifests = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("MANIFEST-") }.sorted()
        #expect(manifests.count == ManifestStore.keptCount)
        ByteSurgery.flip(path + "/" + manifests.last!, at: 30)
        let reopened = try Store(path: path, options: testOptions())
        #expect(reopened.recoveryReport.skippedManifests.count == 1)
        #expect(reopened.recoveryReport.skippedManifests[0].hasPrefix(manifests.last!))
        for i in 0..<35 { #expect(try reopened.string(forKey: "key-\(i)", in: "d") == "value-\(i)") }
        // Every manifest damaged: a typed error, nothing removed.
        try reopened.close()
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasPrefix("MANIFEST-") {
            ByteSurgery.flip(path + "/" + name, at: 20)
        }
        do { _ = try Store(path: path, options: testOptions()); Issue.record("opened with every manifest damaged") } catch let e {
            #expect(e.code == .corrupted)
        }
    }

    @Test func aDamagedSegmentIsATypedErrorAtItsFirstReadAndAMissingOneAtOpen() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try fill(store, 0..<20)
        try fill(store, 0..<20, dim: "e")
        try store.flush()
        try store.close()
        let segment = path + "/dims/d/" + (try FileManager.default.contentsOfDirectory(atPath: path + "/dims/d").first!)
        ByteSurgery.flip(segment, at: 100)
        // A header is read at the first use of its segment: the open succeeds, every read of
        // the dimension fails, and the other dimension reads as before.
        for readOnly in [false, true] {
            var options = testOptions()
            options.readOnly = readOnly
            let damaged = try Store(path: path, options: options)
            for _ in 0..<2 {  // not remembered: the second read checks again
                do {
                    _ = try damaged.string(forKey: "key-3", in: "d")
                    Issue.record("read through a damaged header")
                } catch {
                    #expect(error.code == .corrupted && error.path == segment)
                }
            }
            #expect(throws: StoreError.self) { try damaged.scan("d") { _, _ in true } }
            #expect(try damaged.string(forKey: "key-3", in: "e") == "value-3")
            try damaged.close()
        }
        try FileManager.default.removeItem(atPath: segment)
        do { _ = try Store(path: path, options: testOptions()); Issue.record("opened without a segment") } catch let e {
            #expect(e.path == segment)
        }
    }

    @Test func aReadOnlyOpenBesideAWriterSeesTheWALAndWritesNothing() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let writer = try Store(path: path, options: testOptions())
        try fill(writer, 0..<10)
        try writer.flush()
        try fill(writer, 10..<15)
        try writer.delete(forKey: "key-3", in: "d")
        // A torn record at the tail (as if the writer were mid-append): skipped, not truncated.
        let wal = path + "/wal/" + walFiles(path).last!
        // (The writer's spare WAL file, prepared in the background, must not change meanwhile.)
        writer.writer!.withLock { $0.wal.waitForSparePreparation() }
        let snapshotBefore = dir.files(under: "s").map { ($0, ByteSurgery.read(path + "/" + $0)) }
        var ro = testOptions()
        ro.readOnly = true
        let reader = try Store(path: path, options: ro)
        for i in 0..<15 where i != 3 { #expect(try reader.string(forKey: "key-\(i)", in: "d") == "value-\(i)") }
        #expect(try reader.string(forKey: "key-3", in: "d") == nil)
        #expect(try reader.snapshot().records(in: "d").count == 14)
        let after = dir.files(under: "s").map { ($0, ByteSurgery.read(path + "/" + $0)) }
        #expect(after.map(\.0) == snapshotBefore.map(\.0))
        #expect(zip(after, snapshotBefore).allSatisfy { $0.1 == $1.1 })
        _ = wal
        // The reader's view is fixed at its open; the writer goes on.
        try writer.put("later", forKey: "key-99", in: "d")
        #expect(try reader.string(forKey: "key-99", in: "d") == nil)
    }

    @Test func readOnlySkipsATornTailWithoutTruncating() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let writer = try Store(path: path, options: testOptions())
        try fill(writer, 0..<4)
        try writer.close()
        let wal = path + "/wal/" + walFiles(path).last!
        var bytes = ByteSurgery.read(wal)
        bytes.removeLast(5)
        ByteSurgery.write(wal, bytes)
        var ro = testOptions()
        ro.readOnly = true
        let reader = try Store(path: path, options: ro)
        #expect(reader.recoveryReport.tornTail?.truncated == false)
        #expect(ByteSurgery.read(wal) == bytes)
        #expect(try reader.string(forKey: "key-2", in: "d") == "value-2")
        #expect(try reader.string(forKey: "key-3", in: "d") == nil)
    }

    @Test func valuesAreHandedOutFromTheMappingItself() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        try fill(store, 0..<50)
        try store.flush()
        let ranges = store.mappedAddressRanges(of: "d")
        #expect(!ranges.isEmpty)
        for i in 0..<50 {
            let address = try store.withValue(forKey: Array("key-\(i)".utf8), in: "d") { span in
                span.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) ..< UInt(bitPattern: $0.baseAddress) + UInt($0.count) }
            }
            let range = try #require(address)
            #expect(ranges.contains { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound })
            #expect(range.count == "value-\(i)".utf8.count)
        }
        #expect(store.mappedByteCount >= ranges.map(\.count).reduce(0, +))
    }

    @Test func mappingsLiveUntilTheLastSnapshotUsingThemIsReleased() throws {
        let dir = TemporaryDirectory()
        var store: Store? = try Store(path: dir.child("s"), options: testOptions())
        try fill(store!, 0..<10)
        try store!.flush()
        let manager = store!.mmap
        var snapshot: Snapshot? = try store!.snapshot()
        #expect(manager.mappedRegionCount == 1)
        try store!.close()
        store = nil
        // The store is gone; the snapshot still reads from the mapping it pinned.
        #expect(manager.mappedRegionCount == 1)
        #expect(try snapshot!.string(forKey: "key-5", in: "d") == "value-5")
        snapshot = nil
        #expect(manager.mappedRegionCount == 0)
        #expect(manager.mappedByteCount == 0)
    }
}
