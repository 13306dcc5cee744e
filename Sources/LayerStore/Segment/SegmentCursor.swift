//! Walks a segment's records in order from a position, block by block.

/// A forward cursor over a segment's records (all versions, key order, newest first per key).
struct SegmentCursor {
    let segment: Segment
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
        self.position = key.isEmpty ? SegmentPosition(block: 0, offset: 0) : try segment.seek(key)
    }

    /// The next record, or `nil` at the end of the segment.
    mutating func next() throws(StoreError) -> SegmentRecord? {
        while position.block < Int(segment.layout.blockCount) {
            if loadedBlock != position.block {
                let view = try segment.block(position.block, cached: false)
                previousOwner = owner
                owner = view.owner
                bytes = view.bytes
                loadedBlock = position.block
            }
            if position.offset < bytes.count {
                let (record, next) = try segment.record(in: bytes, at: position.offset, blockIndex: position.block)
                position.offset = next
                return record
            }
            position = SegmentPosition(block: position.block + 1, offset: 0)
        }
        return nil
    }
}
