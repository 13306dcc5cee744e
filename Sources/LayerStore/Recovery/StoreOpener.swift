//! Opening a store: create it if asked, take the writer lock, choose the manifest, clean up
//! what an interrupted flush left, map segments, replay the WAL (Formats/store-layout.md
//! § Opening).
//!
//! A read-only open performs the same steps without writing a byte: no lock, no removals, no
//! truncation, no new WAL file; a torn tail is skipped in memory.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What opening produced, handed to ``Store``'s initializer.
struct OpenedStore {
    var layout: StoreLayout
    var mmap: MmapManager
    var blockCache: BlockCache
    var state: StoreState
    var nextLSN: LSN
    var writer: WriterState?
    var report: RecoveryReport
}

struct StoreOpener {
    let io: any FileIO
    let options: StoreOptions
    let layout: StoreLayout
    /// The store directory's names, listed by the caller just before this open (read-only opens
    /// list it once for the open and its race check, not once per step).
    let rootListing: [String]?

    init(path: String, options: StoreOptions, io: any FileIO, rootListing: [String]? = nil) {
        self.io = io
        self.options = options
        self.layout = StoreLayout(path)
        self.rootListing = rootListing
    }

    func open() throws(StoreError) -> OpenedStore {
        let (needsCreation, names) = try prepareDirectory()
        // A read-only open takes no lock, so the listing it looked at is as good as any later one.
        guard !options.readOnly else { return try openLocked(lockFD: -1, listing: names) }
        // The lock comes before creation: two processes creating the same store at once must not
        // both lay it out.
        let lockFD = try io.open(layout.lockFile, [.write, .create], permissions: options.filePermissions)
        do throws(StoreError) {
            try io.lock(lockFD, path: layout.lockFile)
            if needsCreation, try !hasManifest() { try create() }
            return try openLocked(lockFD: lockFD, listing: nil)
        } catch {
            io.close(lockFD)
            throw error
        }
    }

    /// How many segments an open leaves unmapped until first use; each keeps its file open until
    /// then, so a store of very many segments maps the rest at once rather than hold a
    /// descriptor for each.
    static let deferredMappingCountMax = 256

    private func hasManifest() throws(StoreError) -> Bool {
        try io.list(layout.root).contains { ManifestFormat.generation($0) != nil }
    }

