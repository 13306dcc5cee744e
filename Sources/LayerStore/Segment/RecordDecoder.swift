//! The forward walk's record decoder: the common record, decoded from its bytes with one bounds
//! check instead of one per byte (Formats/segment.md § Blocks and records).
//!
//! A scan decodes every record of a dimension, so the generic decoder's cost per record
//! (`Segment.record`: a bounds-checked `ByteReader` step per byte of each varint) is paid
//! millions of times. Here a record whose header lies wholly inside the block is decoded with
//! unchecked loads from a window checked once; anything else (a record within
//! ``headerWindowByteCount`` bytes of the block's end, a non-minimal varint, a bad field) is
//! left to `Segment.record`, which decodes it or throws the typed `corrupted` error.
//!
//! Invariants:
//! - A record is returned only if it passes every check `Segment.record` makes: a known kind,
//!   `1 ≤ keyLength ≤ keyByteCountMax`, `valueLength ≤ valueByteCountMax`, an LSN within
//!   `[minLSN, maxLSN]`, key and value inside the block. So the two decoders agree on every
//!   record the fast path accepts, and on damage the slow path names the error.
//! - Every load lies inside `[offset, offset + headerWindowByteCount)`, checked against the
//!   block's count before the first load.
//!
//! Unsafe code: unchecked loads inside that window.

/// Decodes records of one segment's blocks; a trivial value, free to copy.
struct RecordDecoder {
    /// The longest record header with minimal varints: kind (1), keyLength ≤ 4096 (2 bytes),
    /// valueLength ≤ 16 MiB (4 bytes), lsnDelta ≤ 2^62 (9 bytes).
    static let headerWindowByteCount = 16

    /// The segment's `minLSN`: the base of a version 1 record's LSN, and the LSN "before" a
    /// version 2 block's first record.
    let minLSN: LSN
    /// `maxLSN − minLSN`: the largest delta a record of the segment may carry.
    let lsnDeltaMax: UInt64
    /// Format version 2: a record's LSN is coded against the record before it in its block.
    let chainsLSNs: Bool

    init(_ layout: SegmentLayout) {
        // No overflow: checkLayout has minLSN ≤ maxLSN ≤ 2^62.
        self.init(minLSN: layout.minLSN, lsnDeltaMax: layout.maxLSN - layout.minLSN, chainsLSNs: layout.chainsLSNs)
    }

    init(minLSN: LSN, lsnDeltaMax: UInt64, chainsLSNs: Bool) {
        self.minLSN = minLSN
        self.lsnDeltaMax = lsnDeltaMax
        self.chainsLSNs = chainsLSNs
    }

    /// The LSN a record's `code` stands for, after a record of LSN `previous` (`minLSN` at a
    /// block's start), or `nil` if it lies outside `[minLSN, minLSN + lsnDeltaMax]`
    /// (Formats/segment.md § Blocks and records). For callers off the scan's inner loop; the
    /// loop picks its ``LSNCoding`` once per block.
    @inline(__always)
    func lsn(code: UInt64, previous: LSN) -> LSN? {
        chainsLSNs ? lsn(code: code, previous: previous, ChainedLSNs.self) : lsn(code: code, previous: previous, AbsoluteLSNs.self)
    }

    /// The LSN a record's `code` stands for in coding `C`.
    @inline(__always)
    func lsn<C: LSNCoding>(code: UInt64, previous: LSN, _: C.Type) -> LSN? {
        guard C.chained else { return code <= lsnDeltaMax ? minLSN &+ code : nil }
        // The offset above minLSN: the step from the record before, unzigzagged, added modulo
        // 2^64. As `previous` and minLSN are at most 2^62 and a step is below 2^63 either way,
        // an LSN below minLSN wraps to an offset above lsnDeltaMax (< 2^62): one comparison
        // bounds both sides.
        let offset = (previous &- minLSN) &+ ((code &>> 1) ^ (0 &- (code & 1)))
        return offset <= lsnDeltaMax ? minLSN &+ offset : nil
    }

    /// The code of `lsn` after a record of LSN `previous` (version 2; `zigzag(lsn − previous)`).
    @inline(__always)
    static func chainedCode(_ lsn: LSN, previous: LSN) -> UInt64 {
        let delta = Int64(bitPattern: lsn &- previous)
        return UInt64(bitPattern: (delta &<< 1) ^ (delta &>> 63))
    }

