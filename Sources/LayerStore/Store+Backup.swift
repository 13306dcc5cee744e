//! Online backup: a consistent copy of one snapshot of the store in a new directory, taken while
//! a writer (in this process or another) keeps committing, flushing and compacting.
//!
//! What the backup holds, and why it is consistent:
//! - One snapshot pins a state and an LSN `L`: the manifest's segments (every write up to its
//!   checkpoint `C`) and the memtables (every write in `C+1 ... L`, and possibly later ones,
//!   which are left out).
//! - The segments are immutable once published, so a hard link to each listed file is a copy.
//!   When a link is impossible (another file system: `EXDEV`; the writer compacted the file away
//!   meanwhile: `ENOENT`), the bytes are written from the snapshot's own mapping, which outlives
//!   the file's name.
//! - The writes `C+1 ... L` are written as a fresh WAL file of the backup: one record per batch
//!   of at most ``Store/backupBatchByteCountMax`` bytes, in LSN order, ending exactly at `L` (no
//!   torn tail is possible: the file is written whole and synced before the manifest exists).
//!   They are taken from the snapshot's memtables rather than copied from the source's WAL
//!   files: a writer in another process may drop or roll those files at any moment, while the
//!   memtables of a snapshot never change. Operations keep their LSNs; only the grouping into
//!   records may differ, which changes nothing because every batch up to `L` is included whole.
//! - The manifest is published last (Formats/store-layout.md § Backups): until then the
//!   directory holds data without a manifest, which no open takes for a store.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What ``Store/backup(to:)-4mlp2`` wrote.
public struct BackupReport: Sendable, Equatable, Codable {
    /// The backup's directory.
    public var destination: String
    /// The snapshot's LSN: the backup holds every write up to it and none after it.
    public var lsn: LSN
    /// The checkpoint of the manifest copied: writes above it are in the backup's WAL.
    public var checkpointLSN: LSN
    /// Segment files in the backup.
    public var segmentCount = 0
    /// Segments that share their file with the source (hard links).
    public var linkedSegmentCount = 0
    /// Segments whose bytes were copied (another file system, or the source file was gone).
    public var copiedSegmentCount = 0
    /// Bytes of all segment files in the backup.
    public var segmentByteCount: UInt64 = 0
    /// WAL records written (0 when every write is in segments).
    public var walRecordCount = 0
    /// Operations in those records: `lsn - checkpointLSN`.
    public var walOperationCount = 0
    /// Bytes of the backup's WAL file (0 if none).
    public var walByteCount = 0
    /// How long the backup took.
    public var seconds = 0.0

    /// Creates an empty report for a backup of `lsn` into `destination`.
    public init(destination: String, lsn: LSN, checkpointLSN: LSN) {
        self.destination = destination
        self.lsn = lsn
        self.checkpointLSN = checkpointLSN
    }
}

extension Store {
    /// The most payload bytes a WAL record of a backup carries.
    static let backupBatchByteCountMax = 4 << 20

    /// Writes a consistent copy of the store, as of a snapshot taken now, into `destination`.
    ///
    /// Commits, flushes and compactions go on meanwhile, in this process or in a writer process
    /// beside a read-only one: the backup holds exactly the records of the snapshot (see
    /// ``BackupReport/lsn``), and opens as a store of its own. Segment files are hard-linked
    /// where possible (they are never written after publication), and copied otherwise. Every
    /// file and directory written is synced before the backup's manifest is published, so a
    /// crash during a backup leaves a directory that no open takes for a store.
    ///
    /// - Parameter destination: a directory that does not exist (it is created, with its parent
    ///   existing) or is empty.
    /// - Returns: what was written.
    /// - Throws: ``StoreError/Code/invalidArgument`` if `destination` is the store itself, a file,
    ///   or a directory that is not empty (nothing is written then); `closed`; `noSpace` and
    ///   `ioFailure` while writing (the destination is then not a store: remove it and retry).
    @discardableResult
    public func backup(to destination: String) throws(StoreError) -> BackupReport {
        let start = Syscalls.monotonicNanoseconds()
        let snapshot = try snapshot()
        let target = StoreLayout(destination)
        try prepareBackupDirectory(target)
        let manifest = snapshot.state.manifest
        var report = BackupReport(destination: target.root, lsn: snapshot.lsn, checkpointLSN: manifest.checkpointLSN)
        try backupSegments(snapshot.state, into: target, report: &report)
        try backupWAL(snapshot, into: target, report: &report)
        let manifests = ManifestStore(io: io, directory: target.root, permissions: options.filePermissions)
        try manifests.publish(manifest)
        try io.syncDirectory(StoreLayout.parent(of: target.root))
        report.seconds = Double(Syscalls.monotonicNanoseconds() - start) / 1e9
        return report
    }

