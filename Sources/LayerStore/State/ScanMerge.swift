//! The general scan: several ordered sources (memtables, then segments, newest first) merged
//! into one stream of each key's newest visible version.
//!
//! Why runs: a dimension is often held by two or more segments whose keys hardly interleave (a
//! load in key order splits a dimension where a memtable froze). Picking the smallest key
//! among every source for every record costs a compare per source per record; instead, once a
//! source holds the smallest key, it yields records on its own while they stay below the
//! smallest key of every other source (the bound): one compare per record, as a single
//! segment's scan costs, however many sources there are.
//!
//! Invariants:
//! - Each source yields one version per key, the newest with `lsn <= snapshot LSN`, in key
//!   order. For a key in several sources, the source with the newest version yields it; the
//!   others are moved past it before the run starts, so every bound is above the run's key.
//! - A record's bytes stay valid while its source has not moved on by two blocks (the cursor
//!   keeps the previous block): the bound and the dedup key are each the current or last
//!   record of a source.

/// One ordered input of a scan, yielding the newest visible version of each key.
struct ScanSource {
    private var cursor: SegmentCursor?
    private var entries: [SegmentRecord]
    private var next = 0
    /// The key of the last record taken from the cursor (visible or not): older versions of it
    /// follow and are skipped.
    private var lastKey = SegmentKey.none
    private(set) var current: SegmentRecord?

    init(_ cursor: SegmentCursor) {
        self.cursor = cursor
        self.entries = []
    }

    /// Memtable entries (already one visible version per key), copied into `arena`.
    init(_ memEntries: [MemEntry], arena: ByteArena) {
        self.cursor = nil
        self.entries = memEntries.map { e in
            SegmentRecord(key: SegmentKey(arena.copy(e.key)), value: arena.copy(e.version.value), lsn: e.version.lsn, isDelete: e.version.isDelete)
        }
    }

    @inline(__always)
    mutating func advance(lsn: LSN) throws(StoreError) {
        guard cursor != nil else {
            current = next < entries.count ? entries[next] : nil
            next += 1
            return
        }
        while let record = try cursor!.next() {
            // Versions of a key are adjacent, newest first: only the first visible one counts.
            // (Keys are never empty, so the empty initial `lastKey` matches none.)
            if keysEqual(record.key, lastKey) { continue }
            if record.lsn > lsn { continue }
            lastKey = record.key
            current = record
            return
        }
        current = nil
    }
}

/// The merge of a scan's sources; see the file's comment.
struct ScanMerge {
    private var sources: [ScanSource]
    private let lsn: LSN

    /// - Parameter sources: newest first, each not yet advanced.
    init(_ sources: [ScanSource], lsn: LSN) throws(StoreError) {
        self.sources = sources
        self.lsn = lsn
        for i in self.sources.indices { try self.sources[i].advance(lsn: lsn) }
    }

    /// Calls `body` with each visible record whose key starts with `prefix`, in key order,
    /// until it returns `false`.
    mutating func run(prefix: UnsafeRawBufferPointer, _ body: (_ key: RawSpan, _ value: RawSpan) -> Bool) throws(StoreError) {
        while true {
            // The smallest key; on a tie the newest version wins.
            var best = -1
            for i in sources.indices {
                guard let current = sources[i].current else { continue }
                if best < 0 {
                    best = i
                } else {
                    let order = compareKeys(current.key, sources[best].current!.key)
                    if order < 0 || (order == 0 && current.lsn > sources[best].current!.lsn) { best = i }
                }
            }
            guard best >= 0 else { return }
            let key = sources[best].current!.key
            // Older versions of the key in other sources are hidden; the smallest key left
            // among them bounds the run of the best source.
            var bound: SegmentKey?
            for i in sources.indices where i != best {
                if let current = sources[i].current, keysEqual(current.key, key) { try sources[i].advance(lsn: lsn) }
                if let current = sources[i].current, bound == nil || compareKeys(current.key, bound!) < 0 { bound = current.key }
            }
            let goOn = try KeyScratch.with { (scratch) throws(StoreError) -> Bool in
                try Self.yieldRun(&sources[best], below: bound, lsn: lsn, prefix: prefix, scratch: scratch, body)
            }
            guard goOn else { return }
        }
    }

    /// Yields the records of `source` from its current one while their keys are below `bound`
    /// (all of them if `nil`); `false` if the scan is over (`body` said stop, or a key left the
    /// prefix).
    @inline(__always)
    private static func yieldRun(
        _ source: inout ScanSource, below bound: SegmentKey?, lsn: LSN, prefix: UnsafeRawBufferPointer,
        scratch: UnsafeMutableRawBufferPointer, _ body: (_ key: RawSpan, _ value: RawSpan) -> Bool
    ) throws(StoreError) -> Bool {
        while let record = source.current {
            if let bound, compareKeys(record.key, bound) >= 0 { return true }
            if !prefix.isEmpty && !keyHasPrefix(record.key, prefix) { return false }
            if !record.isDelete && !body(record.key.joined(in: scratch).bytes, record.value.bytes) { return false }
            try source.advance(lsn: lsn)
        }
        return true
    }
}
