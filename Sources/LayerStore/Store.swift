//! The entry point: a store directory opened for writing (one writer process) or read-only (any
//! number of processes), and everything shared by its write and read paths.
//!
//! Concurrency:
//! - The current ``StoreState`` is published by `state` (a ``StatePublisher``): point reads pin
//!   it in a per-thread hazard slot, snapshots retain it; neither takes a lock in the common
//!   case. Mapped segments are then read with no lock at all.
//! - Writes serialise on the writer lock (`writer`), which guards the WAL appender, the active
//!   memtable and the manifest. Durability waits happen outside it, in ``GroupCommit``.
//! - Flushes run on one background queue; they take the writer lock only to read what to flush
//!   and to publish the result.
//! Lock order: writer, then state, then group commit.

import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A LayerStore store: a directory of dimensions, each holding key → value records.
///
/// ```swift
/// let store = try Store(path: "/var/lib/app/store")
/// try store.write { batch in
///     try batch.put("hello", forKey: "greeting", in: "words")
/// }
/// let text = try store.string(forKey: "greeting", in: "words")
/// ```
///
/// A `Store` is `Sendable`: share one instance between threads and tasks. There is at most one
/// writer per store directory at a time (across processes, enforced by a lock on `LOCK`); open
/// other instances with ``StoreOptions/readOnly``.
public final class Store: Sendable {
    /// The store's directory.
    public let path: String
    /// The options it was opened with.
    public let options: StoreOptions
    /// What opening the store found and did.
    public let recoveryReport: RecoveryReport
    /// Where the store reports recovery, flushes, compactions and WAL rolls (see
    /// <doc:DurabilityAndRecovery>); ``silentLogger`` unless one was given at open.
    public var logger: Logger { givenLogger ?? Store.silentLogger }
    /// The logger given at open, if any. Without one nothing is logged, and the open does not
    /// make ``silentLogger``: its first use costs a new process the logging library's first run
    /// (page faults in its code, its types' metadata), on the path to the first value.
    let givenLogger: Logger?

    let io: any FileIO
    let layout: StoreLayout
    let mmap: MmapManager
    /// Decoded blocks of cold segments, shared by every snapshot of this store.
    let blockCache: BlockCache
    let storeID: UInt64
    let state: StatePublisher
    /// The highest LSN readers may see: every write at or below it is acknowledged.
    let visibleLSN: Atomic<UInt64>
    let writer: Locked<WriterState>?
    let groupCommit: GroupCommit?
    /// Where flushes and compactions run, one at a time; a writer's only. Made at open, not on
    /// first use: a `lazy` property would need a lock to be `Sendable`.
    private let writerQueue: DispatchQueue?
    /// The writer's flush queue. Only writer code paths (which check ``writer`` first) use it.
    var flushQueue: DispatchQueue {
        guard let writerQueue else { preconditionFailure("a read-only store has no flush queue") }
        return writerQueue
    }
    /// Marks the flush queue, so code can tell it runs there.
    static let flushQueueKey = DispatchSpecificKey<Bool>()
    let closed = Atomic<Bool>(false)
    /// The snapshots handed out and not yet released (for ``stats()``).
    let liveSnapshots = SnapshotRegistry()
    /// Frozen memtables waiting for a flush (a lock-free hint for back-pressure).
    let frozenCount = Atomic<Int>(0)

    /// Opens (or creates) the store at `path`.
    ///
    /// Opening runs recovery: it chooses the newest valid manifest, removes temporary files of
    /// interrupted flushes, maps the live segments (reading only their headers) and replays the
    /// WAL above the manifest's checkpoint. See ``recoveryReport``.
    /// - Throws: ``StoreError`` — `storeNotFound`, `notAStore`, `unsupportedFormat`, `locked`
    ///   (another writer), `corrupted` (damage that needs `layerstore recover`), `ioFailure`,
    ///   `noSpace`, `invalidArgument` (bad options).
    /// - Parameters:
    ///   - path: the store's directory.
    ///   - options: how to open it and how it writes; see ``StoreOptions``.
    ///   - logger: where recovery, flush, compaction and WAL-roll events go (never anything per
    ///     read or commit). Default: none, the same as ``silentLogger``: nothing is logged.
    public convenience init(path: String, options: StoreOptions = StoreOptions(), logger: Logger? = nil) throws(StoreError) {
        try self.init(path: path, options: options, io: SystemFileIO(), logger: logger)
    }

    /// Opens the store through a given I/O implementation (tests inject faults with it).
    package init(path: String, options: StoreOptions, io: any FileIO, logger: Logger? = nil) throws(StoreError) {
        try options.validate()
        let opened = try Store.open(path: path, options: options, io: io)
        self.path = opened.layout.root
        self.options = options
        self.recoveryReport = opened.report
        self.givenLogger = logger
        self.io = io
        self.layout = opened.layout
        self.mmap = opened.mmap
        self.blockCache = opened.blockCache
        self.storeID = opened.state.manifest.storeID
        self.state = StatePublisher(opened.state)
        self.visibleLSN = Atomic(opened.nextLSN - 1)
        self.writer = opened.writer.map { Locked($0) }
        if opened.writer != nil {
            // A read-only open makes no queue: creating one costs a new process about 60,000
            // instructions of dispatch and runtime set-up, on the path to its first value.
            let queue = DispatchQueue(label: "LayerStore.flush")
            queue.setSpecific(key: Store.flushQueueKey, value: true)
            self.writerQueue = queue
            let visible = VisibleLSNPublisher()
            self.groupCommit = GroupCommit(durableLSN: opened.nextLSN - 1) { visible.publish($0) }
            visible.store = self
        } else {
            self.writerQueue = nil
            self.groupCommit = nil
        }
        logOpened()
    }

