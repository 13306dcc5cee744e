import Foundation
import Testing
@testable import LayerStore

/// `recover`: each kind of damage, what the report says, and what the store holds afterwards.
@Suite struct RecovererTests {
    /// A store with 40 records in a segment (block target 256 bytes: many blocks) and 10 in the WAL.
    func makeStore(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions { $0.blockByteCountTarget = 256 })
        for i in 0..<40 { try store.put("value-\(i)", forKey: "key-\(String(format: "%03d", i))", in: "d") }
        try store.flush()
        for i in 40..<50 { try store.put("value-\(i)", forKey: "key-\(String(format: "%03d", i))", in: "d") }
        try store.close()
        return path
    }

    func values(_ path: String) throws -> [String: String] {
        var ro = testOptions()
        ro.readOnly = true
        let store = try Store(path: path, options: ro)
        var out: [String: String] = [:]
        for r in try store.snapshot().records(in: "d") {
            out[String(decoding: r.key, as: UTF8.self)] = String(decoding: r.value, as: UTF8.self)
        }
        return out
    }

    func files(_ path: String) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        let e = FileManager.default.enumerator(atPath: path)!
        while let name = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDir), !isDir.boolValue {
                out[name] = ByteSurgery.read(path + "/" + name)
            }
        }
        return out
    }

    func walFile(_ path: String) throws -> String {
        path + "/wal/" + (try FileManager.default.contentsOfDirectory(atPath: path + "/wal").sorted().last!)
    }

    func segmentFile(_ path: String) throws -> String {
        path + "/dims/d/" + (try FileManager.default.contentsOfDirectory(atPath: path + "/dims/d").sorted().first!)
    }

    @Test func aCleanStoreIsConsistentAndUntouched() throws {
        let dir = TemporaryDirectory()
        let path = try makeStore(dir)
        let before = files(path)
        let report = try Recoverer.run(path: path, dryRun: false, salvage: false)
        #expect(report.consistent)
        #expect(report.damageRemaining.isEmpty)
        #expect(report.walRecords == 10)
        #expect(report.walFirstLSN == 41 && report.walLastLSN == 50)
        #expect(report.manifestWritten == nil)
        #expect(files(path) == before)
    }

    @Test func aKilledWritersTornTailAndTempFilesAreCleanedUp() throws {
        let dir = TemporaryDirectory()
        let path = try makeStore(dir)
        let wal = try walFile(path)
        var bytes = ByteSurgery.read(wal)
        bytes += [UInt8](repeating: 0xAB, count: 20)  // half a record appended when the writer died
        ByteSurgery.write(wal, bytes)
        _ = FileManager.default.createFile(atPath: path + "/MANIFEST-0000000000000099.tmp", contents: Data([1]))
        let dry = try Recoverer.run(path: path, dryRun: true, salvage: false)
        #expect(dry.tornTail?.offset == UInt64(bytes.count - 20))
        #expect(ByteSurgery.read(wal) == bytes)  // the dry run changed nothing
        let report = try Recoverer.run(path: path, dryRun: false, salvage: false)
        #expect(report.consistent)
        #expect(report.tornTail?.file.hasPrefix("wal/") == true)
        #expect(report.tornTailByteCount == 20)
        #expect(report.tempFilesRemoved == ["MANIFEST-0000000000000099.tmp"])
        #expect(ByteSurgery.size(wal) == bytes.count - 20)
        #expect(try values(path).count == 50)
    }

    @Test func truncationAtEveryOffsetOfTheLastWALRecordIsReportedAndRecovered() throws {
        let dir = TemporaryDirectory()
        let path = try makeStore(dir)
        let wal = try walFile(path)
        let full = ByteSurgery.read(wal)
        let recordSize = WALWriter.recordByteCount(payload: WALFormat.operationHeaderByteCount + 1 + 7 + 8)
        let lastStart = full.count - recordSize
        let unpaddedEnd = lastStart + WALFormat.recordHeaderByteCount + WALFormat.operationHeaderByteCount + 1 + 7 + 8
        let pristine = files(path)
        for cut in lastStart..<unpaddedEnd {
            for (name, bytes) in pristine { ByteSurgery.write(path + "/" + name, bytes) }
            ByteSurgery.write(wal, Array(full[0..<cut]))
            let dry = try Recoverer.run(path: path, dryRun: true, salvage: false)
            #expect(dry.consistent, "cut \(cut)")
            // A cut that keeps only zero bytes of the record (its checksum may begin with a zero
            // byte: the salt is random) leaves nothing to tell from an unwritten tail.
            if full[lastStart..<cut].contains(where: { $0 != 0 }) {
                #expect(dry.tornTail?.offset == UInt64(lastStart), "cut \(cut)")
                // The count runs to the last non-zero byte of what is left.
                #expect(dry.tornTailByteCount > 0 && dry.tornTailByteCount <= UInt64(cut - lastStart), "cut \(cut)")
            } else {
                #expect(dry.tornTail == nil, "cut \(cut)")
            }
            #expect(dry.walLastLSN == 49, "cut \(cut)")
            let got = try values(path)  // read-only: skips the torn record
            #expect(got.count == 49 && got["key-049"] == nil, "cut \(cut)")
        }
    }

    @Test func midLogDamageIsNamedThenSalvagedWithTheLossListed() throws {
        let dir = TemporaryDirectory()
        let path = try makeStore(dir)
        let wal = try walFile(path)
        let recordSize = WALWriter.recordByteCount(payload: WALFormat.operationHeaderByteCount + 1 + 7 + 8)
        ByteSurgery.flip(wal, at: WALFormat.headerByteCount + 3 * recordSize + 40)  // the 4th WAL record
        #expect(throws: StoreError.self) { _ = try Store(path: path, options: testOptions()) }
        let named = try Recoverer.run(path: path, dryRun: false, salvage: false)
        #expect(!named.consistent)
        #expect(named.damageRemaining.count == 1)
        #expect(named.walDamage.first?.offset == UInt64(WALFormat.headerByteCount + 3 * recordSize))
        let salvaged = try Recoverer.run(path: path, dryRun: false, salvage: true)
        #expect(salvaged.consistent)
        #expect(salvaged.walRecordsSalvaged == 9)
        #expect(salvaged.losses.count == 1)
        #expect(salvaged.losses.first?.firstLSN == 44 && salvaged.losses.first?.lastLSN == 44)
        #expect(salvaged.quarantined.contains { $0.file.hasPrefix("wal/") })
        let got = try values(path)
        #expect(got.count == 49)
        #expect(got["key-043"] == nil)
        #expect(got["key-049"] == "value-49")
        #expect(FileManager.default.fileExists(atPath: path + "/quarantine/wal__" + (wal as NSString).lastPathComponent))
        // The store takes writes again, with LSNs after everything salvaged.
        let store = try Store(path: path, options: testOptions())
        #expect(try store.put("new", forKey: "key-new", in: "d") == 51)
    }

    @Test func aDamagedBlockIsSalvagedIntoANewVersion() throws {
        let dir = TemporaryDirectory()
        let path = try makeStore(dir)
        let segment = try segmentFile(path)
        let (id, version) = SegmentName.parse((segment as NSString).lastPathComponent)!
        let secondBlockFirstKey = try {
            let s = try Segment(io: SystemFileIO(), path: segment, storeID: try Store(path: path, options: testOptions { $0.readOnly = true }).storeID,
                                id: id, version: version, listed: nil, manager: MmapManager(), verification: .everyRead)
            return String(decoding: try s.firstKey(1), as: UTF8.self)
        }()
        ByteSurgery.flip(segment, at: SegmentFormat.headerByteCount + 10)  // inside the first block
        let named = try Recoverer.run(path: path, dryRun: false, salvage: false)
        #expect(named.blocksDamaged.count == 1)
        #expect(named.blocksDamaged.first?.offset == UInt64(SegmentFormat.headerByteCount))
        #expect(!named.consistent)
        // The store still opens and serves every other record.
        let store = try Store(path: path, options: testOptions())
        #expect(try store.string(forKey: "key-039", in: "d") == "value-39")
        #expect(throws: StoreError.self) { _ = try store.string(forKey: "key-000", in: "d") }
        try store.close()
        let salvaged = try Recoverer.run(path: path, dryRun: false, salvage: true)
        #expect(salvaged.consistent)
        #expect(salvaged.segmentsWritten == ["dims/d/0000000000000001-00000002.seg"])
        #expect(salvaged.losses.count == 1)
        #expect(salvaged.losses.first?.detail.contains("key-000") == true)
        let lostKeys = (0..<40).filter { "key-\(String(format: "%03d", $0))" < secondBlockFirstKey }.count
        #expect(salvaged.losses.first?.records == UInt64(lostKeys))
        #expect(salvaged.recordsSalvaged == UInt64(40 - lostKeys))
        let got = try values(path)
        // Exactly the first block's keys are gone; every other record is there.
        for i in 0..<50 {
            let key = "key-\(String(format: "%03d", i))"
            #expect(got[key] == (key < secondBlockFirstKey ? nil : "value-\(i)"), "\(key)")
        }
    }

    @Test func aMissingSegmentIsDamageUntilSalvageDropsIt() throws {
        let dir = TemporaryDirectory()
        let path = try makeStore(dir)
        try FileManager.default.removeItem(atPath: try segmentFile(path))
        let named = try Recoverer.run(path: path, dryRun: false, salvage: false)
        #expect(named.segmentsMissing.count == 1)
        #expect(!named.consistent)
        let dropped = try Recoverer.run(path: path, dryRun: false, salvage: true)
        #expect(dropped.consistent)
        #expect(dropped.losses.first?.records == 40)
        #expect(try values(path).count == 10)
    }

    @Test func aDamagedNewestManifestIsSetAsideAndTheStoreRepublished() throws {
        let dir = TemporaryDirectory()
        let path = try makeStore(dir)
        let newest = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("MANIFEST-") }.max()!
        ByteSurgery.flip(path + "/" + newest, at: 20)
        let report = try Recoverer.run(path: path, dryRun: false, salvage: false)
        #expect(report.consistent)
        #expect(report.manifestsSkipped.map(\.file) == [newest])
        #expect(report.quarantined.map(\.file) == [newest])
        #expect(report.manifestWritten != nil)
        #expect(try values(path).count == 50)
    }

    @Test func everyManifestLostIsRebuiltFromTheSegments() throws {
        let dir = TemporaryDirectory()
        let path = try makeStore(dir)
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasPrefix("MANIFEST-") {
            try FileManager.default.removeItem(atPath: path + "/" + name)
        }
        #expect(throws: StoreError.self) { _ = try Store(path: path, options: testOptions()) }
        let report = try Recoverer.run(path: path, dryRun: false, salvage: false)
        #expect(report.manifestRebuilt)
        #expect(report.consistent)
        #expect(report.checkpointLSN == 40)
        #expect(report.walRecords == 10)
        #expect(try values(path).count == 50)
    }

    @Test func aRebuildDoesNotTrustSegmentsOfAFlushThatNeverPublished() throws {
        // A flush wrote dimension a's segment, failed on b's, and never published; then every
        // manifest is lost. The rebuilt store must replay the WAL for both dimensions.
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let io = FaultInjectingFileIO()
        let store = try Store(path: path, options: testOptions { $0.flushInBackground = false }, io: io)
        for i in 0..<20 { try store.put("a\(i)", forKey: "k\(i)", in: "a"); try store.put("b\(i)", forKey: "k\(i)", in: "b") }
        try store.flush()
        for i in 20..<40 { try store.put("a\(i)", forKey: "k\(i)", in: "a"); try store.put("b\(i)", forKey: "k\(i)", in: "b") }
        io.fail(.write, pathContains: "/dims/b/")
        #expect(throws: StoreError.self) { try store.flush() }
        try? store.close()
        #expect(FileManager.default.fileExists(atPath: path + "/dims/a/0000000000000003-00000001.seg"))
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasPrefix("MANIFEST-") {
            try FileManager.default.removeItem(atPath: path + "/" + name)
        }
        let report = try Recoverer.run(path: path, dryRun: false, salvage: false)
        #expect(report.manifestRebuilt)
        #expect(report.consistent)
        #expect(report.checkpointLSN == 40)
        var ro = testOptions()
        ro.readOnly = true
        let reopened = try Store(path: path, options: ro)
        for i in 0..<40 {
            #expect(try reopened.string(forKey: "k\(i)", in: "a") == "a\(i)")
            #expect(try reopened.string(forKey: "k\(i)", in: "b") == "b\(i)")
        }
    }

    @Test func aLockedStoreIsRefusedAndUntouched() throws {
        let dir = TemporaryDirectory()
        let path = try makeStore(dir)
        let writer = try Store(path: path, options: testOptions())
        do { _ = try Recoverer.run(path: path, dryRun: false, salvage: false); Issue.record("recovered a locked store") } catch {
            #expect(error.code == .locked)
        }
        try writer.close()
        do { _ = try Recoverer.run(path: dir.child("nothing"), dryRun: true, salvage: false); Issue.record("no store") } catch {
            #expect(error.code == .storeNotFound)
        }
    }
}
