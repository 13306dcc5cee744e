import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LayerStore

/// `Store.backup(to:)`: a backup taken while a writer commits, flushes and compacts opens as a
/// store, passes the verifier, and holds exactly the records of its snapshot's LSN.
@Suite struct BackupTests {
    /// One committed operation, as the writer thread logs it.
    struct Op: Sendable {
        var lsn: LSN
        var dimension: String
        var key: String
        var value: String?
    }

    /// The visible records of every dimension after applying `log` up to `lsn`.
    static func model(_ log: [Op], upTo lsn: LSN) -> [String: [String: String]] {
        var dims: [String: [String: String]] = [:]
        for op in log where op.lsn <= lsn {
            dims[op.dimension, default: [:]][op.key] = op.value
        }
        return dims.filter { !$0.value.isEmpty }
    }

    /// Every visible record of a store, by dimension.
    static func contents(_ store: Store) throws -> [String: [String: String]] {
        var dims: [String: [String: String]] = [:]
        let snapshot = try store.snapshot()
        for name in snapshot.dimensionNames {
            for record in try snapshot.records(in: name) {
                dims[name, default: [:]][String(decoding: record.key, as: UTF8.self)] = String(decoding: record.value, as: UTF8.self)
            }
        }
        return dims.filter { !$0.value.isEmpty }
    }

    /// Opens a backup read-only and checks it against the model.
    static func check(_ report: BackupReport, log: [Op]) throws {
        let verification = try Verifier.verify(store: report.destination)
        #expect(verification.isClean, "\(verification.files.filter { $0.status != .ok }) \(verification.notes)")
        var options = StoreOptions()
        options.readOnly = true
        let backup = try Store(path: report.destination, options: options)
        #expect(backup.lastLSN == report.lsn)
        #expect(backup.recoveryReport.checkpointLSN == report.checkpointLSN)
        #expect(backup.recoveryReport.replayedOperationCount == report.walOperationCount)
        #expect(backup.recoveryReport.tornTail == nil)
        #expect(try contents(backup) == model(log, upTo: report.lsn))
    }

