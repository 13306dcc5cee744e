//! A listed segment whose file a store open has opened but not yet read: the header is read,
//! checked and the segment made on the first use of the slot (Formats/segment.md § Reading
//! and damage).
//!
//! Why: a store open used to read and check the header of every listed segment, three system
//! calls and a `Segment` each. A process that opens a store to read one value uses one
//! dimension's newest segment; the rest were a third of its open (perf, 24 segments). The file
//! is opened at the open all the same, so a segment that a writer removes afterwards (a
//! compaction in another process) stays readable for this store's whole life, as before.
//!
//! Invariants:
//! - `made` is `nil` until the segment exists, then it for good; `owned` keeps it alive.
//! - `fd` is open exactly while the segment is not made (the segment then owns it).
//! - A failed make is not remembered: the next use reads the header again (from the same open
//!   file) and fails the same way. Other slots stay usable.
//!
//! Unsafe code: ``find(_:snapshotLSN:)`` borrows the segment through an unretained reference,
//! valid while the slot lives (the slot holds the strong one from the moment `made` is set):
//! a point read does not write the segment's reference count.

import Synchronization

/// One entry of a dimension's segment list: a made ``Segment``, or the open file of one.
final class SegmentSlot: @unchecked Sendable {
    // Safe to share: `fd` and `owned` change only under `lock`; `made` is published with a
    // release store after `owned` holds the reference, and read with an acquire load.
    private let made = Atomic<Unmanaged<Segment>?>(nil)
    private var owned: Segment?
    private var fd: Int32
    private let pending: Pending?

    /// What making the segment needs, kept until it is made. A class: a struct of ten fields
    /// was copied field by field at each use, through its runtime metadata, made by name at the
    /// first read of a new process.
    final class Pending: Sendable {
        let io: any FileIO
        let path: String
        let storeID: UInt64
        let descriptor: SegmentDescriptor
        let dimension: String
        let manager: MmapManager
        let verification: BlockVerification
        let cache: BlockCache?
        /// Shared by a store's slots: making a segment is rare, and a lock each would cost an
        /// allocation per listed segment at every open.
        let lock: Lock

        init(io: any FileIO, path: String, storeID: UInt64, descriptor: SegmentDescriptor, dimension: String, manager: MmapManager,
             verification: BlockVerification, cache: BlockCache?, lock: Lock) {
            self.io = io
            self.path = path
            self.storeID = storeID
            self.descriptor = descriptor
            self.dimension = dimension
            self.manager = manager
            self.verification = verification
            self.cache = cache
            self.lock = lock
        }
    }

    /// A slot holding a segment already made (a flush's or a compaction's output, or a segment
    /// a store open made at once).
    init(_ segment: Segment) {
        self.owned = segment
        self.fd = -1
        self.pending = nil
        made.store(Unmanaged.passUnretained(segment), ordering: .releasing)
    }

    /// A slot for the listed segment open as `fd`, which it takes ownership of.
    init(fd: Int32, pending: Pending) {
        self.fd = fd
        self.pending = pending
    }

    deinit {
        if fd >= 0, let pending { pending.io.close(fd) }
    }

    /// The segment, made (header read and checked against the manifest entry) on first use.
    /// The caller keeps the slot alive while it uses the segment.
    /// - Throws: `corrupted` (naming the file) if the file fails the checks of a segment open.
    @inline(__always)
    func segment() throws(StoreError) -> Segment {
        if let made = made.load(ordering: .acquiring) { return made.takeUnretainedValue() }
        return try make()
    }

    /// The segment's ``Segment/pointRead(_:snapshotLSN:)``, made first if needed. The segment is
    /// borrowed, not retained: a `Segment` returned from a function is retained, and a retain
    /// writes its reference count, a cache line every reading thread would then pass around.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, snapshotLSN: LSN) -> SegmentRead {
        let segment: Unmanaged<Segment>
        if let made = made.load(ordering: .acquiring) {
            segment = made
        } else {
            do throws(StoreError) {
                segment = Unmanaged.passUnretained(try make())  // the slot keeps it alive from now on
            } catch {
                return .failed(error)
            }
        }
        return segment._withUnsafeGuaranteedRef { segment in
            do throws(StoreError) {
                guard let hit = try segment.pointRead(key, snapshotLSN: snapshotLSN) else { return .missing }
                return .found(hit)
            } catch {
                return .failed(error)
            }
        }
    }

    /// The segment if it is made, without making it.
    var madeSegment: Segment? { made.load(ordering: .acquiring)?.takeUnretainedValue() }

    /// The descriptor's id and version (from the manifest entry, or the made segment's header).
    var name: (id: UInt64, version: UInt32) {
        if let pending { return (pending.descriptor.id, pending.descriptor.version) }
        let header = owned!.header  // a slot without `pending` was made with its segment
        return (header.segmentID, header.version)
    }

    @inline(never)
    private func make() throws(StoreError) -> Segment {
        let pending = pending!  // a slot without `pending` was made with its segment
        return try pending.lock.withLock { () throws(StoreError) -> Segment in
            if let owned { return owned }
            let d = pending.descriptor
            let made = try Segment(io: pending.io, fd: fd, path: pending.path, storeID: pending.storeID, id: d.id, version: d.version,
                                   listed: (d, pending.dimension), manager: pending.manager, verification: pending.verification,
                                   cache: pending.cache, mapNow: false, deferFooter: true)
            fd = -1  // the segment owns it now
            owned = made
            self.made.store(Unmanaged.passUnretained(made), ordering: .releasing)
            return made
        }
    }
}

/// What a point read found in one segment. Not a `Result<SegmentHit?, StoreError>`: a generic
/// type's metadata is made at its first use in a process, by name, and that one cost a cold
/// open's first read about 100 µs (a third of it).
enum SegmentRead {
    case found(SegmentHit)
    /// No version of the key that the snapshot sees.
    case missing
    case failed(StoreError)
}
