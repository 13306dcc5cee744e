import Foundation
import Testing
@testable import LayerStore

@Suite struct WALSpareTests {
    func names(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1
    }

    /// Waits (briefly) for the background preparation to leave a spare in `directory`.
    func waitForSpare(_ directory: String) -> String? {
        for _ in 0..<500 {
            if let spare = names(directory).first(where: { $0.hasPrefix("spare-") }) { return spare }
            usleep(10_000)
        }
        return nil
    }

    @Test func theFirstFileIsSmallAndZeroFilledAndTheNextOnesArePreparedSparesOfDoublingSize() throws {
        let dir = TemporaryDirectory()
        let writer = WALWriter(io: SystemFileIO(), directory: dir.path, storeID: 5, files: [], nextLSN: 1,
                               fileByteCount: 8 << 20, permissions: 0o644)
        var batch = WriteBatch()
        try batch.put([1, 2, 3], forKey: [9], in: "d")
        _ = try writer.append([batch], syncedLSN: 0) { _ in }
        // The first file is the writer's own: 1 MiB, every byte written (its tail reads zero).
        let first = dir.path + "/" + WALFormat.fileName(1)
        #expect(size(first) == Int(WALWriter.firstFileByteCount))
        let bytes = try #require(FileManager.default.contents(atPath: first))
        #expect(bytes[WALFormat.headerByteCount + 64..<bytes.count].allSatisfy { $0 == 0 })
        // Meanwhile a 2 MiB spare is prepared under a temporary name.
        writer.waitForSparePreparation()
        let spare = try #require(waitForSpare(dir.path))
        #expect(spare.hasSuffix(StoreLayout.tempSuffix))
        #expect(size(dir.path + "/" + spare) == 2 << 20)
        // The roll's next file is that spare, renamed; a 4 MiB one is prepared next.
        try writer.roll { _ in }
        _ = try writer.append([batch], syncedLSN: 1) { _ in }
        #expect(!names(dir.path).contains(spare))
        #expect(size(dir.path + "/" + WALFormat.fileName(2)) == 2 << 20)
        writer.waitForSparePreparation()
        let next = try #require(waitForSpare(dir.path))
        #expect(size(dir.path + "/" + next) == 4 << 20)
        // A clean close removes the spare and trims the current file.
        try writer.trimAndClose()
        #expect(names(dir.path) == [WALFormat.fileName(1), WALFormat.fileName(2)])
    }

    @Test func aSpareTooSmallForTheBatchIsRemovedAndTheNextOneHoldsTwoSuchBatches() throws {
        let dir = TemporaryDirectory()
        let writer = WALWriter(io: SystemFileIO(), directory: dir.path, storeID: 5, files: [], nextLSN: 1,
                               fileByteCount: 64 << 20, permissions: 0o644)
        var small = WriteBatch()
        try small.put([1], forKey: [9], in: "d")
        _ = try writer.append([small], syncedLSN: 0) { _ in }
        writer.waitForSparePreparation()
        let twoMiB = try #require(waitForSpare(dir.path))
        #expect(size(dir.path + "/" + twoMiB) == 2 << 20)
        // A batch of 3 MiB does not fit the 2 MiB spare: the writer makes its own file for it,
        // the spare goes, and the next one is prepared big enough for two such batches.
        var big = WriteBatch()
        for i in 0..<3 { try big.put([UInt8](repeating: UInt8(i), count: 1 << 20), forKey: [UInt8(i)], in: "d") }
        try writer.roll { _ in }
        _ = try writer.append([big], syncedLSN: 1) { _ in }
        #expect(!names(dir.path).contains(twoMiB), "the spare too small for the batch is removed")
        #expect(size(dir.path + "/" + WALFormat.fileName(2)) == WALWriter.recordByteCount(payload: big.byteCount) + WALFormat.headerByteCount)
        writer.waitForSparePreparation()
        let next = try #require(waitForSpare(dir.path))
        #expect(size(dir.path + "/" + next) == 8 << 20)
        // The next two big batches go into that spare, one after the other, with no roll between.
        try writer.roll { _ in }
        _ = try writer.append([big], syncedLSN: 4) { _ in }
        _ = try writer.append([big], syncedLSN: 4) { _ in }
        #expect(!names(dir.path).contains(next))
        #expect(writer.files.map(\.number) == [1, 2, 3])
        #expect(size(dir.path + "/" + WALFormat.fileName(3)) == 8 << 20)
        try writer.trimAndClose()
    }

