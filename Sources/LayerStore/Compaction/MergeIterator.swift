//! Merges the records of several segments into one stream in (key ascending, LSN descending)
//! order: every version of every key, as compaction needs them.

/// A k-way merge over segment cursors. The segments of one dimension have disjoint LSN ranges,
/// so a key's versions from different segments interleave correctly by LSN alone.
struct MergeIterator {
    private var cursors: [SegmentCursor]
    private var heads: [SegmentRecord?]

    init(_ segments: [Segment]) throws(StoreError) {
        cursors = []
        heads = []
        for segment in segments {
            var cursor = try [UInt8]().withBytes { (empty) throws(StoreError) in try SegmentCursor(segment: segment, from: empty) }
            heads.append(try cursor.next())
            cursors.append(cursor)
        }
    }

    /// The next record, copied out (the cursors move on, and their blocks with them).
    mutating func next() throws(StoreError) -> (key: [UInt8], version: MemVersion)? {
        var best = -1
        for i in heads.indices {
            guard let head = heads[i] else { continue }
            if best < 0 { best = i; continue }
            let order = compareKeys(head.key, heads[best]!.key)
            if order < 0 || (order == 0 && head.lsn > heads[best]!.lsn) { best = i }
        }
        guard best >= 0, let record = heads[best] else { return nil }
        let out = (record.key.array, MemVersion(lsn: record.lsn, isDelete: record.isDelete, value: [UInt8](record.value)))
        heads[best] = try cursors[best].next()
        return out
    }
}
