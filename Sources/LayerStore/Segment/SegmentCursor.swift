//! Walks a segment's records in order from a position, block by block.
//!
//! Two ways to walk, not to be mixed on one cursor: `next()`, a record at a time (merges), or
//! `nextBlock()`, a block's records at a time (the single-segment scan, whose inner loop then
//! keeps its position in a register). Either way a record is decoded by ``BlockRecords``: the
//! fast ``RecordDecoder`` inline, `Segment.record` out of line for the rest, so a malformed
//! record is the same typed error as on a point read.

/// A forward cursor over a segment's records (all versions, key order, newest first per key).
struct SegmentCursor {
    let segment: Segment
    private let decoder: RecordDecoder
    /// What `next()` walks: the rest of the current block.
    private var block = BlockRecords.empty
    /// The block to load next, and where in it the walk starts (a seek's offset, then 0), with
    /// the LSN of the record before that (a version 2 record's LSN is coded against it).
    private var nextBlockIndex: Int
    private var nextBlockOffset: Int
    private var nextBlockPreviousLSN: LSN
    /// Keep the current block's bytes alive, and the previous block's: a caller may still hold
    /// the record it was handed last (a scan compares keys with it) when the cursor moves on.
    private var owner: AnyObject?
    private var previousOwner: AnyObject?
    /// Whether blocks may be decoded ahead on another thread (``BlockReadAhead``), and the
    /// read-ahead once started: after the cursor's first blocks, so a short scan starts none.
    private let mayReadAhead: Bool
    private var readAhead: BlockReadAhead?
    private var blocksLoaded = 0

    /// Blocks a cursor loads itself before it starts reading ahead.
    static let blocksBeforeReadAhead = 2

    /// A cursor at the first record whose key is `>= key` (the first record for an empty key).
    /// - Parameter readAhead: decode an LZ4 segment's blocks (or verify any segment's, when every
    ///   read verifies) ahead on another core (a scan that walks on; merges of many segments do
    ///   not, which would start a thread per segment).
    init(segment: Segment, from key: UnsafeRawBufferPointer, readAhead: Bool = false) throws(StoreError) {
        self.segment = segment
        self.decoder = RecordDecoder(segment.layout)
        let position = key.isEmpty ? SegmentPosition(block: 0, offset: 0, previousLSN: segment.layout.minLSN) : try segment.seek(key)
        self.nextBlockIndex = position.block
        self.nextBlockOffset = position.offset
        self.nextBlockPreviousLSN = position.previousLSN
        // Blocks that cost more than a walk to hand out: LZ4 blocks (decompressed) and, when
        // every read verifies, any block (hashed whole).
        self.mayReadAhead = readAhead && BlockReadAhead.isWorthwhile
            && (segment.layout.codec == SegmentFormat.codecLZ4 || segment.verification == .everyRead)
    }

    /// The next record, or `nil` at the end of the segment. Its bytes stay valid until the
    /// cursor has moved on by two blocks (or is gone).
    @inline(__always)
    mutating func next() throws(StoreError) -> SegmentRecord? {
        if let record = try block.next(in: segment) { return record }
        return try nextInLaterBlock()
    }

    @inline(never)
    private mutating func nextInLaterBlock() throws(StoreError) -> SegmentRecord? {
        while let records = try nextBlock() {
            block = records
            if let record = try block.next(in: segment) { return record }
        }
        block = .empty
        return nil
    }

    /// The records of the next block, from the cursor's position in it to its end, or `nil`
    /// after the last block. The block's bytes stay valid until the cursor has handed out two
    /// more blocks (or is gone).
    mutating func nextBlock() throws(StoreError) -> BlockRecords? {
        guard nextBlockIndex < Int(segment.layout.blockCount) else { return nil }
        if mayReadAhead && readAhead == nil && blocksLoaded >= Self.blocksBeforeReadAhead {
            readAhead = BlockReadAhead(segment: segment, from: nextBlockIndex, helper: .whenItPays)
        }
        blocksLoaded += 1
        let view: BlockView
        if let readAhead {
            guard let ahead = try readAhead.next() else { preconditionFailure("a read-ahead ended before its segment's last block") }
            view = ahead
        } else {
            view = try segment.block(nextBlockIndex, cached: false)
        }
        previousOwner = owner
        owner = view.owner
        let records = BlockRecords(bytes: view.bytes, blockIndex: nextBlockIndex, decoder: decoder, offset: nextBlockOffset,
                                   previousLSN: nextBlockPreviousLSN, head: view.head)
        nextBlockIndex += 1
        nextBlockOffset = 0
        nextBlockPreviousLSN = segment.layout.minLSN
        return records
    }
}
