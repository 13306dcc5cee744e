//! Point reads and ordered scans over one (state, LSN) pair: the read path shared by ``Store``
//! and ``Snapshot``.
//!
//! Sources are consulted newest first: memtables (newest first), then segments (newest first).
//! The newest version of a key with `lsn <= snapshot LSN` wins; a tombstone hides older
//! versions. Segment data is read through the mapping with no lock; values are handed out as
//! views into the mapping, valid only inside the caller's closure.

/// Where a point read found its value.
@usableFromInline
enum ValueLookup {
    case missing
    /// In a segment's mapping or a memtable's arena, kept alive by the state the read used
    /// (`owner` is `nil`), or in a decoded block of the block cache, kept alive by `owner`.
    case mapped(UnsafeRawBufferPointer, owner: AnyObject?)


    /// Calls `body` with the value's bytes, or returns `nil` if it is missing.
    @inlinable
    func withValue<R>(_ body: (RawSpan) -> R) -> R? {
        switch self {
        case .missing: return nil
        case .mapped(let bytes, let owner): return withExtendedLifetime(owner) { body(bytes.bytes) }
        }
    }
}

enum Reader {
    /// Finds the value of `key` in `dimension` as of `lsn`. Not generic, so the read path is
    /// compiled once, and a caller's closure is specialised in the caller (no runtime metadata
    /// lookups per read).
    static func lookup(_ state: StoreState, lsn: LSN, key: [UInt8], dimension: String) throws(StoreError) -> ValueLookup {
        var failure: StoreError?
        // Memtables and segments are borrowed from `state` through its unmanaged copies: the
        // caller keeps `state` alive, and a read retains nothing shared.
        let found: ValueLookup? = key.withUnsafeBytes { k in
            for memtable in state.memtableRefs {
                let version = memtable._withUnsafeGuaranteedRef { memtable in
                    memtable.isEmpty ? nil : memtable.lookup(k, in: dimension, snapshotLSN: lsn)
                }
                if let version { return version.isDelete ? .missing : .mapped(version.value, owner: nil) }
            }
            guard let segments = state.dimensionTable.segments(of: dimension) else { return nil }
            guard !k.isEmpty else {
                failure = StoreError(.invalidArgument, "a key must not be empty")
                return .missing
            }
            for slot in segments {
                let result = slot._withUnsafeGuaranteedRef { slot in slot.find(k, snapshotLSN: lsn) }
                switch result {
                case .found(let hit): return hit.isDelete ? .missing : .mapped(hit.value, owner: hit.owner)
                case .missing: continue
                case .failed(let error):
                    failure = error
                    return .missing
                }
            }
            return .missing
        }
        if let failure { throw failure }
        guard let found else {
            // No segment of this dimension: a query that finds nothing still gets a typed error
            // if its arguments are invalid.
            try validateQuery(dimension: dimension, key: key)
            return .missing
        }
        return found
    }

    /// A query that finds nothing still gets a typed error if its arguments are invalid.
    static func validateQuery(dimension: String, key: [UInt8]?) throws(StoreError) {
        try Validate.dimensionName(dimension)
        if let key { try Validate.key(key.count) }
    }

    /// Calls `body` with each visible record of `dimension` whose key starts with `prefix`, in
    /// key order, until it returns `false`.
    static func scan(
        _ state: StoreState, lsn: LSN, dimension: String, prefix: [UInt8],
        _ body: (_ key: RawSpan, _ value: RawSpan) -> Bool
    ) throws(StoreError) {
        try Validate.dimensionName(dimension)
        let arena = ByteArena()
        var sources: [ScanSource] = []
        for memtable in state.memtables where !memtable.isEmpty {
            let entries = memtable.visibleEntries(in: dimension, prefix: prefix, snapshotLSN: lsn)
            if !entries.isEmpty { sources.append(ScanSource(entries, arena: arena)) }
        }
        let segments = try state.segments.made(dimension)
        if sources.isEmpty, segments.count == 1, segments[0].layout.maxLSN <= lsn {
            _ = try scanOne(segments[0], prefix: prefix, body)
            return
        }
        if sources.isEmpty, segments.count > 1, let ordered = try disjointInKeyOrder(segments, visibleAt: lsn) {
            for segment in ordered where try !scanOne(segment, prefix: prefix, body) { return }
            return
        }
        try prefix.withBytes { (p) throws(StoreError) in
            for segment in segments { sources.append(ScanSource(try SegmentCursor(segment: segment, from: p))) }
            var merge = try ScanMerge(sources, lsn: lsn)
            try merge.run(prefix: p, body)
        }
        withExtendedLifetime((arena, segments)) {}
    }

