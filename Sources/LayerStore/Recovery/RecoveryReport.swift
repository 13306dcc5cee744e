//! What opening a store found and did: the facts an operator needs after a crash.

/// What ``Store`` did while opening: which manifest it chose, what it replayed, what it removed.
public struct RecoveryReport: Sendable, Equatable {
    /// A torn WAL tail: the writer died while appending a record that was never acknowledged.
    public struct TornTail: Sendable, Equatable {
        /// The WAL file.
        public var path: String
        /// Where the torn record starts.
        public var offset: UInt64
        /// The non-zero bytes from there on that were discarded.
        public var byteCount: UInt64
        /// Valid records after the torn one that were discarded with it: unsynced writes the
        /// disk happened to keep, never acknowledged (none of them was covered by a sync).
        public var discardedRecordCount: Int
        /// `true` if the bytes were truncated on disk (writers); `false` if only skipped (read-only).
        public var truncated: Bool
    }

    /// The generation of the manifest in use.
    public var manifestGeneration: UInt64 = 0
    /// Newer manifests passed over, with the reason (damage).
    public var skippedManifests: [String] = []
    /// The checkpoint LSN of the manifest in use: the WAL was replayed from just above it.
    public var checkpointLSN: LSN = 0
    /// WAL records (batches) replayed into the memtable.
    public var replayedRecordCount = 0
    /// Operations (puts and deletes) replayed.
    public var replayedOperationCount = 0
    /// The LSNs replayed, if any.
    public var replayedLSNs: ClosedRange<LSN>?
    /// WAL bytes read during replay.
    public var replayedByteCount = 0
    /// A torn WAL tail found at the end of the log.
    public var tornTail: TornTail?
    /// Temporary files (never published) that were removed.
    public var removedTempFiles: [String] = []
    /// Segment files that no manifest had published yet (a flush interrupted before its swap).
    public var removedUnpublishedSegments: [String] = []
}