    private func openLocked(lockFD: Int32, listing: [String]?) throws(StoreError) -> OpenedStore {
        var report = RecoveryReport()
        let manifests = ManifestStore(io: io, directory: layout.root, permissions: options.filePermissions)
        let (manifest, skipped, all) = try manifests.loadNewest(listing: listing, newestValidOnly: options.readOnly)
        report.manifestGeneration = manifest.generation
        report.skippedManifests = skipped.map { "\($0.name): \($0.reason)" }
        report.checkpointLSN = manifest.checkpointLSN
        var leftoverSpares: [String] = []
        if !options.readOnly {
            // With a manifest passed over, its segments may hold data nothing else has: no
            // segment file is removed, only temporary files. `recover` decides the rest.
            let referenced = skipped.isEmpty ? Set(all.prefix(ManifestStore.keptCount).flatMap { m in
                m.dimensions.flatMap { d in d.segments.map { d.name + "/" + SegmentName.fileName(id: $0.id, version: $0.version) } }
            }) : nil
            try removeUnpublished(manifest: manifest, referenced: referenced, leftoverSpares: &leftoverSpares, report: &report)
        }
        let mmap = MmapManager(segmentAdvice: options.accessPattern.advice)
        let cache = BlockCache(byteCountMax: options.blockCacheByteCountMax)
        var segments = SegmentsByDimension()
        var openedCount = 0
        let slotLock = Lock()
        for dimension in manifest.dimensions {
            // A plain loop, not a typed-throws `map`: its generic `E: Error` costs a new process
            // a runtime conformance lookup.
            var opened: [SegmentSlot] = []
            opened.reserveCapacity(dimension.segments.count)
            let directory = layout.dimensionDirectory(dimension.name)
            for d in dimension.segments.reversed() {
                let path = SegmentName.path(directory: directory, id: d.id, version: d.version)
                if openedCount < StoreOpener.deferredMappingCountMax {
                    // Opened now, so that the file outlives a writer's removal of it; read and
                    // checked at its first use (`SegmentSlot`).
                    let fd = try io.open(path, [], permissions: 0)
                    opened.append(SegmentSlot(fd: fd, pending: SegmentSlot.Pending(
                        io: io, path: path, storeID: manifest.storeID, descriptor: d, dimension: dimension.name, manager: mmap,
                        verification: options.blockVerification, cache: cache, lock: slotLock)))
                } else {
                    opened.append(SegmentSlot(try Segment(io: io, path: path, storeID: manifest.storeID, id: d.id, version: d.version,
                                                          listed: (d, dimension.name), manager: mmap, verification: options.blockVerification,
                                                          cache: cache, mapNow: true, deferFooter: true)))
                }
                openedCount += 1
            }
            segments[dimension.name] = opened
        }
        // A writer's memtable fills up to the limit; a reader's holds only the replayed WAL (a
        // 64 MiB memtable's key filter is 512 KiB of memory to map and zero: 7% of a read-only
        // open's time when the WAL is empty).
        let memtableByteCountMax = options.memtableByteCountMax
        let readOnly = options.readOnly
        let replay = try WALReplay.replay(
            io: io, layout: layout, storeID: manifest.storeID, checkpointLSN: manifest.checkpointLSN,
            into: { walByteCount in Memtable(expectedByteCount: readOnly ? min(Int(walByteCount), memtableByteCountMax) : memtableByteCountMax) },
            truncateTornTail: !options.readOnly, mmap: mmap, report: &report)
        let memtable = replay.memtable
        let state = StoreState(manifest: manifest, segments: segments, memtables: [memtable])
        var writer: WriterState?
        if !options.readOnly {
            // New records always go to a new file (created at the first commit): never append
            // behind bytes a crash may have left.
            let wal = WALWriter(io: io, directory: layout.walDirectory, storeID: manifest.storeID, files: replay.files,
                                nextLSN: replay.nextLSN, fileByteCount: Int64(options.walFileByteCount),
                                permissions: options.filePermissions, leftoverSpares: leftoverSpares)
            let kept = all.prefix(ManifestStore.keptCount).map(\.checkpointLSN)
            try wal.dropFiles(coveredBy: kept.min() ?? 0)
            writer = WriterState(wal: wal, manifest: manifest, active: memtable, keptCheckpoints: Array(kept), lockFD: lockFD,
                                 knownDimensions: Set(state.dimensionNames))
        }
        return OpenedStore(layout: layout, mmap: mmap, blockCache: cache, state: state, nextLSN: replay.nextLSN, writer: writer, report: report)
    }