    @Test func backupsTakenWhileAWriterCommitsFlushesAndCompactsHoldExactlyTheirSnapshot() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions { $0.memtableByteCountMax = 8 << 10 })
        let log = Locked<[Op]>([])
        let stop = Locked(false)
        let writerError = Locked<String?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let writer = Thread {
            defer { finished.signal() }
            var n = 0
            do {
                while !stop.withLock({ $0 }) || n < 300 {
                    var batch = WriteBatch()
                    var ops: [Op] = []
                    for i in 0..<(1 + n % 3) {
                        let dimension = (n + i) % 2 == 0 ? "a" : "b"
                        let key = "k\((n * 7 + i) % 40)"
                        if n % 11 == 5 {
                            try batch.delete(forKey: Array(key.utf8), in: dimension)
                            ops.append(Op(lsn: 0, dimension: dimension, key: key, value: nil))
                        } else {
                            let value = "v\(n)-\(i)-" + String(repeating: "x", count: n % 50)
                            try batch.put(Array(value.utf8), forKey: Array(key.utf8), in: dimension)
                            ops.append(Op(lsn: 0, dimension: dimension, key: key, value: value))
                        }
                    }
                    let last = try store.commit(batch)
                    for (i, op) in ops.enumerated() {
                        var op = op
                        op.lsn = last - LSN(ops.count - 1 - i)
                        log.withLock { $0.append(op) }
                    }
                    if n % 97 == 96 { try store.flush() }
                    if n % 211 == 210 { _ = try store.compact() }
                    n += 1
                }
            } catch {
                writerError.withLock { $0 = "\(error)" }
            }
        }
        writer.start()
        var reports: [BackupReport] = []
        for i in 0..<6 {
            reports.append(try store.backup(to: dir.child("backup-\(i)")))
            usleep(20_000)
        }
        stop.withLock { $0 = true }
        finished.wait()
        #expect(writerError.withLock { $0 } == nil)
        let finalLog = log.withLock { $0 }
        for report in reports {
            #expect(report.segmentCount == report.linkedSegmentCount + report.copiedSegmentCount)
            #expect(report.walOperationCount == Int(report.lsn - report.checkpointLSN))
            try Self.check(report, log: finalLog)
        }
        // A last backup once the writer is quiet holds everything.
        let last = try store.backup(to: dir.child("backup-last"))
        #expect(last.lsn == store.lastLSN)
        #expect(last.checkpointLSN > 0 && last.segmentCount > 0)
        try Self.check(last, log: finalLog)
        #expect(reports.contains { $0.linkedSegmentCount > 0 })
    }

    @Test func segmentsAreHardLinkedOnOneFileSystemAndCopiedWhenTheStoreCannotLink() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        for i in 0..<50 { try store.put("value \(i)", forKey: "key \(i)", in: "d") }
        try store.flush()
        for i in 50..<60 { try store.put("value \(i)", forKey: "key \(i)", in: "d") }
        let linked = try store.backup(to: dir.child("linked"))
        #expect(linked.segmentCount == 1 && linked.linkedSegmentCount == 1 && linked.copiedSegmentCount == 0)
        #expect(linked.walOperationCount == 10 && linked.walRecordCount == 1)
        let segmentName = try #require(dir.files(under: "linked/dims/d").first)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.child("linked/dims/d/" + segmentName))
        #expect(attributes[.referenceCount] as? Int == 2)
        try store.close()

        // An I/O layer that cannot link (as across file systems: EXDEV) gets copies.
        let copying = try Store(path: path, options: testOptions(), io: FaultInjectingFileIO())
        let copied = try copying.backup(to: dir.child("copied"))
        #expect(copied.segmentCount == 1 && copied.linkedSegmentCount == 0 && copied.copiedSegmentCount == 1)
        let copy = try FileManager.default.attributesOfItem(atPath: dir.child("copied/dims/d/" + segmentName))
        #expect(copy[.referenceCount] as? Int == 1)
        #expect(FileManager.default.contents(atPath: dir.child("copied/dims/d/" + segmentName))
            == FileManager.default.contents(atPath: path + "/dims/d/" + segmentName))
        let log = (0..<60).map { Op(lsn: LSN($0 + 1), dimension: "d", key: "key \($0)", value: "value \($0)") }
        try Self.check(linked, log: log)
        try Self.check(copied, log: log)
    }

    /// The device of the file system holding `path`, or `nil` if it cannot be read.
    static func device(_ path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_dev) : nil
    }

    @Test func aBackupOnAnotherFileSystemCopiesTheSegments() throws {
        let dir = TemporaryDirectory()
        // /dev/shm is a tmpfs on Linux: another file system than the temp directory, so link(2)
        // fails with EXDEV for real. Where it is the same (or missing) there is nothing to test.
        guard let here = Self.device(dir.path), let there = Self.device("/dev/shm"), here != there else { return }
        let store = try Store(path: dir.child("s"), options: testOptions())
        for i in 0..<30 { try store.put("v\(i)", forKey: "k\(i)", in: "d") }
        try store.flush()
        for i in 0..<30 { try store.put("w\(i)", forKey: "k\(i)", in: "e") }
        try store.flush()
        try store.put("last", forKey: "k0", in: "d")
        let destination = "/dev/shm/layerstore-backup-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: destination) }
        let report = try store.backup(to: destination)
        #expect(report.segmentCount == 2 && report.copiedSegmentCount == 2 && report.linkedSegmentCount == 0)
        var log = (0..<30).map { Op(lsn: LSN($0 + 1), dimension: "d", key: "k\($0)", value: "v\($0)") }
        log += (0..<30).map { Op(lsn: LSN($0 + 31), dimension: "e", key: "k\($0)", value: "w\($0)") }
        log.append(Op(lsn: 61, dimension: "d", key: "k0", value: "last"))
        try Self.check(report, log: log)
    }

    @Test func aReadOnlyStoreBacksUpSegmentsTheWriterHasCompactedAway() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let writer = try Store(path: path, options: testOptions())
        for round in 0..<3 {
            for i in 0..<20 { try writer.put("r\(round)", forKey: "key \(i)", in: "d") }
            try writer.flush()
        }
        var options = testOptions()
        options.readOnly = true
        let reader = try Store(path: path, options: options)
        #expect(reader.lastLSN == 60)
        // The writer moves on: new writes, and a compaction that unlinks the three segments the
        // reader's snapshot lists.
        for i in 0..<20 { try writer.put("r3", forKey: "key \(i)", in: "d") }
        _ = try writer.compact()
        #expect(dir.files(under: "s/dims/d").count == 1)
        let report = try reader.backup(to: dir.child("b"))
        #expect(report.lsn == 60 && report.segmentCount == 3 && report.copiedSegmentCount == 3)
        let log = (0..<60).map { Op(lsn: LSN($0 + 1), dimension: "d", key: "key \($0 % 20)", value: "r\($0 / 20)") }
        try Self.check(report, log: log)
    }

    @Test func anExistingNonEmptyDestinationOrAFileIsRefusedAndLeftAlone() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        try store.put("v", forKey: "k", in: "d")
        let busy = dir.child("busy")
        try FileManager.default.createDirectory(atPath: busy, withIntermediateDirectories: false)
        _ = FileManager.default.createFile(atPath: busy + "/keep.txt", contents: Data("mine".utf8))
        #expect(throws: StoreError.self) { try store.backup(to: busy) }
        do { try store.backup(to: busy) } catch { #expect(error.code == .invalidArgument) }
        #expect(dir.files(under: "busy") == ["keep.txt"])
        #expect(FileManager.default.contents(atPath: busy + "/keep.txt") == Data("mine".utf8))

        let file = dir.child("file")
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        do { try store.backup(to: file); Issue.record("a file was accepted") } catch { #expect(error.code == .invalidArgument) }
        do { try store.backup(to: dir.child("s")); Issue.record("the store itself was accepted") } catch { #expect(error.code == .invalidArgument) }
        do { try store.backup(to: dir.child("missing-parent/b")); Issue.record("a missing parent was accepted") } catch { #expect(error.code == .ioFailure) }

        // An empty directory is fine, and a second backup into it is refused.
        let empty = dir.child("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        let report = try store.backup(to: empty)
        #expect(report.lsn == 1)
        do { try store.backup(to: empty); Issue.record("a backup was overwritten") } catch { #expect(error.code == .invalidArgument) }
        try store.close()
        do { try store.backup(to: dir.child("after-close")); Issue.record("a closed store backed up") } catch { #expect(error.code == .closed) }
    }
}