    /// Creates `target` (or accepts it empty) with its `wal/` and `dims/` directories.
    private func prepareBackupDirectory(_ target: StoreLayout) throws(StoreError) {
        guard target.root != layout.root else {
            throw StoreError(.invalidArgument, "a backup cannot be written into the store itself", path: target.root)
        }
        switch try io.kind(of: target.root) {
        case .directory:
            let names = try io.list(target.root)
            guard names.isEmpty else {
                throw StoreError(.invalidArgument, "the backup destination is not empty (\(names.count) entries): choose a new or empty directory", path: target.root)
            }
        case .missing:
            try io.makeDirectory(target.root, permissions: options.directoryPermissions)
        case .file:
            throw StoreError(.invalidArgument, "the backup destination exists and is not a directory", path: target.root)
        }
        try io.makeDirectory(target.walDirectory, permissions: options.directoryPermissions)
        try io.makeDirectory(target.dimensionsDirectory, permissions: options.directoryPermissions)
    }

    /// Links (or copies) every segment the snapshot's manifest lists.
    private func backupSegments(_ state: StoreState, into target: StoreLayout, report: inout BackupReport) throws(StoreError) {
        for dimension in state.manifest.dimensions where !dimension.segments.isEmpty {
            let directory = target.dimensionDirectory(dimension.name)
            try io.makeDirectory(directory, permissions: options.directoryPermissions)
            for descriptor in dimension.segments {
                let source = layout.segmentPath(dimension: dimension.name, id: descriptor.id, version: descriptor.version)
                let copy = target.segmentPath(dimension: dimension.name, id: descriptor.id, version: descriptor.version)
                if try linkSegment(source, to: copy, length: descriptor.fileLength) {
                    report.linkedSegmentCount += 1
                } else {
                    guard let slot = state.segments[dimension.name]?.first(where: {
                        $0.name == (descriptor.id, descriptor.version)
                    }) else {
                        throw StoreError(.ioFailure, "segment \(descriptor.id) version \(descriptor.version) of \(dimension.name) is not mapped", path: source)
                    }
                    try writeCopy(of: try slot.segment(), to: copy)
                    report.copiedSegmentCount += 1
                }
                report.segmentCount += 1
                report.segmentByteCount += descriptor.fileLength
            }
            try io.syncDirectory(directory)
        }
        try io.syncDirectory(target.dimensionsDirectory)
    }

    /// Hard-links a segment; `false` if it must be copied instead (another file system, a file
    /// system without links, or the name is gone because a compaction removed it meanwhile).
    private func linkSegment(_ source: String, to copy: String, length: UInt64) throws(StoreError) -> Bool {
        do throws(StoreError) {
            try io.link(source, to: copy)
        } catch where [EXDEV, ENOENT, EPERM, EMLINK, ENOTSUP].contains(error.errno ?? 0) {
            return false
        }
        // Paired check: the name still holds the file the manifest lists (same length); a
        // surprise here is copied from the mapping instead, which is the snapshot's own bytes.
        let fd = try io.open(copy, [], permissions: 0)
        defer { io.close(fd) }
        if try io.size(fd, path: copy) == Int64(length) { return true }
        try io.remove(copy)
        return false
    }

