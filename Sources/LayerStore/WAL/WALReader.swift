//! Reads WAL files (Formats/wal.md): the header, then records until the log ends.
//!
//! How the log ends decides what recovery may do (Formats/wal.md § Reading and damage):
//! - `clean`: a zero record header (the preallocated, never-written rest of the file).
//! - `torn`: a record that is incomplete or fails its checksum, with no valid record of this
//!   file after it. The writer died mid-append; the record was never acknowledged. Truncate.
//! - `damaged`: a bad (or zeroed) record followed by a valid one that was appended after a sync
//!   had covered the bad one: acknowledged data was lost. It is never silently dropped.
//! A later valid record without that proof is a crash artefact too: the disk kept some unsynced
//! writes and not others. It was never acknowledged, and is discarded with the torn tail.

/// A WAL file's decoded header.
struct WALHeader: Equatable {
    var storeID: UInt64
    var number: UInt64
    var baseLSN: LSN
    var salt: UInt64
    /// A recycled file (format version 2): bytes of an earlier use may follow the records.
    var recycled = false
}

/// One valid record, its payload borrowed from the file's bytes.
struct WALRecord {
    var offset: Int
    var firstLSN: LSN
    var operationCount: Int
    var payload: UnsafeRawBufferPointer
    /// The record's size in the file, with padding.
    var byteCount: Int
    /// Every LSN up to this one was durable when the record was appended (0: unknown).
    var syncedLSN: LSN
}

/// How a WAL file's sequence of records ends.
enum WALEnd: Equatable {
    /// The log ends cleanly at `offset`.
    case clean(offset: Int)
    /// The log ends with a crash artefact at `offset`: a torn or missing record that was never
    /// acknowledged. `byteCount` bytes from there to the last non-zero byte are discarded,
    /// among them `discarded` valid records (unsynced writes the disk kept out of order).
    case torn(offset: Int, byteCount: Int, discarded: Int)
    /// A bad record at `offset` followed by records proving it was made durable.
    case damaged(offset: Int, reason: String)
}

