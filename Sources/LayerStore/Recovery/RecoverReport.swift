//! What `layerstore recover` found and did: the operator's account of a recovery.

/// The report of `Recoverer` (`layerstore recover`): every finding and every action, with files and offsets.
public struct RecoverReport: Sendable, Codable, Equatable {
    /// One finding about one file.
    public struct Finding: Sendable, Codable, Equatable {
        /// The file, relative to the store directory.
        public var file: String
        /// The byte offset the finding is about, if any.
        public var offset: UInt64?
        /// What was found.
        public var message: String
    }

    /// Records that could not be recovered.
    public struct Loss: Sendable, Codable, Equatable {
        /// The dimension, when known.
        public var dimension: String?
        /// The file they were in, relative to the store directory.
        public var file: String
        /// How many records (operations), when known.
        public var records: UInt64?
        /// Their LSNs, when known.
        public var firstLSN: LSN?
        /// The last LSN, when known.
        public var lastLSN: LSN?
        /// What was lost, in words (e.g. a key range).
        public var detail: String
    }

    /// `true`: nothing was changed; the actions are what recovery would do.
    public var dryRun = false
    /// `true`: data past damage was salvaged into new segments.
    public var salvage = false
    /// The manifest recovery started from (`nil` if none was valid and one was rebuilt).
    public var manifestChosen: String?
    /// Manifests passed over, and why.
    public var manifestsSkipped: [Finding] = []
    /// `true` if the manifest was rebuilt from the segments' self-describing headers.
    public var manifestRebuilt = false
    /// The manifest recovery published, if it published one.
    public var manifestWritten: String?
    /// The checkpoint LSN of the store after recovery.
    public var checkpointLSN: LSN = 0
    /// WAL records (batches) above the checkpoint that the store replays on open.
    public var walRecords = 0
    /// Operations in those records.
    public var walOperations = 0
    /// Their LSN range.
    public var walFirstLSN: LSN?
    /// The last replayable LSN.
    public var walLastLSN: LSN?
    /// A torn WAL tail (a crash artefact): truncated.
    public var tornTail: Finding?
    /// Non-zero bytes of the torn tail.
    public var tornTailByteCount: UInt64 = 0
    /// Damage found in WAL files.
    public var walDamage: [Finding] = []
    /// WAL records recovered past damage (into new segments).
    public var walRecordsSalvaged = 0
    /// Listed segments that are missing.
    public var segmentsMissing: [Finding] = []
    /// Listed segments that cannot be opened (header, footer or index damaged).
    public var segmentsDamaged: [Finding] = []
    /// Blocks (or sections) of otherwise readable segments that fail their checksums.
    public var blocksDamaged: [Finding] = []
    /// Files moved to `quarantine/` (source → destination).
    public var quarantined: [Finding] = []
    /// Temporary files removed (never published).
    public var tempFilesRemoved: [String] = []
    /// Segment files no manifest lists, removed (leftovers of an interrupted flush).
    public var unpublishedSegmentsRemoved: [String] = []
    /// New segments written by salvage.
    public var segmentsWritten: [String] = []
    /// Records (operations) salvaged into new segments.
    public var recordsSalvaged: UInt64 = 0
    /// Records that could not be recovered.
    public var losses: [Loss] = []
    /// Dimensions whose data was touched by damage.
    public var dimensionsAffected: [String] = []
    /// Damage still in the store afterwards (rerun with `--salvage` to recover past it).
    public var damageRemaining: [Finding] = []
    /// `true` when the store opens and is consistent afterwards (checked by opening it).
    public var consistent = false
}
