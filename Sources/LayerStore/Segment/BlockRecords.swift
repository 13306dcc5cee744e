//! The records of one block from a position to the block's end: the innermost loop of a scan.
//!
//! A small value the caller keeps in a local variable, so that its offset lives in a register
//! across the loop (a cursor's fields, reached through `inout`, are loaded and stored on every
//! record). Records the fast decoder leaves alone go to `Segment.record`, out of line, which
//! decodes them or throws the typed `corrupted` error.

/// Records of one block of `segment`, from `offset` to the end of `bytes`.
struct BlockRecords {
    /// The block's raw bytes, kept alive by the ``SegmentCursor`` that handed them out.
    let bytes: UnsafeRawBufferPointer
    let blockIndex: Int
    let decoder: RecordDecoder
    /// Where the next record starts.
    private(set) var offset: Int
    /// The LSN of the record before `offset` (`minLSN` at the block's start): a version 2
    /// record's LSN is coded against it.
    private(set) var previousLSN: LSN
    /// What the block states for all its records (version 3; nothing before).
    let head: BlockHead

    /// - Parameters:
    ///   - offset: where to start; a compact block's records start after its head, so an
    ///     offset before that means its first record.
    ///   - previousLSN: the LSN of the record before `offset` in the block, the segment's
    ///     `minLSN` at its start (a seek's position carries it).
    init(bytes: UnsafeRawBufferPointer, blockIndex: Int, decoder: RecordDecoder, offset: Int, previousLSN: LSN, head: BlockHead) {
        self.bytes = bytes
        self.blockIndex = blockIndex
        self.decoder = decoder
        self.offset = max(offset, head.recordsStart)
        self.previousLSN = previousLSN
        self.head = head
    }

    /// No records.
    static var empty: BlockRecords {
        BlockRecords(bytes: UnsafeRawBufferPointer(start: nil, count: 0), blockIndex: -1,
                     decoder: RecordDecoder(minLSN: 0, lsnDeltaMax: 0, chainsLSNs: false), offset: 0, previousLSN: 0,
                     head: .plain(minLSN: 0))
    }

    /// Where the next record starts, as a segment position.
    var position: SegmentPosition { SegmentPosition(block: blockIndex, offset: offset, previousLSN: previousLSN) }

    /// The next record of the block, or `nil` at its end.
    /// - Parameter segment: the segment the block belongs to (decodes what the fast path leaves).
    @inline(__always)
    mutating func next(in segment: Segment) throws(StoreError) -> SegmentRecord? {
        if head.isCompact { return try next(in: segment, CompactRecords.self) }
        return decoder.chainsLSNs ? try next(in: segment, ChainedLSNs.self) : try next(in: segment, AbsoluteLSNs.self)
    }

    /// ``next(in:)`` for a block whose records use coding `C` (the scan's inner loop picks it
    /// once per block, so the loop holds no test of the version per record).
    /// - Precondition: `C.chained == decoder.chainsLSNs`, `C.compact == head.isCompact`.
    @inline(__always)
    mutating func next<C: LSNCoding>(in segment: Segment, _ coding: C.Type) throws(StoreError) -> SegmentRecord? {
        assert(C.chained == decoder.chainsLSNs && C.compact == head.isCompact, "a block walked with another segment version's coding")
        if C.compact {
            if let (record, next) = decoder.decodeCompact(bytes, at: offset, head: head) {
                offset = next
                return record
            }
        } else if let (record, next) = decoder.decode(bytes, at: offset, previousLSN: previousLSN, coding) {
            offset = next
            if C.chained { previousLSN = record.lsn }
            return record
        }
        guard offset < bytes.count else { return nil }
        return try nextChecked(in: segment)
    }

    @inline(never)
    private mutating func nextChecked(in segment: Segment) throws(StoreError) -> SegmentRecord {
        let (record, next) = try segment.record(in: bytes, at: offset, blockIndex: blockIndex, previousLSN: previousLSN, head: head)
        offset = next
        previousLSN = record.lsn
        return record
    }
}
