import Foundation
import Testing
@testable import LayerStore

/// Recycled WAL files (Formats/wal.md § Recycled files): a file a checkpoint covers becomes a
/// later file with a version-2 header, its earlier use's bytes left behind the new records.
@Suite struct WALRecyclingTests {
    static let storeID: UInt64 = 0x0BAD_CAFE_0000_0001

    func dimension(_ key: String) -> String { Int(key.split(separator: "-")[1])! % 2 == 0 ? "a" : "b" }

    func walNames(_ store: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store + "/wal")) ?? []).filter { $0.hasSuffix(".wal") }.sorted()
    }

    func inode(_ path: String) -> UInt64? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.systemFileNumber] as? UInt64
    }

    func formatVersion(_ path: String) -> UInt32? {
        let bytes = ByteSurgery.read(path)
        guard bytes.count >= 12 else { return nil }
        return UInt32(bytes[8]) | UInt32(bytes[9]) << 8 | UInt32(bytes[10]) << 16 | UInt32(bytes[11]) << 24
    }

    /// One record of `ops` puts, encoded as the writer would at `offset` of a file with `seed`.
    func record(firstLSN: LSN, syncedLSN: LSN, ops: Int = 2, seed: UInt64, offset: Int) throws -> [UInt8] {
        var batch = WriteBatch()
        for o in 0..<ops { try batch.put([UInt8](repeating: UInt8(o + 1), count: 24), forKey: Array("k\(firstLSN)-\(o)".utf8), in: "d") }
        var out = ByteWriter()
        WALWriter.encodeRecord(batch, firstLSN: firstLSN, syncedLSN: syncedLSN, seed: seed, offset: UInt64(offset), into: &out)
        return out.bytes
    }

    /// A file of `size` bytes: the header, `records` of this use from offset 64, then `middle`,
    /// then a stale record of an earlier use (another salt) and stale non-zero bytes to the end.
    func file(recycled: Bool, records: Int, middle: [UInt8], corruptFirst: Bool = false, size: Int = 4096) throws -> (bytes: [UInt8], header: WALHeader) {
        let salt: UInt64 = 0x5A17
        var bytes = WALFile.encodeHeader(storeID: Self.storeID, number: 7, baseLSN: 1, salt: salt, recycled: recycled)
        let seed = WALFormat.recordSeed(storeID: Self.storeID, fileNumber: 7, salt: salt)
        for i in 0..<records {
            bytes += try record(firstLSN: LSN(1 + 2 * i), syncedLSN: LSN(2 * i), seed: seed, offset: bytes.count)
        }
        if corruptFirst { bytes[WALFormat.headerByteCount + 40] ^= 0xFF }
        bytes += middle
        let staleSeed = WALFormat.recordSeed(storeID: Self.storeID, fileNumber: 3, salt: 0x01D)
        bytes += try record(firstLSN: 900, syncedLSN: 899, seed: staleSeed, offset: bytes.count)
        while bytes.count < size { bytes.append(UInt8(truncatingIfNeeded: bytes.count | 1)) }
        let header = try bytes.withUnsafeBytes { try WALReader.header($0, number: 7, storeID: Self.storeID, path: "t.wal") }
        return (bytes, header)
    }

    func read(_ f: (bytes: [UInt8], header: WALHeader)) -> (lsns: [LSN], end: WALEnd) {
        f.bytes.withUnsafeBytes { raw in
            var lsns: [LSN] = []
            let end = WALReader.records(raw, header: f.header) { lsns.append($0.firstLSN) }
            return (lsns, end)
        }
    }

    @Test func staleBytesAfterTheZeroHeaderOfARecycledFileAreACleanEnd() throws {
        let zeroHeader = [UInt8](repeating: 0, count: 32)
        let recycled = try file(recycled: true, records: 3, middle: zeroHeader)
        #expect(recycled.header.recycled)
        let r = read(recycled)
        #expect(r.lsns == [1, 3, 5])
        let end = WALFormat.headerByteCount + 3 * (try record(firstLSN: 1, syncedLSN: 0, seed: 0, offset: 0)).count
        #expect(r.end == .clean(offset: end))
        // The same bytes in a fresh (version 1) file are a torn tail: there nothing but zeros
        // may follow the records.
        let fresh = try file(recycled: false, records: 3, middle: zeroHeader)
        #expect(!fresh.header.recycled)
        guard case .torn(let offset, _, 0) = read(fresh).end else { Issue.record("expected a torn tail, got \(read(fresh).end)"); return }
        #expect(offset == end)
    }

    @Test func aBadRecordAtTheEndOfARecycledFileIsATornTailOfItsHeaderOnly() throws {
        // No zero header: a group that was being written when the writer died left garbage.
        let garbage = [UInt8](repeating: 0xA5, count: 40)
        let r = read(try file(recycled: true, records: 2, middle: garbage))
        #expect(r.lsns == [1, 3])
        let end = WALFormat.headerByteCount + 2 * (try record(firstLSN: 1, syncedLSN: 0, seed: 0, offset: 0)).count
        #expect(r.end == .torn(offset: end, byteCount: 32, discarded: 0))
    }

    @Test func aLaterRecordOfThisUseStillProvesDamageInARecycledFile() throws {
        // The first record is damaged; the second says LSN 1 was durable when it was written.
        let r = read(try file(recycled: true, records: 2, middle: [UInt8](repeating: 0, count: 32), corruptFirst: true))
        #expect(r.lsns.isEmpty)
        guard case .damaged(let offset, _) = r.end else { Issue.record("expected damage, got \(r.end)"); return }
        #expect(offset == WALFormat.headerByteCount)
    }

    @Test func aRecycledFileIsReadableByItsNewNumberOnly() throws {
        let f = try file(recycled: true, records: 1, middle: [UInt8](repeating: 0, count: 32))
        #expect(throws: StoreError.self) {
            try f.bytes.withUnsafeBytes { _ = try WALReader.header($0, number: 3, storeID: Self.storeID, path: "t.wal") }
        }
    }

    @Test func aNewerWALVersionIsAnUnsupportedFormat() throws {
        var bytes = WALFile.encodeHeader(storeID: Self.storeID, number: 7, baseLSN: 1, salt: 9, recycled: true)
        bytes[8] = 3
        let seed = WALFormat.headerSeed(storeID: Self.storeID, fileNumber: 7)
        let sum = Checksum.xxh3(Array(bytes[0..<WALFormat.headerChecksumOffset]), seed: seed)
        for i in 0..<8 { bytes[WALFormat.headerChecksumOffset + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
        #expect {
            try bytes.withUnsafeBytes { _ = try WALReader.header($0, number: 7, storeID: Self.storeID, path: "t.wal") }
        } throws: { ($0 as? StoreError)?.code == .unsupportedFormat }
    }

    /// A store whose flushes recycle WAL files: a file's inode comes back under a later number
    /// with a version-2 header, and a crash at any of these points loses nothing acknowledged.
    @Test func aCheckpointedFileComesBackAsALaterFileAndCrashesLoseNothing() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let options = testOptions { $0.walFileByteCount = 64 << 10; $0.flushInBackground = false }
        let store = try Store(path: path, options: options)
        var expected: [String: String] = [:]
        var inodes: [UInt64: String] = [:]
        var reused: [(old: String, new: String)] = []
        var crashes = 0
        for round in 0..<6 {
            // About 150 KiB a round: the 64 KiB files roll for size inside a round, so a
            // recycled file is often not the last one when the copy is taken.
            for i in 0..<150 {
                let key = "r\(round)-\(i)", value = String(repeating: Character(UnicodeScalar(UInt8(97 + i % 26))), count: 1000)
                try store.put(value, forKey: key, in: i % 2 == 0 ? "a" : "b")
                expected[key] = value
                if i % 50 == 49 {
                    // A crash now: the files as they are, copied while the writer holds them.
                    let crashed = dir.child("crash-\(round)-\(i)")
                    try FileManager.default.copyItem(atPath: path, toPath: crashed)
                    let reopened = try Store(path: crashed, options: options)
                    for (k, v) in expected { #expect(try reopened.string(forKey: k, in: dimension(k)) == v) }
                    try reopened.close()
                    crashes += 1
                }
            }
            for name in walNames(path) {
                guard let node = inode(path + "/wal/" + name) else { continue }
                // (A removed file's inode number may come back for a new file too: only a
                // version-2 header says the file was recycled.)
                if formatVersion(path + "/wal/" + name) == WALFormat.recycledFileVersion, inodes[node] != name {
                    let old = try #require(inodes[node], "a recycled file \(name) whose inode no earlier file had")
                    reused.append((old, name))
                }
                inodes[node] = name
            }
            try store.flush()
        }
        #expect(!reused.isEmpty, "no WAL file was recycled")
        #expect(crashes == 18)
        try store.close()
        let reopened = try Store(path: path, options: options)
        for (k, v) in expected { #expect(try reopened.string(forKey: k, in: dimension(k)) == v) }
        try reopened.close()
    }
}