    @Test func aSpareOnlyReservedForBigGroupsIsNotUsedForASmallOne() throws {
        let dir = TemporaryDirectory()
        let writer = WALWriter(io: SystemFileIO(), directory: dir.path, storeID: 5, files: [], nextLSN: 1,
                               fileByteCount: 64 << 20, permissions: 0o644)
        var big = WriteBatch()
        for i in 0..<2 { try big.put([UInt8](repeating: 1, count: 1 << 20), forKey: [UInt8(i)], in: "d") }
        _ = try writer.append([big], syncedLSN: 0) { _ in }
        writer.waitForSparePreparation()
        let reserved = try #require(waitForSpare(dir.path))
        // A group of a few bytes after the bulk: the reserved spare would make its every sync
        // convert extents; it goes, and the writer zero-fills a small file of its own.
        var small = WriteBatch()
        try small.put([1], forKey: [9], in: "d")
        try writer.roll { _ in }
        _ = try writer.append([small], syncedLSN: 2) { _ in }
        #expect(!names(dir.path).contains(reserved))
        #expect(size(dir.path + "/" + WALFormat.fileName(2)) == Int(WALWriter.firstFileByteCount))
        writer.waitForSparePreparation()
        try writer.trimAndClose()
    }

    @Test func aRecycledFileFirstUsedForBigGroupsIsNotUsedForASmallOne() throws {
        let dir = TemporaryDirectory()
        let writer = WALWriter(io: SystemFileIO(), directory: dir.path, storeID: 5, files: [], nextLSN: 1,
                               fileByteCount: 64 << 20, permissions: 0o644)
        var big = WriteBatch()
        for i in 0..<2 { try big.put([UInt8](repeating: 1, count: 1 << 20), forKey: [UInt8(i)], in: "d") }
        _ = try writer.append([big], syncedLSN: 0) { _ in }  // file 1: reserved, not zero-filled
        writer.waitForSparePreparation()
        try writer.roll { _ in }
        try writer.dropFiles(coveredBy: 2)  // file 1 becomes a recycled spare
        let spares = names(dir.path).filter { $0.hasPrefix("spare-") }
        #expect(spares.count == 2, "the reserved spare and the recycled file 1: \(spares)")
        // Its blocks past what its bulk use wrote were never written: a small group's file
        // must not be it (nor the reserved spare). The writer zero-fills one of its own.
        var small = WriteBatch()
        try small.put([1], forKey: [9], in: "d")
        _ = try writer.append([small], syncedLSN: 2) { _ in }
        for spare in spares { #expect(!names(dir.path).contains(spare)) }
        let second = dir.path + "/" + WALFormat.fileName(2)
        #expect(size(second) == Int(WALWriter.firstFileByteCount))
        #expect(ByteSurgery.read(second)[8] == UInt8(WALFormat.freshFileVersion))
        writer.waitForSparePreparation()
        try writer.trimAndClose()
    }

    @Test func recordsInAnActivatedSpareReplayAfterAReopen() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        var options = testOptions()
        options.walFileByteCount = 4 << 20
        let store = try Store(path: path, options: options)
        try store.put("a", forKey: "k0", in: "d")
        store.writer!.withLock { $0.wal.waitForSparePreparation() }
        _ = try #require(waitForSpare(path + "/wal"))
        try store.flush()  // rolls: the next commit goes into the spare
        for i in 1..<50 { try store.put("v\(i)", forKey: "k\(i)", in: "d") }
        let walNames = names(path + "/wal")
        #expect(!walNames.contains { $0.hasPrefix("spare-1.") }, "the spare became the next file: \(walNames)")
        #expect(store.recoveryReport.removedTempFiles.isEmpty)
        // A crash: the files as they are now, copied while the writer still holds them (with
        // the spare prepared meanwhile).
        _ = try #require(waitForSpare(path + "/wal"))
        let crashed = dir.child("crashed")
        try FileManager.default.copyItem(atPath: path, toPath: crashed)
        let reopened = try Store(path: crashed, options: options)
        for i in 1..<50 { #expect(try reopened.string(forKey: "k\(i)", in: "d") == "v\(i)") }
        #expect(try reopened.string(forKey: "k0", in: "d") == "a")
        #expect(reopened.recoveryReport.removedTempFiles.contains { $0.hasPrefix("wal/spare-") })
        try reopened.close()
        try store.close()
    }

    @Test func aCleanCloseLeavesNoSpareEvenAfterARoll() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try store.put("a", forKey: "k", in: "d")
        store.writer!.withLock { $0.wal.waitForSparePreparation() }
        try store.flush()  // rolls: no current file when the store closes
        try store.close()
        #expect(!names(path + "/wal").contains { $0.hasSuffix(StoreLayout.tempSuffix) }, "\(names(path + "/wal"))")
    }

