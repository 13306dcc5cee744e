//! Reads WAL files (Formats/wal.md): the header, then records until the log ends.
//!
//! How the log ends decides what recovery may do (Formats/wal.md § Reading and damage):
//! - `clean`: a zero record header (the preallocated, never-written rest of the file).
//! - `torn`: a record that is incomplete or fails its checksum, with no valid record of this
//!   file after it. The writer died mid-append; the record was never acknowledged. Truncate.
//! - `damaged`: a bad record followed by a valid one. Acknowledged data may be behind it; it is
//!   never silently dropped.

/// A WAL file's decoded header.
struct WALHeader: Equatable {
    var storeID: UInt64
    var number: UInt64
    var baseLSN: LSN
    var salt: UInt64
}

/// One valid record, its payload borrowed from the file's bytes.
struct WALRecord {
    var offset: Int
    var firstLSN: LSN
    var operationCount: Int
    var payload: UnsafeRawBufferPointer
    /// The record's size in the file, with padding.
    var byteCount: Int
}

/// How a WAL file's sequence of records ends.
enum WALEnd: Equatable {
    /// The log ends cleanly at `offset`.
    case clean(offset: Int)
    /// A torn record at `offset`; `byteCount` non-zero bytes from there on were discarded.
    case torn(offset: Int, byteCount: Int)
    /// A bad record at `offset` with valid records after it.
    case damaged(offset: Int, reason: String)
}

enum WALReader {
    /// Decodes and checks the 64-byte header of WAL file `number`.
    static func header(_ bytes: UnsafeRawBufferPointer, number: UInt64, storeID: UInt64, path: String) throws(StoreError) -> WALHeader {
        var r = ByteReader(bytes)
        guard let magic = r.u64(), let version = r.u32(), let headerLength = r.u32(),
            let store = r.u64(), let fileNumber = r.u64(), let base = r.u64(), let salt = r.u64(),
            let reserved = r.u64(), let checksum = r.u64()
        else { throw .corrupted("WAL file shorter than its header", path: path, offset: 0) }
        guard magic == WALFormat.magic else { throw .corrupted("not a WAL file (bad magic)", path: path, offset: 0) }
        guard version <= WALFormat.formatVersion else {
            throw StoreError(.unsupportedFormat, "WAL format version \(version) is newer than \(WALFormat.formatVersion) (written by a newer LayerStore, or a damaged header)", path: path)
        }
        let seed = WALFormat.headerSeed(storeID: storeID, fileNumber: number)
        let expected = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: bytes[0..<WALFormat.headerChecksumOffset]), seed: seed)
        guard checksum == expected else {
            throw .corrupted("WAL header checksum mismatch (damaged, or from another store or file)", path: path, offset: 0)
        }
        guard version == WALFormat.formatVersion, Int(headerLength) == WALFormat.headerByteCount,
            store == storeID, fileNumber == number, reserved == 0, base >= 1
        else { throw .corrupted("WAL header fields are inconsistent", path: path, offset: 0) }
        return WALHeader(storeID: store, number: fileNumber, baseLSN: base, salt: salt)
    }

    /// Calls `body` for each valid record in order and returns how the log ends.
    /// The first record must carry `header.baseLSN`, each next one the LSN after its predecessor.
    static func records(_ bytes: UnsafeRawBufferPointer, header: WALHeader, _ body: (WALRecord) -> Void) -> WALEnd {
        let seed = WALFormat.recordSeed(storeID: header.storeID, fileNumber: header.number, salt: header.salt)
        var offset = WALFormat.headerByteCount
        var expectedLSN = header.baseLSN
        while true {
            switch record(bytes, at: offset, seed: seed, expectedLSN: expectedLSN) {
            case .record(let rec):
                body(rec)
                offset += rec.byteCount
                expectedLSN = rec.firstLSN + LSN(rec.operationCount)
            case .end:
                return .clean(offset: offset)
            case .bad(let reason):
                if let later = firstValidRecord(bytes, after: offset, seed: seed, minimumLSN: expectedLSN) {
                    return .damaged(offset: offset, reason: "\(reason); a valid record follows at \(later)")
                }
                return .torn(offset: offset, byteCount: nonZeroExtent(bytes, from: offset))
            }
        }
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
        var r = ByteReader(bytes, position: offset)
        let checksum = r.u64()!, payloadLength = Int(r.u32()!), kind = r.u8()!
        let reserved = Int(r.u8()!) | Int(r.u16()!) << 8
        let firstLSN = r.u64()!, count = Int(r.u32()!), reserved2 = r.u32()!
        if checksum == 0 && payloadLength == 0 && kind == 0 && firstLSN == 0 && count == 0 {
            return .end
        }
        guard payloadLength <= Limits.batchByteCountMax, payloadLength <= available - WALFormat.recordHeaderByteCount else {
            return .bad("record length \(payloadLength) runs past the end of the file")
        }
        let end = offset + WALFormat.recordHeaderByteCount + payloadLength
        let actual = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<end]), seed: seed ^ UInt64(offset))
        guard actual == checksum else { return .bad("record checksum mismatch") }
        guard kind == WALFormat.recordKindBatch, reserved == 0, reserved2 == 0,
            count >= 1, count <= Limits.batchOperationCountMax
        else { return .bad("record header fields are invalid") }
        if let expectedLSN, firstLSN != expectedLSN {
            return .bad("record starts at LSN \(firstLSN), expected \(expectedLSN)")
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + WALFormat.recordHeaderByteCount)..<end])
        guard decodeBatchPayload(payload, count: count, { _, _ in }) else { return .bad("record payload is malformed") }
        let size = WALWriter.recordByteCount(payload: payloadLength)
        return .record(WALRecord(offset: offset, firstLSN: firstLSN, operationCount: count, payload: payload,
                                 byteCount: min(size, bytes.count - offset)))
    }

    /// The offset of the first valid record after a bad one, scanning aligned offsets. Only runs
    /// when a record fails, to tell a torn tail (nothing valid after) from damage.
    private static func firstValidRecord(_ bytes: UnsafeRawBufferPointer, after offset: Int, seed: UInt64, minimumLSN: LSN) -> Int? {
        var candidate = offset + WALFormat.recordAlignment
        while candidate + WALFormat.recordHeaderByteCount <= bytes.count {
            if case .record(let rec) = record(bytes, at: candidate, seed: seed, expectedLSN: nil), rec.firstLSN >= minimumLSN {
                return candidate
            }
            candidate += WALFormat.recordAlignment
        }
        return nil
    }

    private static func isZero(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        bytes[range].allSatisfy { $0 == 0 }
    }

    /// The length of `bytes[from...]` up to and including its last non-zero byte.
    private static func nonZeroExtent(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> Int {
        var end = bytes.count
        while end > offset && bytes[end - 1] == 0 { end -= 1 }
        return end - offset
    }
}