    /// Runs the opener. A read-only open races with the writer, which may remove a WAL file or
    /// an old manifest between the moment the opener lists it and the moment it opens it, or
    /// publish a flush (and drop WAL files) between the manifest and the WAL it reads — which
    /// looks like missing WAL records. Such an open is retried from the start, on the newer
    /// files; damage that is still there after the retries is reported.
    private static func open(path: String, options: StoreOptions, io: any FileIO) throws(StoreError) -> OpenedStore {
        var attempts = 0
        var damageSeen = 0
        while true {
            let manifests = ManifestStore(io: io, directory: StoreLayout(path).root, permissions: 0)
            let listing = options.readOnly ? (try? io.list(manifests.directory)) : nil
            let before = listing.flatMap { ManifestStore.generations(in: $0).first }
            do throws(StoreError) {
                let opened = try StoreOpener(path: path, options: options, io: io, rootListing: listing).open()
                // A read-only open is a view of one manifest plus the WAL above its checkpoint.
                // If a writer published a newer manifest meanwhile, it may also have dropped WAL
                // files this open needed — even all of them, which no check on the files can
                // see. Such a view may miss acknowledged writes: take it again.
                if options.readOnly, attempts < 100, let newest = try? manifests.generations().first,
                    newest != opened.report.manifestGeneration {
                    attempts += 1
                    continue
                }
                return opened
            } catch where options.readOnly && (error.errno == ENOENT || error.code == .corrupted) && attempts < 100 {
                attempts += 1
                // Damage is damage only if no writer published a manifest meanwhile.
                if error.code == .corrupted, (try? manifests.generations().first) == before {
                    damageSeen += 1
                    if damageSeen >= 2 { throw error }
                }
            }
        }
    }

    deinit {
        if !closed.load(ordering: .acquiring) { try? close() }
    }

    /// Commit groups (one WAL write and one sync each) since open (for measurements).
    package var walSyncCount: Int { groupCommit?.groupCount ?? 0 }

    /// `true` if the store was opened with ``StoreOptions/readOnly``.
    public var isReadOnly: Bool { writer == nil }

    /// The LSN of the newest acknowledged write (0 for an empty store).
    public var lastLSN: LSN { visibleLSN.load(ordering: .acquiring) }

    /// Bytes of segment files currently mapped by this store and its snapshots.
    public var mappedByteCount: Int { mmap.mappedByteCount }

    /// The dimensions holding data, sorted by name.
    public var dimensionNames: [String] { currentState().dimensionNames }

    /// The current state, retained.
    @inline(__always)
    func currentState() -> StoreState { state.load() }

    func checkOpen() throws(StoreError) {
        if closed.load(ordering: .acquiring) { throw StoreError(.closed, "the store is closed", path: path) }
    }

    /// Closes the store: finishes a running flush, makes buffered commits durable, releases the
    /// writer lock. Snapshots taken before stay readable until released. Later calls throw
    /// ``StoreError/Code/closed``. Closing twice is harmless.
    public func close() throws(StoreError) {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        guard let writer else { return }
        // Wait for a running flush — unless this *is* the flush queue: the last reference to the
        // store may be dropped by a flush job, which then runs deinit (and this) on the queue.
        if DispatchQueue.getSpecific(key: Store.flushQueueKey) == nil { flushQueue.sync {} }
        try writer.withLock { (w) throws(StoreError) in
            defer { w.releaseLock(io: io) }
            // A clean close syncs (buffered mode) and gives back the WAL's unused preallocation.
            if groupCommit?.latchedFailure == nil { try w.wal.trimAndClose() }
        }
    }
}

/// Breaks the reference cycle between the store and its group-commit callback.
private final class VisibleLSNPublisher: @unchecked Sendable {
    // Safe to share: `store` is set once, during the store's init, before any commit can run.
    weak var store: Store?
    /// Raises the visible LSN to `lsn` (never lowers it: in buffered mode appends run ahead of
    /// durability, and a late sync must not hide them again).
    func publish(_ lsn: LSN) {
        guard let store else { return }
        var current = store.visibleLSN.load(ordering: .relaxed)
        while current < lsn {
            let (exchanged, original) = store.visibleLSN.compareExchange(expected: current, desired: lsn, ordering: .releasing)
            if exchanged { return }
            current = original
        }
    }
}

/// The writer's mutable state, guarded by the writer lock.
final class WriterState {
    var wal: WALWriter
    var manifest: Manifest
    /// The memtable taking writes (also `state.memtables[0]`).
    var active: Memtable
    /// Frozen memtables waiting for a flush, oldest first, with the last LSN each holds.
    var frozen: [(memtable: Memtable, lastLSN: LSN)] = []
    /// Checkpoints of the manifests kept on disk, newest first (WAL is kept back to the oldest).
    var keptCheckpoints: [LSN]
    /// The descriptor holding the `flock` on `LOCK`.
    var lockFD: Int32
    /// The next segment id not yet handed out (never reused, even by a failed flush).
    var reservedSegmentID: UInt64
    /// Every dimension the store holds or has been written to (for ``Limits/dimensionCountMax``).
    var knownDimensions: Set<String>

    init(wal: WALWriter, manifest: Manifest, active: Memtable, keptCheckpoints: [LSN], lockFD: Int32, knownDimensions: Set<String>) {
        self.wal = wal
        self.manifest = manifest
        self.active = active
        self.reservedSegmentID = manifest.nextSegmentID
        self.knownDimensions = knownDimensions
        self.keptCheckpoints = keptCheckpoints
        self.lockFD = lockFD
    }

    func releaseLock(io: any FileIO) {
        if lockFD >= 0 { io.close(lockFD) }
        lockFD = -1
    }
}
