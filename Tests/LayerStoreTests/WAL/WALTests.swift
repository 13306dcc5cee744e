import Foundation
import Testing
@testable import LayerStore

/// Writes WAL files with the real writer and reads them back with the real reader.
@Suite struct WALTests {
    static let storeID: UInt64 = 0x1234_5678_9ABC_DEF0

    /// A WAL directory with one file holding `batches` (each `ops` puts), returns the file path.
    /// `synced`: each record is appended after everything before it was durable (a writer that
    /// syncs every commit); otherwise none is (one group commit that never finished).
    func writeWAL(_ dir: TemporaryDirectory, batches: Int, ops: Int = 3, valueSize: Int = 20, firstLSN: LSN = 1, synced: Bool = true) throws -> String {
        let writer = WALWriter(io: SystemFileIO(), directory: dir.path, storeID: Self.storeID, files: [], nextLSN: firstLSN,
                               fileByteCount: 1 << 16, permissions: 0o644)
        for b in 0..<batches {
            var batch = WriteBatch()
            for o in 0..<ops {
                try batch.put([UInt8](repeating: UInt8(o), count: valueSize), forKey: Array("k\(b)-\(o)".utf8), in: "d")
            }
            _ = try writer.append([batch], syncedLSN: synced ? writer.nextLSN - 1 : firstLSN - 1) { _ in }
        }
        try writer.sync()
        return dir.path + "/" + WALFormat.fileName(1)
    }

    struct Read {
        var records: [(lsn: LSN, count: Int)] = []
        var end: WALEnd
    }

    func read(_ path: String, number: UInt64 = 1, storeID: UInt64 = storeID) throws -> Read {
        let bytes = ByteSurgery.read(path)
        return try bytes.withUnsafeBytes { raw in
            let header = try WALReader.header(raw, number: number, storeID: storeID, path: path)
            var records: [(LSN, Int)] = []
            let end = WALReader.records(raw, header: header) { records.append(($0.firstLSN, $0.operationCount)) }
            return Read(records: records, end: end)
        }
    }

    @Test func recordsRoundTripWithContiguousLSNs() throws {
        let dir = TemporaryDirectory()
        let path = try writeWAL(dir, batches: 5)
        let r = try read(path)
        #expect(r.records.map(\.lsn) == [1, 4, 7, 10, 13])
        #expect(r.records.allSatisfy { $0.count == 3 })
        guard case .clean = r.end else { Issue.record("expected a clean end, got \(r.end)"); return }
    }

    @Test func truncationAtEveryOffsetOfTheLastRecordIsATornTail() throws {
        let dir = TemporaryDirectory()
        let path = try writeWAL(dir, batches: 3)
        let full = ByteSurgery.read(path)
        let lastStart = WALFormat.headerByteCount + 2 * WALWriter.recordByteCount(payload: recordPayloadSize(ops: 3, keyLength: 4, valueSize: 20))
        let lastEnd = lastStart + WALWriter.recordByteCount(payload: recordPayloadSize(ops: 3, keyLength: 4, valueSize: 20))
        let unpaddedEnd = lastStart + WALFormat.recordHeaderByteCount + recordPayloadSize(ops: 3, keyLength: 4, valueSize: 20)
        for cut in lastStart..<lastEnd {
            // Truncated file (the preallocated zeros beyond are gone too), and zeroed-tail variant.
            var zeroed = full
            for i in cut..<zeroed.count { zeroed[i] = 0 }
            for bytes in [Array(full[0..<cut]), zeroed] {
                ByteSurgery.write(path, bytes)
                let r = try read(path)
                // Only the padding after a record is outside its checksum: losing it loses nothing.
                let complete = cut >= unpaddedEnd
                #expect(r.records.count == (complete ? 3 : 2), "cut at \(cut)")
                switch r.end {
                case .clean(let offset):
                    // A cut that keeps only zero bytes of the last record (its checksum may begin with
                    // a zero byte) leaves nothing to tell from an unwritten tail.
                    let keptOnlyZeros = full[lastStart..<cut].allSatisfy { $0 == 0 }
                    #expect(complete || (keptOnlyZeros && offset == lastStart), "cut at \(cut)")
                case .torn(let offset, let count, _):
                    #expect(!complete && offset == lastStart, "cut at \(cut)")
                    #expect(count <= cut - lastStart, "cut at \(cut)")
                case .damaged: Issue.record("a torn tail at \(cut) was reported as damage")
                }
            }
        }
    }

    func recordPayloadSize(ops: Int, keyLength: Int, valueSize: Int) -> Int {
        ops * (WALFormat.operationHeaderByteCount + 1 + keyLength + valueSize)
    }