    /// The record at `offset` of `block` and the offset after it, or `nil` if this decoder
    /// leaves it to `Segment.record` (near the block's end, an unusual encoding, or damage).
    /// - Parameter previousLSN: the LSN of the record before `offset` in the block, `minLSN`
    ///   at its start (version 2 codes LSNs against it; version 1 ignores it).
    /// - Precondition: `0 ≤ offset`.
    @inline(__always)
    func decode(_ block: UnsafeRawBufferPointer, at offset: Int, previousLSN: LSN) -> (record: SegmentRecord, next: Int)? {
        chainsLSNs ? decode(block, at: offset, previousLSN: previousLSN, ChainedLSNs.self)
            : decode(block, at: offset, previousLSN: previousLSN, AbsoluteLSNs.self)
    }

    /// ``decode(_:at:previousLSN:)`` for a segment whose records use coding `C`, known where
    /// the caller's loop starts: the loop then holds no test of the version per record.
    /// - Precondition: `C.chained == chainsLSNs`.
    @inline(__always)
    func decode<C: LSNCoding>(_ block: UnsafeRawBufferPointer, at offset: Int, previousLSN: LSN, _ coding: C.Type) -> (record: SegmentRecord, next: Int)? {
        let count = block.count
        guard count &- offset >= Self.headerWindowByteCount else { return nil }
        // Safe: a buffer of at least 16 bytes has a base address. Every load below is at
        // `p + i` with `i < headerWindowByteCount`, and `offset + headerWindowByteCount <= count`
        // was just checked.
        let base = block.baseAddress.unsafelyUnwrapped
        let p = base + offset
        let kind = p.load(as: UInt8.self)
        guard kind == SegmentFormat.recordPut || kind == SegmentFormat.recordTombstone else { return nil }
        var i = 1
        guard let keyLength = Self.varint(p, &i, byteCountMax: 2),
            keyLength >= 1, keyLength <= UInt64(Limits.keyByteCountMax)
        else { return nil }
        let isDelete = kind == SegmentFormat.recordTombstone
        var valueLength: UInt64 = 0
        if !isDelete {
            guard let v = Self.varint(p, &i, byteCountMax: 4), v <= UInt64(Limits.valueByteCountMax) else { return nil }
            valueLength = v
        }
        guard let code = Self.varint(p, &i, byteCountMax: 9), let lsn = lsn(code: code, previous: previousLSN, coding) else { return nil }
        // No overflow (so wrapping arithmetic, without the checks): both lengths were bounded
        // above, and `offset + i <= count`.
        let keyStart = offset &+ i
        let valueStart = keyStart &+ Int(truncatingIfNeeded: keyLength)
        let end = valueStart &+ Int(truncatingIfNeeded: valueLength)
        guard end <= count else { return nil }
        // Safe: `keyStart ≤ valueStart ≤ end ≤ count`.
        let record = SegmentRecord(
            key: SegmentKey(UnsafeRawBufferPointer(start: base + keyStart, count: valueStart &- keyStart)),
            value: UnsafeRawBufferPointer(start: base + valueStart, count: end &- valueStart),
            lsn: lsn, isDelete: isDelete)
        return (record, end)
    }

