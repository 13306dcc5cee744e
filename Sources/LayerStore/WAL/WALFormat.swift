//! The constants shared by the WAL writer and reader. Each points to its section of
//! Formats/wal.md, which is the normative description of these bytes.

/// Layout of WAL files (Formats/wal.md).
enum WALFormat {
    /// "LayerWAL", the first 8 bytes of every WAL file (§ File header).
    static let magic: UInt64 = 0x4C41_5772_6579_614C  // bytes "LayerWAL" little-endian
    /// The newest format version this code reads (§ File header).
    static let formatVersion: UInt32 = 2
    /// The version of a file made new (zero-filled): nothing but zeros follows its records.
    static let freshFileVersion: UInt32 = 1
    /// The version of a recycled file (§ Recycled files): an earlier use's stale bytes may
    /// follow its records, behind a zero record header.
    static let recycledFileVersion: UInt32 = 2
    /// The file header's size; records start here (§ File header).
    static let headerByteCount = 64
    /// Offset of the header checksum inside the header (§ File header).
    static let headerChecksumOffset = 56
    /// Every record starts at a multiple of this (§ Records).
    static let recordAlignment = 8
    /// The fixed part of a record before its payload (§ Records).
    static let recordHeaderByteCount = 32
    /// Record kind: one atomic batch (§ Records).
    static let recordKindBatch: UInt8 = 1
    /// Operation kinds inside a batch payload (§ Batch payload).
    static let operationPut: UInt8 = 1
    static let operationDelete: UInt8 = 2
    /// Bytes before an operation's dimension name, key and value (§ Batch payload).
    static let operationHeaderByteCount = 8
    /// Domain tags mixed into file seeds so a WAL checksum can never equal another file kind's:
    /// the ASCII letters "WALH" and "WALR" read as big-endian numbers.
    static let headerSeedTag: UInt64 = 0x57414C48
    static let recordSeedTag: UInt64 = 0x57414C52

    /// The name of WAL file `number`: 16 lowercase hex digits and `.wal` (§ File names).
    static func fileName(_ number: UInt64) -> String { hex16(number) + ".wal" }

    /// The number in a WAL file name, or `nil` if the name is not one.
    static func fileNumber(_ name: String) -> UInt64? {
        let bytes = name.utf8
        guard bytes.count == 20, bytes.dropFirst(16).elementsEqual(".wal".utf8) else { return nil }
        return lowercaseHexValue(bytes.prefix(16))
    }

    /// Whether the first bytes of a file show a header that never reached the disk: fewer than
    /// `headerByteCount` of them, or all zero (§ Reading and damage, step 1). Only the last file
    /// may be like this; it holds nothing.
    static func headerNeverWritten(_ prefix: some Collection<UInt8>) -> Bool {
        prefix.count < headerByteCount || prefix.allSatisfy { $0 == 0 }
    }

    /// Seed of the header checksum of file `number` in store `storeID`.
    static func headerSeed(storeID: UInt64, fileNumber: UInt64) -> UInt64 {
        Checksum.fileSeed(headerSeedTag, storeID, fileNumber)
    }

    /// Base seed of the record checksums of one use of a WAL file; a record at offset `o`
    /// uses `recordSeed ^ o`.
    static func recordSeed(storeID: UInt64, fileNumber: UInt64, salt: UInt64) -> UInt64 {
        Checksum.fileSeed(recordSeedTag, storeID, fileNumber, salt)
    }
}

/// `v` as 16 lowercase hex digits, zero-padded: the numeric part of file names.
func hex16(_ v: UInt64) -> String { zeroPaddedHex(v, digits: 16) }

/// The low `digits` hex digits of `v`, lowercase, zero-padded. Written digit by digit into
/// the string's storage: `String(_:radix:)` with padding and concatenation cost about 8,000
/// instructions a file name, and an open names every segment it maps.
func zeroPaddedHex(_ v: UInt64, digits: Int) -> String {
    precondition(digits >= 1 && digits <= 16, "a UInt64 has at most 16 hex digits")
    return String(unsafeUninitializedCapacity: digits) { buffer in
        var end = 0
        writeZeroPaddedHex(v, digits: digits, into: buffer, at: &end)
        return end
    }
}

/// Writes the low `digits` hex digits of `v`, lowercase, zero-padded, at `buffer[i...]` and
/// moves `i` past them (names built in one buffer: `zeroPaddedHex`, `SegmentName.path`).
func writeZeroPaddedHex(_ v: UInt64, digits: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at i: inout Int) {
    var rest = v
    for j in stride(from: digits - 1, through: 0, by: -1) {
        let nibble = UInt8(truncatingIfNeeded: rest & 0xF)
        buffer[i + j] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
        rest >>= 4
    }
    i += digits
}