    @Test func aBadRecordFollowedByAValidOneIsDamageNotATornTail() throws {
        let dir = TemporaryDirectory()
        let path = try writeWAL(dir, batches: 4)
        let recordSize = WALWriter.recordByteCount(payload: recordPayloadSize(ops: 3, keyLength: 4, valueSize: 20))
        // Flip a payload byte of the second record, then every header field of it in turn.
        for fieldOffset in [0, 8, 12, 16, 24, 40] {
            let original = ByteSurgery.read(path)
            ByteSurgery.flip(path, at: WALFormat.headerByteCount + recordSize + fieldOffset)
            let r = try read(path)
            #expect(r.records.count == 1, "field \(fieldOffset)")
            guard case .damaged(let offset, _) = r.end else {
                Issue.record("field \(fieldOffset): expected damage, got \(r.end)"); ByteSurgery.write(path, original); continue
            }
            #expect(offset == WALFormat.headerByteCount + recordSize)
            ByteSurgery.write(path, original)
        }
    }

    @Test func unsyncedRecordsAfterABadOneAreACrashArtefactNotDamage() throws {
        // One group commit in flight: records 2..4 appended, none synced; the crash kept 3 and 4
        // but not 2. Nothing of it was acknowledged: a torn tail, the later records discarded.
        let dir = TemporaryDirectory()
        let path = try writeWAL(dir, batches: 4, synced: false)
        let recordSize = WALWriter.recordByteCount(payload: recordPayloadSize(ops: 3, keyLength: 4, valueSize: 20))
        var bytes = ByteSurgery.read(path)
        let second = WALFormat.headerByteCount + recordSize
        for i in second..<(second + recordSize) { bytes[i] = 0 }
        ByteSurgery.write(path, bytes)
        let r = try read(path)
        #expect(r.records.count == 1)
        guard case .torn(let offset, _, let discarded) = r.end else { Issue.record("expected a torn tail, got \(r.end)"); return }
        #expect(offset == second)
        #expect(discarded == 2)
    }

    @Test func aZeroedRecordBeforeProvenDurableOnesIsDamage() throws {
        // Every record was appended after its predecessors were durable: a zeroed header in the
        // middle (lost sectors) must not end the log silently.
        let dir = TemporaryDirectory()
        let path = try writeWAL(dir, batches: 4, synced: true)
        let recordSize = WALWriter.recordByteCount(payload: recordPayloadSize(ops: 3, keyLength: 4, valueSize: 20))
        var bytes = ByteSurgery.read(path)
        let second = WALFormat.headerByteCount + recordSize
        for i in second..<(second + 32) { bytes[i] = 0 }
        ByteSurgery.write(path, bytes)
        guard case .damaged(let offset, _) = try read(path).end else { Issue.record("a zeroed durable record went unnoticed"); return }
        #expect(offset == second)
    }

    @Test func aRecordCopiedToAnotherOffsetOrFileFailsItsChecksum() throws {
        let dirA = TemporaryDirectory(), dirB = TemporaryDirectory()
        let a = try writeWAL(dirA, batches: 2)
        let b = try writeWAL(dirB, batches: 2)
        let recordSize = WALWriter.recordByteCount(payload: recordPayloadSize(ops: 3, keyLength: 4, valueSize: 20))
        let bytesA = ByteSurgery.read(a)
        // File B's second record replaced by file A's second record: same offset, same LSNs,
        // but file A's salt: a stale record from an earlier use of the file.
        var bytesB = ByteSurgery.read(b)
        let second = WALFormat.headerByteCount + recordSize
        bytesB.replaceSubrange(second..<(second + recordSize), with: bytesA[second..<(second + recordSize)])
        ByteSurgery.write(b, bytesB)
        let r = try read(b)
        #expect(r.records.count == 1)
        // A's first record moved to where its second was (in A itself): offset-bound checksum fails.
        var moved = bytesA
        moved.replaceSubrange(second..<(second + recordSize), with: bytesA[WALFormat.headerByteCount..<(WALFormat.headerByteCount + recordSize)])
        ByteSurgery.write(a, moved)
        #expect(try read(a).records.count == 1)
    }