    @Test func aLeftoverSpareIsRemovedByAWriterOpenAndByRecoverButNotByAReader() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try store.put("a", forKey: "k", in: "d")
        try store.close()
        let leftover = path + "/wal/spare-9.tmp"
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data(count: 4096)))
        var readOnly = testOptions()
        readOnly.readOnly = true
        let reader = try Store(path: path, options: readOnly)
        #expect(try reader.string(forKey: "k", in: "d") == "a")
        try reader.close()
        #expect(FileManager.default.fileExists(atPath: leftover))
        let report = try Recoverer.run(path: path, dryRun: true, salvage: false)
        #expect(report.tempFilesRemoved.contains("wal/spare-9.tmp"))
        let writer = try Store(path: path, options: testOptions())
        #expect(writer.recoveryReport.removedTempFiles == ["wal/spare-9.tmp"])
        // Removed in the background, before any spare of the new writer.
        writer.writer!.withLock { $0.wal.waitForSparePreparation() }
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(try writer.string(forKey: "k", in: "d") == "a")
        try writer.close()
    }

    /// Leftovers go in the background; the writer's own spares take other names, so none of
    /// them is removed by mistake, and a close leaves nothing behind.
    @Test func leftoverSparesAreRemovedAfterTheOpenUnderNamesTheWriterDoesNotReuse() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        var options = testOptions()
        options.walFileByteCount = 64 << 10
        let store = try Store(path: path, options: options)
        try store.put("a", forKey: "k", in: "d")
        try store.close()
        let leftovers = ["spare-1.tmp", "spare-7.tmp", "junk.tmp"]
        for name in leftovers {
            #expect(FileManager.default.createFile(atPath: path + "/wal/" + name, contents: Data(count: 4096)))
        }
        #expect(WALSparePreparer.number(ofSpareName: "spare-7.tmp") == 7)
        #expect(WALSparePreparer.number(ofSpareName: "junk.tmp") == nil)
        let writer = try Store(path: path, options: options)
        #expect(Set(writer.recoveryReport.removedTempFiles) == Set(leftovers.map { "wal/" + $0 }))
        // Enough commits to roll through several files and prepare spares.
        for i in 0..<300 { try writer.put(String(repeating: "v", count: 1000), forKey: "k\(i)", in: "d") }
        writer.writer!.withLock { $0.wal.waitForSparePreparation() }
        let spares = names(path + "/wal").filter { $0.hasSuffix(".tmp") }
        #expect(!spares.isEmpty && spares.allSatisfy { (WALSparePreparer.number(ofSpareName: $0) ?? 0) > 7 }, "\(spares)")
        try writer.close()
        #expect(names(path + "/wal").filter { $0.hasSuffix(".tmp") }.isEmpty)
        let reopened = try Store(path: path, options: options)
        for i in 0..<300 { #expect(try reopened.string(forKey: "k\(i)", in: "d")?.count == 1000) }
        try reopened.close()
    }

    @Test func aSpareThatCannotBePreparedLeavesCommitsWorking() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let io = FaultInjectingFileIO()
        // Every write to a spare fails, as on a full disk: the writer makes its own files.
        io.fail(.write, pathContains: "spare-", errno: ENOSPC, sticky: true)
        var options = testOptions()
        options.walFileByteCount = 64 << 10
        let store = try Store(path: path, options: options, io: io)
        for i in 0..<200 { try store.put(String(repeating: "x", count: 1000), forKey: "k\(i)", in: "d") }
        #expect(io.injected > 0)
        // A spare may be being prepared (and about to fail) right now: wait for it.
        store.writer!.withLock { $0.wal.waitForSparePreparation() }
        #expect(!names(path + "/wal").contains { $0.hasPrefix("spare-") }, "a failed spare is removed")
        try store.close()
        let reopened = try Store(path: path, options: options)
        for i in 0..<200 { #expect(try reopened.string(forKey: "k\(i)", in: "d")?.count == 1000) }
        try reopened.close()
    }
}
