//! Walks a segment's records in order from a position, block by block.
//!
//! The hot loop of every scan and merge: `next()` is the in-block fast path (``RecordDecoder``),
//! inlined into its caller; moving to the next block, the records the fast decoder leaves
//! alone, and every error are out of line in `nextSlow()`, which decodes with
//! `Segment.record` and so throws the same typed errors as a point read.

/// A forward cursor over a segment's records (all versions, key order, newest first per key).
struct SegmentCursor {
    let segment: Segment
    private let decoder: RecordDecoder
    private var position: SegmentPosition
    private var bytes: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    private var loadedBlock = -1
    /// Keep the current block's bytes alive, and the previous block's: a caller may still hold
    /// the record it was handed last (a scan compares keys with it) when the cursor moves on.
    private var owner: AnyObject?
    private var previousOwner: AnyObject?

    /// A cursor at the first record whose key is `>= key` (the first record for an empty key).
    init(segment: Segment, from key: UnsafeRawBufferPointer) throws(StoreError) {
        self.segment = segment
        self.decoder = RecordDecoder(segment.layout)
        self.position = key.isEmpty ? SegmentPosition(block: 0, offset: 0) : try segment.seek(key)
    }

    /// The next record, or `nil` at the end of the segment. Its bytes stay valid until the
    /// cursor has moved on by two blocks (or is gone).
    @inline(__always)
    mutating func next() throws(StoreError) -> SegmentRecord? {
        // `bytes` is the block at `position.block` (empty before the first block and after the
        // last): `nextSlow` loads the next block as soon as it moves there.
        if position.offset < bytes.count, let (record, next) = decoder.decode(bytes, at: position.offset) {
            position.offset = next
            return record
        }
        return try nextSlow()
    }

    /// Loads the next block when the current one is done, and decodes the records the fast
    /// decoder leaves to `Segment.record` (which throws on damage).
    @inline(never)
    private mutating func nextSlow() throws(StoreError) -> SegmentRecord? {
        while position.block < Int(segment.layout.blockCount) {
            if loadedBlock != position.block {
                let view = try segment.block(position.block, cached: false)
                previousOwner = owner
                owner = view.owner
                bytes = view.bytes
                loadedBlock = position.block
            }
            if position.offset < bytes.count {
                if let (record, next) = decoder.decode(bytes, at: position.offset) {
                    position.offset = next
                    return record
                }
                let (record, next) = try segment.record(in: bytes, at: position.offset, blockIndex: position.block)
                position.offset = next
                return record
            }
            position = SegmentPosition(block: position.block + 1, offset: 0)
        }
        // At the end: no block is current, so a later call cannot take the fast path into the
        // last block again.
        bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        return nil
    }
}