enum WALReader {
    /// Decodes and checks the 64-byte header of WAL file `number`. The checksum is checked
    /// before the version: a newer format keeps the magic, the version field and the checksum
    /// in place (Formats/README.md § Versioning), so a failing checksum is damage.
    static func header(_ bytes: UnsafeRawBufferPointer, number: UInt64, storeID: UInt64, path: String) throws(StoreError) -> WALHeader {
        var r = ByteReader(bytes)
        guard let magic = r.u64(), let version = r.u32(), let headerLength = r.u32(),
            let store = r.u64(), let fileNumber = r.u64(), let base = r.u64(), let salt = r.u64(),
            let reserved = r.u64(), let checksum = r.u64()
        else { throw .corrupted("WAL file shorter than its header", path: path, offset: 0) }
        guard magic == WALFormat.magic else { throw .corrupted("not a WAL file (bad magic)", path: path, offset: 0) }
        let seed = WALFormat.headerSeed(storeID: storeID, fileNumber: number)
        let expected = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: bytes[0..<WALFormat.headerChecksumOffset]), seed: seed)
        guard checksum == expected else {
            throw .corrupted("WAL header checksum mismatch (damaged, or from another store or file)", path: path, offset: 0)
        }
        guard version <= WALFormat.formatVersion else {
            throw StoreError(.unsupportedFormat, "WAL format version \(version) is newer than \(WALFormat.formatVersion): use a newer LayerStore", path: path)
        }
        guard version == WALFormat.freshFileVersion || version == WALFormat.recycledFileVersion,
            Int(headerLength) == WALFormat.headerByteCount,
            store == storeID, fileNumber == number, reserved == 0, base >= 1, base <= Limits.lsnMax
        else { throw .corrupted("WAL header fields are inconsistent", path: path, offset: 0) }
        return WALHeader(storeID: store, number: fileNumber, baseLSN: base, salt: salt, recycled: version == WALFormat.recycledFileVersion)
    }

    /// Calls `body` for each valid record in order and returns how the log ends.
    /// The first record must carry `header.baseLSN`, each next one the LSN after its predecessor.
    static func records(_ bytes: UnsafeRawBufferPointer, header: WALHeader, _ body: (WALRecord) -> Void) -> WALEnd {
        let seed = WALFormat.recordSeed(storeID: header.storeID, fileNumber: header.number, salt: header.salt)
        var offset = WALFormat.headerByteCount
        var expectedLSN = header.baseLSN
        while true {
            let reason: String
            let endsWithZeros: Bool
            switch record(bytes, at: offset, seed: seed, expectedLSN: expectedLSN) {
            case .record(let rec):
                body(rec)
                offset += rec.byteCount
                expectedLSN = rec.firstLSN + LSN(rec.operationCount)
                continue
            case .end:
                reason = "a zero record header"
                endsWithZeros = true
            case .bad(let why):
                reason = why
                endsWithZeros = false
            }
            return classifyEnd(bytes, at: offset, reason: reason, seed: seed, expectedLSN: expectedLSN,
                               recycled: header.recycled, zeroHeaderAtOffset: endsWithZeros)
        }
    }

    /// Decides what the end of the valid records at `offset` is: nothing after it (clean or
    /// torn), later records that were never proven durable (torn: a crash kept unsynced writes
    /// out of order), or a later record written after a sync covered `expectedLSN` (damage:
    /// acknowledged data was lost here). Scans the rest of the file, skipping zero words.
    ///
    /// - Parameters:
    ///   - recycled: `false` for a fresh file, where every non-zero byte after `offset` counts
    ///     towards a torn tail. In a recycled file, whose earlier use left bytes that are no
    ///     records of this one, only this use's bytes count: the record at `offset` unless it
    ///     is a zero header, and the valid later records (Formats/wal.md § Recycled files).
    ///   - zeroHeaderAtOffset: the records ended at a zero record header (or the file's end).
    private static func classifyEnd(_ bytes: UnsafeRawBufferPointer, at offset: Int, reason: String, seed: UInt64, expectedLSN: LSN,
                                    recycled: Bool, zeroHeaderAtOffset: Bool) -> WALEnd {
        var later = 0
        var laterEnd = offset
        var candidate = offset + WALFormat.recordAlignment
        while candidate + WALFormat.recordHeaderByteCount <= bytes.count {
            // Skip zeros at memory speed: a record header is never all zero.
            guard let nonZero = firstNonZeroByte(bytes, from: candidate) else { break }
            candidate = max(candidate, nonZero & ~(WALFormat.recordAlignment - 1))
            guard candidate + WALFormat.recordHeaderByteCount <= bytes.count else { break }
            if mayStartRecord(bytes, at: candidate, minimumLSN: expectedLSN),
                case .record(let rec) = record(bytes, at: candidate, seed: seed, expectedLSN: nil), rec.firstLSN >= expectedLSN {
                if rec.syncedLSN >= expectedLSN {
                    return .damaged(offset: offset, reason: "\(reason); the record at \(candidate) was written after LSN \(expectedLSN) was durable")
                }
                later += 1
                candidate += rec.byteCount
                laterEnd = candidate
                continue
            }
            candidate += WALFormat.recordAlignment
        }
        let extent: Int
        if recycled {
            let atOffset = zeroHeaderAtOffset ? 0 : min(WALFormat.recordHeaderByteCount, bytes.count - offset)
            extent = max(atOffset, laterEnd - offset)
        } else {
            extent = nonZeroExtent(bytes, from: offset)
        }
        return extent == 0 ? .clean(offset: offset) : .torn(offset: offset, byteCount: extent, discarded: later)
    }

    /// A cheap look at the fixed fields before a record's checksum is computed over its whole
    /// payload: the scan past the end of a recycled file meets megabytes of stale bytes.
    /// `false` only where ``record(_:at:seed:expectedLSN:)`` could not find a record with
    /// `firstLSN ≥ minimumLSN`.
    /// - Precondition: `offset + recordHeaderByteCount ≤ bytes.count`.
    private static func mayStartRecord(_ bytes: UnsafeRawBufferPointer, at offset: Int, minimumLSN: LSN) -> Bool {
        var r = ByteReader(bytes, position: offset + 12)
        guard let kind = r.u8(), let reserved1 = r.u8(), let reserved2 = r.u16(), let firstLSN = r.u64() else { return false }
        return kind == WALFormat.recordKindBatch && reserved1 == 0 && reserved2 == 0 && firstLSN >= minimumLSN
    }

    /// Every valid record of this file at or after `offset` whose first LSN is at least
    /// `minimumLSN`, found by scanning aligned offsets (for salvaging past damage: the records
    /// need not continue one another).
    static func validRecords(_ bytes: UnsafeRawBufferPointer, header: WALHeader, from offset: Int, minimumLSN: LSN) -> [WALRecord] {
        let seed = WALFormat.recordSeed(storeID: header.storeID, fileNumber: header.number, salt: header.salt)
        var found: [WALRecord] = []
        var candidate = max(offset, WALFormat.headerByteCount)
        while candidate + WALFormat.recordHeaderByteCount <= bytes.count {
            guard let nonZero = firstNonZeroByte(bytes, from: candidate) else { break }
            candidate = max(candidate, nonZero & ~(WALFormat.recordAlignment - 1))
            guard candidate + WALFormat.recordHeaderByteCount <= bytes.count else { break }
            if case .record(let rec) = record(bytes, at: candidate, seed: seed, expectedLSN: nil), rec.firstLSN >= minimumLSN {
                found.append(rec)
                candidate += rec.byteCount
            } else {
                candidate += WALFormat.recordAlignment
            }
        }
        return found
    }

    private enum Step {
        case record(WALRecord)
        case end
        case bad(String)
    }

    private static func record(_ bytes: UnsafeRawBufferPointer, at offset: Int, seed: UInt64, expectedLSN: LSN?) -> Step {
        let available = bytes.count - offset
        if available <= 0 { return .end }
        guard available >= WALFormat.recordHeaderByteCount else {
            return isZero(bytes, offset..<bytes.count) ? .end : .bad("truncated record header")
        }
        if isZero(bytes, offset..<(offset + WALFormat.recordHeaderByteCount)) { return .end }
        var r = ByteReader(bytes, position: offset)
        let checksum = r.u64()!, payloadLength = Int(r.u32()!), kind = r.u8()!
        let reserved = Int(r.u8()!) | Int(r.u16()!) << 8
        let firstLSN = r.u64()!, count = Int(r.u32()!), syncedDelta = r.u32()!
        guard payloadLength <= Limits.batchByteCountMax, payloadLength <= available - WALFormat.recordHeaderByteCount else {
            return .bad("record length \(payloadLength) runs past the end of the file")
        }
        let end = offset + WALFormat.recordHeaderByteCount + payloadLength
        let actual = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<end]), seed: seed ^ UInt64(offset))
        guard actual == checksum else { return .bad("record checksum mismatch") }
        guard kind == WALFormat.recordKindBatch, reserved == 0, syncedDelta >= 1, UInt64(syncedDelta) <= firstLSN,
            count >= 1, count <= Limits.batchOperationCountMax, firstLSN <= Limits.lsnMax
        else { return .bad("record header fields are invalid") }
        if let expectedLSN, firstLSN != expectedLSN {
            return .bad("record starts at LSN \(firstLSN), expected \(expectedLSN)")
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + WALFormat.recordHeaderByteCount)..<end])
        guard isValidBatchPayload(payload, count: count) else { return .bad("record payload is malformed") }
        let size = WALWriter.recordByteCount(payload: payloadLength)
        return .record(WALRecord(offset: offset, firstLSN: firstLSN, operationCount: count, payload: payload,
                                 byteCount: min(size, bytes.count - offset),
                                 syncedLSN: syncedDelta == UInt32.max ? 0 : firstLSN - LSN(syncedDelta)))
    }

    private static func isZero(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        guard let first = firstNonZeroByte(UnsafeRawBufferPointer(rebasing: bytes[0..<range.upperBound]), from: range.lowerBound) else { return true }
        return first >= range.upperBound
    }

    /// The length of `bytes[from...]` up to and including its last non-zero byte.
    private static func nonZeroExtent(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> Int {
        endOfNonZeroBytes(bytes, from: offset) - offset
    }
}