    /// Writes a segment's bytes from its mapping (no copy in memory) into a new file, synced.
    private func writeCopy(of segment: Segment, to copy: String) throws(StoreError) {
        let fd = try io.open(copy, [.write, .create, .exclusive], permissions: options.filePermissions)
        defer { io.close(fd) }
        try withExtendedLifetime(segment) { () throws(StoreError) in
            try io.write(fd, path: copy, try segment.region.mapped().bytes, at: 0)
        }
        try io.sync(fd, path: copy)
    }

    /// Writes the snapshot's writes above the checkpoint as the backup's one WAL file.
    private func backupWAL(_ snapshot: Snapshot, into target: StoreLayout, report: inout BackupReport) throws(StoreError) {
        let checkpoint = snapshot.state.manifest.checkpointLSN
        guard snapshot.lsn > checkpoint else {
            try io.syncDirectory(target.walDirectory)
            return
        }
        var operations: [(lsn: LSN, dimension: String, key: [UInt8], version: MemVersion)] = []
        for memtable in snapshot.state.memtables where !memtable.isEmpty {
            for dimension in memtable.dimensionNames {
                for entry in memtable.allVersions(in: dimension) {
                    for version in entry.versions where version.lsn > checkpoint && version.lsn <= snapshot.lsn {
                        operations.append((version.lsn, dimension, entry.key, version))
                    }
                }
            }
        }
        operations.sort { $0.lsn < $1.lsn }
        // Paired check: exactly one operation per LSN, none missing (Formats/README.md § LSNs).
        for (i, op) in operations.enumerated() where op.lsn != checkpoint + 1 + LSN(i) {
            throw StoreError(.corrupted, "the snapshot's writes are not contiguous at LSN \(checkpoint + 1 + LSN(i))", path: path)
        }
        guard operations.count == Int(snapshot.lsn - checkpoint) else {
            throw StoreError(.corrupted, "the snapshot holds \(operations.count) writes above its checkpoint, expected \(snapshot.lsn - checkpoint)", path: path)
        }
        let number: UInt64 = 1
        let salt = UInt64.random(in: 1...UInt64.max)
        let seed = WALFormat.recordSeed(storeID: storeID, fileNumber: number, salt: salt)
        var file = ByteWriter(capacity: WALFormat.headerByteCount)
        file.append(contentsOf: WALFile.encodeHeader(storeID: storeID, number: number, baseLSN: checkpoint + 1, salt: salt))
        var batch = WriteBatch()
        var first = checkpoint + 1
        func emit() {
            // Everything up to the checkpoint is durable in the segments: the truth for `S`.
            WALWriter.encodeRecord(batch, firstLSN: first, syncedLSN: checkpoint, seed: seed, offset: UInt64(file.count), into: &file)
            report.walRecordCount += 1
            first += LSN(batch.count)
            batch.removeAll()
        }
        for op in operations {
            let added = WALFormat.operationHeaderByteCount + op.dimension.utf8.count + op.key.count + op.version.value.count
            if !batch.isEmpty && (batch.byteCount + added > Store.backupBatchByteCountMax || batch.count == Limits.batchOperationCountMax) {
                emit()
            }
            if op.version.isDelete {
                try batch.delete(forKey: op.key, in: op.dimension)
            } else {
                try batch.put(op.version.value, forKey: op.key, in: op.dimension)
            }
        }
        if !batch.isEmpty { emit() }
        report.walOperationCount = operations.count
        report.walByteCount = file.count
        try io.writeNewFile(target.walDirectory + "/" + WALFormat.fileName(number), file.bytes, permissions: options.filePermissions)
        try io.syncDirectory(target.walDirectory)
    }
}