    @Test func headerChecksAreTyped() throws {
        let dir = TemporaryDirectory()
        let path = try writeWAL(dir, batches: 1)
        #expect(throws: StoreError.self) { _ = try read(path, storeID: Self.storeID + 1) }
        #expect(throws: StoreError.self) { _ = try read(path, number: 2) }
        for offset in [0, 9, 16, 24, 32, 40, 56] {
            let original = ByteSurgery.read(path)
            ByteSurgery.flip(path, at: offset)
            do { _ = try read(path); Issue.record("flip at header offset \(offset) was accepted") } catch let e as StoreError {
                #expect(e.code == .corrupted || e.code == .unsupportedFormat)
            }
            ByteSurgery.write(path, original)
        }
        // A newer format version (with a valid checksum) is refused as unsupported, not as damage.
        var bytes = ByteSurgery.read(path)
        bytes[8] = 3  // 2 is a recycled file (WALRecyclingTests)
        let sum = Checksum.xxh3(Array(bytes[0..<56]), seed: WALFormat.headerSeed(storeID: Self.storeID, fileNumber: 1))
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { bytes[56 + i] = $0[i] } }
        ByteSurgery.write(path, bytes)
        do { _ = try read(path); Issue.record("newer version accepted") } catch let e as StoreError {
            #expect(e.code == .unsupportedFormat)
        }
    }

    @Test func rollingStartsANewFileOnlyAtTheNextRecord() throws {
        let dir = TemporaryDirectory()
        var durable: [LSN] = []
        let writer = WALWriter(io: SystemFileIO(), directory: dir.path, storeID: Self.storeID, files: [], nextLSN: 1,
                               fileByteCount: 1 << 16, permissions: 0o644)
        var batch = WriteBatch()
        try batch.put([1, 2, 3], forKey: [9], in: "d")
        _ = try writer.append([batch], syncedLSN: writer.nextLSN - 1) { durable.append($0) }
        try writer.roll { durable.append($0) }
        #expect(durable == [1])
        // Beside the WAL files: the spare the writer prepares for the next one.
        #expect(dir.files().filter { !$0.hasSuffix(StoreLayout.tempSuffix) } == [WALFormat.fileName(1)])
        try writer.roll { durable.append($0) }  // nothing to roll: no new file, no callback
        #expect(durable == [1])
        _ = try writer.append([batch], syncedLSN: writer.nextLSN - 1) { durable.append($0) }
        #expect(dir.files().filter { !$0.hasSuffix(StoreLayout.tempSuffix) } == [WALFormat.fileName(1), WALFormat.fileName(2)])
        #expect(writer.files.map(\.baseLSN) == [1, 2])
        try writer.dropFiles(coveredBy: 1)
        #expect(dir.files().filter { !$0.hasSuffix(StoreLayout.tempSuffix) } == [WALFormat.fileName(2)])
    }

    @Test func malformedPayloadIsRejectedAsAWhole() {
        var batch = WriteBatch()
        try! batch.put([1], forKey: [1], in: "d")
        try! batch.put([2], forKey: [2], in: "d")
        var bytes = batch.payload.bytes
        bytes.withUnsafeBytes { raw in
            var seen = 0
            #expect(decodeBatchPayload(raw, count: 2) { _, _ in seen += 1 })
            #expect(seen == 2)
            #expect(!decodeBatchPayload(raw, count: 3) { _, _ in })
            #expect(!decodeBatchPayload(raw, count: 1) { _, _ in })
        }
        bytes[1] = 0  // dimension name length 0
        bytes.withUnsafeBytes { raw in
            var seen = 0
            #expect(!decodeBatchPayload(raw, count: 2) { _, _ in seen += 1 })
            #expect(seen == 0)
        }
    }

    /// A name the same as the operation before's is not checked again, any other is: a bad
    /// name after a good one, or after the same bad name's first use, fails the payload.
    @Test func everyDifferentDimensionNameOfAPayloadIsChecked() {
        var batch = WriteBatch()
        try! batch.put([1], forKey: [1], in: "dd")
        try! batch.put([2], forKey: [2], in: "dd")
        try! batch.put([3], forKey: [3], in: "ee")
        let good = batch.payload.bytes
        good.withUnsafeBytes { #expect(isValidBatchPayload($0, count: 3)) }
        // Each operation: an 8-byte header, the name, a 1-byte key, a 1-byte value.
        let third = 2 * (8 + 2 + 1 + 1) + 8
        var bad = good
        bad[third] = UInt8(ascii: "/")  // "/e": not a name
        bad.withUnsafeBytes { #expect(!isValidBatchPayload($0, count: 3)) }
        bad = good
        bad[8] = UInt8(ascii: "."); bad[8 + 12] = UInt8(ascii: ".")  // ".d" twice
        bad.withUnsafeBytes { #expect(!isValidBatchPayload($0, count: 3)) }
    }
}