    /// Checks what is at the path before anything is written: an existing store, an empty (or
    /// interrupted-creation) directory to create a store in, or a refusal. Makes the directory
    /// when it is missing and creation is allowed. Returns whether a store must be created, and
    /// the directory's names if it exists.
    private func prepareDirectory() throws(StoreError) -> (needsCreation: Bool, names: [String]?) {
        let mayCreate = options.createIfMissing && !options.readOnly
        if let rootListing, rootListing.contains(where: { ManifestFormat.generation($0) != nil }) { return (false, rootListing) }
        switch try io.kind(of: layout.root) {
        case .file:
            throw StoreError(.notAStore, "not a directory", path: layout.root)
        case .missing:
            guard mayCreate else { throw StoreError(.storeNotFound, "no store at this path", path: layout.root) }
            do throws(StoreError) {
                try io.makeDirectory(layout.root, permissions: options.directoryPermissions)
            } catch where error.errno == EEXIST {
                return try prepareDirectory()  // another process made it first
            }
            try io.syncDirectory(StoreLayout.parent(of: layout.root))
            return (true, nil)
        case .directory:
            let names = try io.list(layout.root)
            if names.contains(where: { ManifestFormat.generation($0) != nil }) { return (false, names) }
            // A directory holding only what an interrupted creation makes (LOCK, empty wal/ and
            // dims/) is finished now. Anything more — data without a manifest — is not a fresh
            // store: `layerstore recover` rebuilds its manifest.
            let creationLeftovers: Set<String> = ["LOCK", "wal", "dims"]
            var isFresh = names.allSatisfy { creationLeftovers.contains($0) || $0.hasSuffix(StoreLayout.tempSuffix) }
            for directory in [layout.walDirectory, layout.dimensionsDirectory] where isFresh {
                if try io.kind(of: directory) == .directory, try !io.list(directory).isEmpty { isFresh = false }
            }
            guard isFresh else {
                throw StoreError(.notAStore, "directory holds no store manifest (if it held a store, `layerstore recover` rebuilds it)", path: layout.root)
            }
            guard mayCreate else { throw StoreError(.storeNotFound, "directory holds no store", path: layout.root) }
            return (true, names)
        }
    }

    /// Lays out a new, empty store; the first manifest's rename is the commit point.
    private func create() throws(StoreError) {
        for directory in [layout.walDirectory, layout.dimensionsDirectory] where try io.kind(of: directory) == .missing {
            try io.makeDirectory(directory, permissions: options.directoryPermissions)
        }
        // Their names must be durable before the manifest's: otherwise a crash may keep the
        // manifest's rename and lose a mkdir, leaving a store no open can read.
        try io.syncDirectory(layout.root)
        let storeID = UInt64.random(in: 1...UInt64.max)
        try ManifestStore(io: io, directory: layout.root, permissions: options.filePermissions)
            .publish(Manifest.initial(storeID: storeID))
    }

    /// Removes temporary files (never published) and, when `referenced` (the segments the kept
    /// manifests list) is given, every segment file it does not hold: leftovers of an
    /// interrupted or failed flush or compaction, whose records the WAL or the listed segments
    /// still have.
    private func removeUnpublished(manifest: Manifest, referenced: Set<String>?, leftoverSpares: inout [String],
                                   report: inout RecoveryReport) throws(StoreError) {
        for name in try io.list(layout.root) where name.hasSuffix(StoreLayout.tempSuffix) {
            try io.remove(layout.root + "/" + name)
            report.removedTempFiles.append(name)
        }
        // Spare WAL files a writer was preparing or recycling (never holding a record this open
        // replays): the new writer removes them in the background (its spare preparer's first
        // work): freeing an 80 MiB file's blocks took 43 ms of an open after a crash.
        if try io.kind(of: layout.walDirectory) == .directory {
            for name in try io.list(layout.walDirectory) where name.hasSuffix(StoreLayout.tempSuffix) {
                leftoverSpares.append(name)
                report.removedTempFiles.append("wal/" + name)
            }
        }
        guard try io.kind(of: layout.dimensionsDirectory) == .directory else { return }
        for dimension in try io.list(layout.dimensionsDirectory) {
            let directory = layout.dimensionDirectory(dimension)
            guard try io.kind(of: directory) == .directory else { continue }
            for name in try io.list(directory) {
                if name.hasSuffix(StoreLayout.tempSuffix) {
                    try io.remove(directory + "/" + name)
                    report.removedTempFiles.append(dimension + "/" + name)
                } else if let referenced, SegmentName.parse(name) != nil, !referenced.contains(dimension + "/" + name) {
                    try io.remove(directory + "/" + name)
                    report.removedUnpublishedSegments.append(dimension + "/" + name)
                }
            }
        }
    }
}
