//! The current state of a store as readers see it: an immutable object replaced, never changed,
//! when a flush publishes segments or a memtable is frozen.
//!
//! Invariants:
//! - `segments[d]` are the manifest's segments of `d`, mapped, newest first.
//! - `memtables` are newest first; together with the segments they hold every write up to the
//!   store's visible LSN: a memtable leaves the state only in the same step that adds the
//!   segments built from it.

/// One published version of the store's contents.
final class StoreState: @unchecked Sendable {
    // Safe to share: every property is immutable; the unmanaged copies below point at objects
    // the arrays above keep alive for as long as `self` lives.
    let manifest: Manifest
    let segments: SegmentsByDimension
    let memtables: [Memtable]
    /// `segments` and `memtables` again, unretained: what point reads walk. Copying an array of
    /// references out of a shared object retains it, and retaining writes the reference count —
    /// a cache line every reading thread would then pass around. These copies are plain memory.
    let dimensionTable: DimensionTable
    let memtableRefs: UnsafeBufferPointer<Unmanaged<Memtable>>

    init(manifest: Manifest, segments: SegmentsByDimension, memtables: [Memtable]) {
        self.manifest = manifest
        self.segments = segments
        self.memtables = memtables
        self.dimensionTable = DimensionTable(segments)
        let refs = UnsafeMutableBufferPointer<Unmanaged<Memtable>>.allocate(capacity: memtables.count)
        _ = refs.initialize(from: memtables.map { Unmanaged.passUnretained($0) })
        self.memtableRefs = UnsafeBufferPointer(refs)
    }

    deinit {
        dimensionTable.deallocate()
        memtableRefs.deallocate()
    }

    /// Every dimension with data in segments or memtables, sorted.
    var dimensionNames: [String] {
        var names = Set(segments.names)
        for m in memtables { names.formUnion(m.dimensionNames) }
        return names.sorted()
    }

    /// A copy with `memtables` replaced.
    func replacing(memtables: [Memtable]) -> StoreState {
        StoreState(manifest: manifest, segments: segments, memtables: memtables)
    }
}