    /// The common case of a scan: one segment, no memtable entries, every record visible (a
    /// flushed or compacted dimension). No merge: the cursor's records go straight to `body`,
    /// each key's older versions skipped by comparing it with the previous key, unless the
    /// header says every key has one record (`keyCount == recordCount`: the verifier checks
    /// that count against the blocks): a load's keys mostly do, and the comparison was a
    /// sixth of the walk's own time with 100-byte values.
    /// - Returns: `true` if the walk reached the segment's end (a later segment's keys may still
    ///   match), `false` if `body` stopped it or its keys moved past `prefix`.
    private static func scanOne(_ segment: Segment, prefix: [UInt8], _ body: (_ key: RawSpan, _ value: RawSpan) -> Bool) throws(StoreError) -> Bool {
        try prefix.withBytes { (p) throws(StoreError) -> Bool in
            var cursor = try SegmentCursor(segment: segment, from: p, readAhead: true)
            var previous = SegmentKey.none
            let oneRecordPerKey = segment.header.keyCount == segment.header.recordCount
            return try KeyScratch.with { (scratch) throws(StoreError) -> Bool in
                // A block at a time: the inner loop's position stays in a local.
                /// One block's records; `false` once `body` stops or the keys leave the prefix.
                func walk<C: LSNCoding>(_ records: inout BlockRecords, _ coding: C.Type) throws(StoreError) -> Bool {
                    // A compact block's keys share its prefix: copied once per block.
                    let joiner = KeyJoiner(prefix: records.head.prefix, scratch: scratch, head: records.head)
                    while let record = try records.next(in: segment, coding) {
                        // Versions of a key are adjacent, newest first: only the first counts.
                        if !oneRecordPerKey {
                            if keysEqual(record.key, previous) { continue }
                            previous = record.key
                        }
                        if !p.isEmpty && !keyHasPrefix(record.key, p) { return false }
                        if !record.isDelete {
                            let key = C.compact ? joiner.joinPut(record.key) : record.key.suffix
                            if !body(key.bytes, record.value.bytes) { return false }
                        }
                    }
                    return true
                }
                let (chained, compact) = (segment.layout.chainsLSNs, segment.layout.isCompact)
                while var records = try cursor.nextBlock() {
                    let goOn = try compact ? walk(&records, CompactRecords.self)
                        : chained ? walk(&records, ChainedLSNs.self) : walk(&records, AbsoluteLSNs.self)
                    guard goOn else { return false }
                }
                return true
            }
        }
    }

    /// `segments` in key order if every one is visible at `lsn` and no two share a key (each
    /// one's last key comes before the next one's first), else `nil`. Such segments, the
    /// flushes of a dimension loaded in key order whose data spanned memtables, scan one after
    /// another with no merge: a key's every version is in one of them. Costs each segment's
    /// last block.
    private static func disjointInKeyOrder(_ segments: [Segment], visibleAt lsn: LSN) throws(StoreError) -> [Segment]? {
        var ranges: [(segment: Segment, first: [UInt8], last: [UInt8])] = []
        ranges.reserveCapacity(segments.count)
        for segment in segments {
            guard segment.layout.maxLSN <= lsn, segment.layout.blockCount > 0 else { return nil }
            ranges.append((segment, [UInt8](try segment.firstKey(0)), try segment.lastKey()))
        }
        ranges.sort { a, b in a.first.withUnsafeBytes { x in b.first.withUnsafeBytes { y in compareKeys(x, y) < 0 } } }
        for i in 1..<ranges.count {
            let ordered = ranges[i - 1].last.withUnsafeBytes { x in ranges[i].first.withUnsafeBytes { y in compareKeys(x, y) < 0 } }
            guard ordered else { return nil }
        }
        return ranges.map(\.segment)
    }
}
