//! The manifest: which segments are live in each dimension, and up to which LSN the segments
//! hold every write (the checkpoint). It is the only place that says which segments are live;
//! it is replaced only by the atomic swap in ``ManifestStore``.
//!
//! Invariants: generations strictly increase; within a dimension, segments are listed oldest
//! first, with ascending ids and disjoint, ascending LSN ranges; every listed segment's LSNs are
//! `<= checkpointLSN`.

/// One live segment as the manifest lists it.
struct SegmentDescriptor: Equatable, Sendable {
    var id: UInt64
    var version: UInt32
    var codec: UInt8
    var minLSN: LSN
    var maxLSN: LSN
    var recordCount: UInt64
    var fileLength: UInt64
}

/// A dimension's live segments, oldest first.
struct ManifestDimension: Equatable, Sendable {
    var name: String
    var segments: [SegmentDescriptor]
}

/// A decoded manifest.
struct Manifest: Equatable, Sendable {
    /// The store's random identity, fixed at creation; every file of the store carries it.
    var storeID: UInt64
    /// This manifest's number; the file is `MANIFEST-<generation>`.
    var generation: UInt64
    /// Every write with an LSN at or below this is in the listed segments.
    var checkpointLSN: LSN
    /// The id the next new segment gets.
    var nextSegmentID: UInt64
    /// Dimensions in name order.
    var dimensions: [ManifestDimension]

    /// A new store's first manifest.
    static func initial(storeID: UInt64) -> Manifest {
        Manifest(storeID: storeID, generation: 1, checkpointLSN: 0, nextSegmentID: 1, dimensions: [])
    }

    /// The segments of dimension `name` (empty if it has none).
    func segments(of name: String) -> [SegmentDescriptor] {
        dimensions.first(where: { $0.name == name })?.segments ?? []
    }

    /// Every manifest's generation is below this (2^63 − 1): a file named with a higher one
    /// is damaged by definition, and a writer never publishes one.
    static let generationLimit = UInt64.max / 2

    /// Checks the invariants in the file comment; a manifest that fails them is damaged.
    func isWellFormed() -> Bool {
        var previousName: String?
        for dimension in dimensions {
            if let previousName, !(previousName < dimension.name) { return false }
            previousName = dimension.name
            var previous: SegmentDescriptor?
            for segment in dimension.segments {
                guard segment.minLSN >= 1, segment.minLSN <= segment.maxLSN, segment.maxLSN <= checkpointLSN,
                    segment.id < nextSegmentID
                else { return false }
                if let p = previous, !(p.id < segment.id && p.maxLSN < segment.minLSN) { return false }
                previous = segment
            }
        }
        return generation >= 1 && generation < Manifest.generationLimit && checkpointLSN <= Limits.lsnMax
            && nextSegmentID < UInt64.max / 2
    }
}
