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
            for segment in segments {
                let result = segment._withUnsafeGuaranteedRef { segment in
                    Result { () throws(StoreError) in try segment.find(k, snapshotLSN: lsn) }
                }
                switch result {
                case .success(.some(let (record, owner))): return record.isDelete ? .missing : .mapped(record.value, owner: owner)
                case .success(.none): continue
                case .failure(let error):
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
        let segments = state.segments[dimension] ?? []
        if sources.isEmpty, segments.count == 1, segments[0].layout.maxLSN <= lsn {
            try scanOne(segments[0], prefix: prefix, body)
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
    /// each key's older versions skipped by comparing it with the previous key.
    private static func scanOne(_ segment: Segment, prefix: [UInt8], _ body: (_ key: RawSpan, _ value: RawSpan) -> Bool) throws(StoreError) {
        try prefix.withBytes { (p) throws(StoreError) in
            var cursor = try SegmentCursor(segment: segment, from: p, readAhead: true)
            var previous = UnsafeRawBufferPointer(start: nil, count: 0)
            // A block at a time: the inner loop's position stays in a local.
            while var records = try cursor.nextBlock() {
                while let record = try records.next(in: segment) {
                    // Versions of a key are adjacent, newest first: only the first counts.
                    if keysEqual(record.key, previous) { continue }
                    previous = record.key
                    if !p.isEmpty && !hasPrefix(record.key, p) { return }
                    if !record.isDelete && !body(record.key.bytes, record.value.bytes) { return }
                }
            }
        }
    }
}
