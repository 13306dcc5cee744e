//! Store statistics: per dimension, what is live and what is dead weight that a compaction
//! would drop, where it sits (segments, codecs, memtables), and what the process holds mapped.
//!
//! Every number is taken from one snapshot, so they add up: a dimension's versions are its live
//! records plus its dead ones. Counting live and dead versions reads every record of every
//! segment (all versions, decompressing cold blocks past the block cache): `stats()` costs a
//! full scan of the store, and is meant for tools and operators, not for a request path.

/// Statistics of a store as of one snapshot (``Store/stats()``).
public struct StoreStats: Sendable, Equatable, Codable {
    /// One segment file.
    public struct SegmentStats: Sendable, Equatable, Codable {
        /// The segment id.
        public var id: UInt64
        /// The segment's rewrite number.
        public var version: UInt32
        /// How its blocks are stored: `none` or `lz4` (the cold tier).
        public var codec: String
        /// The file's size on disk.
        public var byteCount: UInt64
        /// The record versions it holds (puts and tombstones).
        public var recordCount: UInt64
        /// Its LSN range.
        public var minLSN: LSN
        /// Its LSN range.
        public var maxLSN: LSN
    }

    /// One dimension.
    public struct DimensionStats: Sendable, Equatable, Codable {
        /// The dimension's name.
        public var name: String
        /// Keys whose newest version is a put: what a scan returns.
        public var liveRecordCount = 0
        /// Key and value bytes of the live records.
        public var liveByteCount = 0
        /// Versions a compaction with `keepVersions` 1 would drop: superseded versions and
        /// tombstones.
        public var deadRecordCount = 0
        /// Key and value bytes of the dead versions.
        public var deadByteCount = 0
        /// Tombstones among the dead versions.
        public var tombstoneCount = 0
        /// Every version, live or dead, in segments and memtables: live + dead.
        public var versionCount = 0
        /// The dimension's segments, oldest first.
        public var segments: [SegmentStats] = []
        /// Bytes of those segment files on disk.
        public var segmentByteCount: UInt64 = 0
        /// Versions in memtables (not yet flushed).
        public var memtableVersionCount = 0
        /// Approximate memory those versions hold.
        public var memtableByteCount = 0

        /// Empty statistics of dimension `name`.
        public init(name: String) { self.name = name }
    }

    /// The snapshot's LSN: every number counts the writes up to it.
    public var lsn: LSN
    /// The manifest's checkpoint: writes above it are in memtables and the WAL.
    public var checkpointLSN: LSN
    /// The manifest generation in use.
    public var manifestGeneration: UInt64
    /// Every dimension with data, in name order.
    public var dimensions: [DimensionStats] = []
    /// Bytes of segment files mapped by the store and all its snapshots (old versions included).
    public var mappedByteCount: Int
    /// Snapshots taken with ``Store/snapshot()`` and not yet released.
    public var liveSnapshotCount: Int
    /// The LSN of the oldest of them: it pins the segments and memtables of its state.
    public var oldestSnapshotLSN: LSN?

    /// Statistics with no dimension.
    public init(lsn: LSN, checkpointLSN: LSN, manifestGeneration: UInt64, mappedByteCount: Int,
                liveSnapshotCount: Int, oldestSnapshotLSN: LSN?) {
        self.lsn = lsn
        self.checkpointLSN = checkpointLSN
        self.manifestGeneration = manifestGeneration
        self.mappedByteCount = mappedByteCount
        self.liveSnapshotCount = liveSnapshotCount
        self.oldestSnapshotLSN = oldestSnapshotLSN
    }
}

extension Store {
    /// Counts live and dead records, versions, segments and memory, per dimension, on a
    /// snapshot taken now. Reads every record of every segment (see the file comment).
    /// - Throws: `closed`; `corrupted` if a block fails its checksum.
    public func stats() throws(StoreError) -> StoreStats {
        try checkOpen()
        // Not `snapshot()`: this internal view is not a caller's snapshot and is not counted.
        let lsn = visibleLSN.load(ordering: .acquiring)
        let state = currentState()
        let pinned = liveSnapshots.summary
        var stats = StoreStats(lsn: lsn, checkpointLSN: state.manifest.checkpointLSN,
                               manifestGeneration: state.manifest.generation, mappedByteCount: mappedByteCount,
                               liveSnapshotCount: pinned.count, oldestSnapshotLSN: pinned.oldestLSN)
        for name in state.dimensionNames {
            stats.dimensions.append(try dimensionStats(name, state: state, lsn: lsn))
        }
        return stats
    }

    private func dimensionStats(_ name: String, state: StoreState, lsn: LSN) throws(StoreError) -> StoreStats.DimensionStats {
        var stats = StoreStats.DimensionStats(name: name)
        let segments = try state.segments.made(name)
        for segment in segments.reversed() {
            let h = segment.header
            stats.segments.append(StoreStats.SegmentStats(
                id: h.segmentID, version: h.version, codec: h.codec == 0 ? "none" : "lz4",
                byteCount: h.fileLength, recordCount: h.recordCount, minLSN: h.minLSN, maxLSN: h.maxLSN))
            stats.segmentByteCount += h.fileLength
        }
        // The memtables' versions by key, newest first (memtables are small; segments stream).
        var memory: [[UInt8]: [MemVersion]] = [:]
        for memtable in state.memtables where !memtable.isEmpty {
            for entry in memtable.allVersions(in: name) {
                stats.memtableVersionCount += entry.versions.count
                for v in entry.versions { stats.memtableByteCount += entry.key.count + v.value.count + Memtable.entryOverheadByteCount }
                memory[entry.key, default: []].append(contentsOf: entry.versions)
            }
        }
        var merge = try MergeIterator(segments)
        var pending: (key: [UInt8], versions: [MemVersion])?
        while let (key, version) = try merge.next() {
            if pending?.key == key {
                pending!.versions.append(version)
                continue
            }
            if let done = pending { count(done.key, done.versions + (memory.removeValue(forKey: done.key) ?? []), lsn: lsn, into: &stats) }
            pending = (key, [version])
        }
        if let done = pending { count(done.key, done.versions + (memory.removeValue(forKey: done.key) ?? []), lsn: lsn, into: &stats) }
        for (key, versions) in memory { count(key, versions, lsn: lsn, into: &stats) }
        return stats
    }

    /// Adds one key's versions (any order) visible at `lsn`: the newest is live unless it is a
    /// tombstone; every other one is dead.
    private func count(_ key: [UInt8], _ versions: [MemVersion], lsn: LSN, into stats: inout StoreStats.DimensionStats) {
        let visible = versions.filter { $0.lsn <= lsn }.sorted { $0.lsn > $1.lsn }
        for (i, v) in visible.enumerated() {
            let bytes = key.count + v.value.count
            stats.versionCount += 1
            if i == 0 && !v.isDelete {
                stats.liveRecordCount += 1
                stats.liveByteCount += bytes
            } else {
                stats.deadRecordCount += 1
                stats.deadByteCount += bytes
                if v.isDelete { stats.tombstoneCount += 1 }
            }
        }
    }
}