    /// The compact (version 3) record at `offset` of a block whose head is `head`, and the
    /// offset after it, or `nil` if this decoder leaves it to `Segment.record` (near the block's
    /// end, an unusual encoding, or damage). Makes every check `Segment.record` makes.
    /// - Precondition: `offset ≥ 0`; `head` was decoded from this block (its base LSN lies in
    ///   `[minLSN, minLSN + lsnDeltaMax]`, its key length at least its prefix's).
    @inline(__always)
    func decodeCompact(_ block: UnsafeRawBufferPointer, at offset: Int, head: BlockHead) -> (record: SegmentRecord, next: Int)? {
        let count = block.count
        guard count &- offset >= Self.headerWindowByteCount else { return nil }
        // Safe: as in `decode`: every load below lies in the 16 bytes from `p`, which are inside
        // the block (9 + 2 + 4 bytes of varints at most).
        let base = block.baseAddress.unsafelyUnwrapped
        let p = base + offset
        var i = 0
        guard let code = Self.varint(p, &i, byteCountMax: 9) else { return nil }
        // No overflow: head.baseLSN is within [minLSN, minLSN + lsnDeltaMax].
        guard code &>> 1 <= (minLSN &+ lsnDeltaMax) &- head.baseLSN else { return nil }
        let isDelete = code & 1 == 1
        let suffixLength: Int
        if head.keyLength > 0 {
            suffixLength = head.keyLength &- head.prefix.count
        } else {
            guard let s = Self.varint(p, &i, byteCountMax: 2), s <= UInt64(Limits.keyByteCountMax) else { return nil }
            suffixLength = Int(truncatingIfNeeded: s)
            let total = suffixLength &+ head.prefix.count
            guard total >= 1, total <= Limits.keyByteCountMax else { return nil }
        }
        var valueLength = 0
        if !isDelete {
            if head.valueLength >= 0 {
                valueLength = head.valueLength
            } else {
                guard let v = Self.varint(p, &i, byteCountMax: 4), v <= UInt64(Limits.valueByteCountMax) else { return nil }
                valueLength = Int(truncatingIfNeeded: v)
            }
        }
        // No overflow: both lengths were bounded above, and `offset + i <= count`.
        let suffixStart = offset &+ i
        let valueStart = suffixStart &+ suffixLength
        let end = valueStart &+ valueLength
        guard end <= count else { return nil }
        // Safe: `suffixStart ≤ valueStart ≤ end ≤ count`.
        let record = SegmentRecord(
            key: SegmentKey(prefix: head.prefix, suffix: UnsafeRawBufferPointer(start: base + suffixStart, count: suffixLength)),
            value: UnsafeRawBufferPointer(start: base + valueStart, count: end &- valueStart),
            lsn: head.baseLSN &+ (code &>> 1), isDelete: isDelete)
        return (record, end)
    }

    /// An LEB128 varint of at most `byteCountMax` bytes at `p + i`; `nil` if it is longer (the
    /// slow path decides whether a longer, non-minimal encoding is valid).
    ///
    /// The first three bytes are unrolled: a record's lengths mostly take one byte each and its
    /// LSN code one to three. The loop's counter and shifts were 40 of the 150 instructions a
    /// scan of 100-byte values spent on each record (callgrind).
    /// - Precondition: `i + byteCountMax ≤ headerWindowByteCount` for every call of a record
    ///   together (1 + 2 + 4 + 9 = 16), so every load lies inside the checked window.
    @inline(__always)
    private static func varint(_ p: UnsafeRawPointer, _ i: inout Int, byteCountMax: Int) -> UInt64? {
        // Safe, every load: at `p + i + k` with `k < byteCountMax`, inside the window (see the
        // precondition).
        let b0 = UInt64(p.load(fromByteOffset: i, as: UInt8.self))
        if b0 < 0x80 {
            i &+= 1
            return b0
        }
        guard byteCountMax >= 2 else { return nil }
        let b1 = UInt64(p.load(fromByteOffset: i &+ 1, as: UInt8.self))
        if b1 < 0x80 {
            i &+= 2
            return (b0 & 0x7F) | b1 &<< 7
        }
        guard byteCountMax >= 3 else { return nil }
        let b2 = UInt64(p.load(fromByteOffset: i &+ 2, as: UInt8.self))
        var result = (b0 & 0x7F) | (b1 & 0x7F) &<< 7 | (b2 & 0x7F) &<< 14
        if b2 < 0x80 {
            i &+= 3
            return result
        }
        var shift: UInt64 = 21
        var k = 3
        while k < byteCountMax {
            let byte = UInt64(p.load(fromByteOffset: i &+ k, as: UInt8.self))
            k &+= 1
            result |= (byte & 0x7F) &<< shift
            if byte < 0x80 {
                i &+= k
                return result
            }
            shift &+= 7
        }
        return nil
    }
}

/// How a segment's records code their LSNs, as a type: generic code specialised on it tests
/// the format version once, not once per record (Formats/segment.md § Blocks and records).
protocol LSNCoding {
    /// Version 2: against the record before in the block; version 1: against minLSN.
    static var chained: Bool { get }
    /// Version 3: compact records, against the block's base LSN (§ Compact blocks).
    static var compact: Bool { get }
}

/// Version 1: `lsn − minLSN`.
enum AbsoluteLSNs: LSNCoding {
    static var chained: Bool { false }
    static var compact: Bool { false }
}

/// Version 2: `zigzag(lsn − previous)`.
enum ChainedLSNs: LSNCoding {
    static var chained: Bool { true }
    static var compact: Bool { false }
}

/// Version 3: `(lsn − baseLSN) << 1 | isDelete`, in a compact record.
enum CompactRecords: LSNCoding {
    static var chained: Bool { false }
    static var compact: Bool { true }
}
