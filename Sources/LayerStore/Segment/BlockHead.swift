//! What a block states once for all its records (Formats/segment.md § Compact blocks): in
//! format version 3 the keys' shared prefix (in the key heap), the LSN its records count from,
//! and the key and value lengths when every record has the same; in versions 1 and 2 nothing.

/// The shared part of a block's records; a trivial value, free to copy. Its lengths are stored
/// narrow: a point read copies it with its block view a few times, and at seven words the
/// copies went through `memmove`.
struct BlockHead {
    /// The first `prefixLength` bytes of the block's first key, in the segment's key heap
    /// (empty before version 3).
    var prefix: UnsafeRawBufferPointer
    /// A version 3 record's LSN is `baseLSN + (code >> 1)`.
    var baseLSN: LSN
    private let storedKeyLength: Int32
    private let storedValueLength: Int32
    private let storedRecordsStart: UInt8
    /// Version 3.
    let isCompact: Bool

    /// Every key's length, or 0 when each record states its suffix's.
    @inline(__always) var keyLength: Int { Int(storedKeyLength) }
    /// Every put's value length, or -1 when each put states its own.
    @inline(__always) var valueLength: Int { Int(storedValueLength) }
    /// Where the first record starts (after the head; 0 before version 3).
    @inline(__always) var recordsStart: Int { Int(storedRecordsStart) }

    /// - Precondition: `0 ≤ keyLength ≤ 4096`, `-1 ≤ valueLength ≤ 16 MiB`, `0 ≤ recordsStart ≤ 15`.
    init(prefix: UnsafeRawBufferPointer, baseLSN: LSN, keyLength: Int, valueLength: Int, recordsStart: Int, isCompact: Bool) {
        self.prefix = prefix
        self.baseLSN = baseLSN
        self.storedKeyLength = Int32(keyLength)
        self.storedValueLength = Int32(valueLength)
        self.storedRecordsStart = UInt8(recordsStart)
        self.isCompact = isCompact
    }

    /// The head of a version 1 or 2 block: nothing shared, records from the block's start.
    @inline(__always)
    static func plain(minLSN: LSN) -> BlockHead {
        BlockHead(prefix: UnsafeRawBufferPointer(start: nil, count: 0), baseLSN: minLSN, keyLength: 0, valueLength: -1,
                  recordsStart: 0, isCompact: false)
    }

    /// Decodes a compact block's head from the start of its raw bytes, or `nil` if it is
    /// malformed: a varint running past the block, an LSN base above `lsnDeltaMax`, a key
    /// length shorter than the prefix or longer than the limit, a value length over the limit.
    static func decode(_ bytes: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer, minLSN: LSN, lsnDeltaMax: UInt64) -> BlockHead? {
        var r = ByteReader(bytes)
        guard let base = r.varint(), base <= lsnDeltaMax,
            let keyLength = r.varint(), keyLength == 0 || (keyLength >= max(1, UInt64(prefix.count)) && keyLength <= UInt64(Limits.keyByteCountMax)),
            let valueLength = r.varint(), valueLength <= UInt64(Limits.valueByteCountMax) + 1
        else { return nil }
        return BlockHead(prefix: prefix, baseLSN: minLSN + base, keyLength: Int(keyLength), valueLength: Int(valueLength) - 1,
                         recordsStart: r.position, isCompact: true)
    }
}
