//! What a compaction does: which dimensions, how large its segments, how many versions it
//! keeps, and which segments it compresses.

/// Options for ``Store/compact(_:)-1drre`` and `layerstore compact`.
public struct CompactionOptions: Sendable, Equatable {
    /// Which segments get LZ4 blocks.
    public enum Compression: Sendable, Equatable {
        /// Everything compaction writes is uncompressed (hot: zero-copy reads).
        case none
        /// Everything compaction writes is LZ4-compressed (cold).
        case lz4
        /// Segments whose newest record is older than this many seconds are LZ4-compressed;
        /// newer ones stay uncompressed.
        case lz4OlderThan(seconds: Double)
    }

    /// The dimension to compact; `nil` compacts every dimension, one at a time.
    public var dimension: String?
    /// Output segments are cut at about this size. Default 256 MiB.
    public var targetSegmentByteCount = 256 << 20
    /// Versions kept per key (the newest ones; tombstones count as versions, and a tombstone
    /// with nothing older under it is dropped). Default 1.
    public var keepVersions = 1
    /// The default block size of LZ4 outputs: 16 KiB, by measurement. A cold point read
    /// decompresses one whole block, so the size trades read latency against compression:
    /// for the workload's 100-byte values without a hash index, the p50 is 5.2 µs at 16 KiB
    /// and 6.9 µs at 24 KiB, for files 0.2% smaller.
    public static let coldBlockByteCountTarget = 16 << 10
    /// Which outputs are compressed. Default ``Compression/none``.
    public var compression: Compression = .none
    /// Block size of the outputs; `nil`: the store's ``StoreOptions/blockByteCountTarget`` for
    /// uncompressed outputs and ``coldBlockByteCountTarget`` for LZ4 ones.
    public var blockByteCountTarget: Int?
    /// Whether outputs get a hash index; `nil`: uncompressed outputs do and LZ4 ones do not.
    ///
    /// A hash index (format version 3) costs about 5 bytes per key (4-byte slots, at most 80%
    /// full) and finds a key with one probe. Without one (format version 2), a point read
    /// binary-searches the block table and decodes the block up to the key, which a cold read
    /// does anyway (it decompresses the whole block), and records code their LSN against the
    /// record before them, which LZ4 then compresses better.
    public var hashIndex: Bool?
    /// Plan and report, writing nothing.
    public var dryRun = false

    /// The defaults.
    public init() {}

    func validate() throws(StoreError) {
        guard keepVersions >= 1 else { throw StoreError(.invalidArgument, "keepVersions must be at least 1") }
        guard targetSegmentByteCount >= 1 << 16 else { throw StoreError(.invalidArgument, "the target segment size must be at least 64 KiB") }
        if let blockByteCountTarget, !(256...Limits.recordStartInBlockMax).contains(blockByteCountTarget) {
            throw StoreError(.invalidArgument, "the block size must be between 256 bytes and 1 MiB")
        }
        if let dimension { try Validate.dimensionName(dimension) }
        if case .lz4OlderThan(let seconds) = compression, !(seconds >= 0 && seconds.isFinite) {
            throw StoreError(.invalidArgument, "the cold-after duration must be a finite, non-negative number of seconds")
        }
    }
}

/// What a compaction did (or, in a dry run, would do).
public struct CompactionReport: Sendable, Codable, Equatable {
    /// Before and after for one dimension.
    public struct DimensionResult: Sendable, Codable, Equatable {
        /// The dimension.
        public var dimension: String
        /// Segments before the compaction.
        public var segmentsBefore = 0
        /// Segments after it.
        public var segmentsAfter = 0
        /// Bytes of segment files before.
        public var bytesBefore: UInt64 = 0
        /// Bytes of segment files after.
        public var bytesAfter: UInt64 = 0
        /// Records (versions and tombstones) before.
        public var recordsBefore: UInt64 = 0
        /// Records after.
        public var recordsAfter: UInt64 = 0
        /// Superseded versions dropped (beyond `keepVersions`).
        public var versionsDropped: UInt64 = 0
        /// Tombstones dropped (nothing older under them).
        public var tombstonesDropped: UInt64 = 0
        /// Output segments written with LZ4 blocks.
        public var compressedSegments = 0
        /// Files written, relative to the store.
        public var written: [String] = []
        /// Files removed (the inputs), relative to the store.
        public var removed: [String] = []
    }

    /// An empty report (tools merge per-dimension reports into one).
    public init(dryRun: Bool = false) {
        self.dryRun = dryRun
    }

    /// `true` if nothing was written.
    public var dryRun = false
    /// One result per dimension compacted.
    public var dimensions: [DimensionResult] = []
    /// Wall time of the whole compaction.
    public var seconds = 0.0
    /// Input bytes read per second.
    public var megabytesPerSecond = 0.0
}
