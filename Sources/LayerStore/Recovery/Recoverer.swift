//! `layerstore recover`: finds what a crash, a full disk or damage left in a store, says
//! exactly what it found, and repairs what can be repaired (Formats/recovery.md).
//!
//! Rules (the same ones every open applies, plus the decisions an open must not take alone):
//! - Temporary files were never published: removed.
//! - The newest manifest whose checksum holds wins; damaged newer ones are quarantined and the
//!   chosen one republished as the newest. With no valid manifest, one is rebuilt from the
//!   segments' self-describing headers.
//! - A torn WAL tail is a crash artefact: truncated. WAL damage (a bad record with proven
//!   records after it, a gap) is never dropped silently: it stays, named, unless `--salvage`
//!   recovers every valid record into new segments and says which LSNs were lost.
//! - A listed segment that is missing or cannot be opened, or a block that fails its checksum,
//!   stays named as damage unless `--salvage` rewrites the segment from its valid blocks (a new
//!   version of the same id) or drops it, saying what was lost.
//! - Nothing is deleted without a copy: damaged files are moved to `quarantine/`.
//! Order of changes: new segments, then the manifest (the commit point), then quarantine and
//! clean-up. A crash in between leaves a store that opens, or that recovery finishes.

/// Runs recovery on a store directory.
package struct Recoverer {
    let io: any FileIO
    let layout: StoreLayout
    let options: StoreOptions
    let dryRun: Bool
    let salvage: Bool
    /// Called on this thread as the run goes on (for a progress bar).
    var progress: ((RecoverProgress) -> Void)? = nil

    /// Recovers the store at `path` and reports what was found and done.
    /// - Throws: `storeNotFound`/`notAStore` for a path that holds no store, `locked` while a
    ///   writer holds it, `unsupportedFormat` for a newer store, I/O errors. Damage is not an
    ///   error: it is in the report.
    package static func run(path: String, dryRun: Bool, salvage: Bool, options: StoreOptions = StoreOptions(),
                            io: any FileIO = SystemFileIO(), progress: ((RecoverProgress) -> Void)? = nil) throws(StoreError) -> RecoverReport {
        let recoverer = Recoverer(io: io, layout: StoreLayout(path), options: options, dryRun: dryRun, salvage: salvage, progress: progress)
        return try recoverer.run()
    }

    /// The store as recovery sees it, built up phase by phase.
    final class Plan {
        var report = RecoverReport()
        /// The manifest to publish (starts as the chosen or rebuilt one).
        var manifest: Manifest
        /// Whether `manifest` differs from what is on disk and must be published.
        var manifestChanged = false
        /// The highest manifest generation present (valid or not).
        var highestGeneration: UInt64 = 0
        /// Files no manifest will list, set aside before anything new is written (a new
        /// segment's name may be a leftover's): damaged manifests, unlisted segments.
        var earlyQuarantine: [String] = []
        /// Unlisted leftover segments removed before anything new is written.
        var earlyRemove: [String] = []
        /// Files the current manifest still lists, moved once the new one is durable.
        var lateQuarantine: [String] = []
        /// Files removed at the end (temporary files, a never-written WAL file).
        var toRemove: [String] = []
        /// A torn WAL tail to truncate: file (relative), offset.
        var truncate: (file: String, offset: Int64)?
        /// Records salvaged from the WAL, to be written as new segments.
        var salvagedWAL: Memtable?
        /// Segments to rewrite from their valid blocks: (dimension, descriptor, entries).
        var rewrites: [(dimension: String, descriptor: SegmentDescriptor, newestRecordTime: UInt64, hashIndex: Bool,
                        entries: [MemKeyVersions])] = []
        /// Segment files (relative) that older valid manifests list.
        var alsoReferenced: Set<String> = []

        init(manifest: Manifest) { self.manifest = manifest }

        func affected(_ dimension: String) {
            if !report.dimensionsAffected.contains(dimension) { report.dimensionsAffected.append(dimension) }
        }
    }

    func run() throws(StoreError) -> RecoverReport {
        try checkIsStore()
        let lockFD = try lock()
        defer { if lockFD >= 0 { io.close(lockFD) } }
        let plan = try chooseManifest()
        plan.report.dryRun = dryRun
        plan.report.salvage = salvage
        try findTemporaryFiles(plan)
        try checkSegments(plan)
        let total = RecoverProgress.listedByteCount(plan.manifest)
        progress?(RecoverProgress(doneByteCount: total, totalByteCount: total, item: "wal/"))
        try analyseWAL(plan)
        if !dryRun {
            progress?(RecoverProgress(doneByteCount: total, totalByteCount: total, item: "applying"))
            try apply(plan)
        }
        progress?(RecoverProgress(doneByteCount: total, totalByteCount: total, item: "checking the result"))
        plan.report.dimensionsAffected.sort()
        plan.report.checkpointLSN = plan.manifest.checkpointLSN
        plan.report.consistent = plan.report.damageRemaining.isEmpty && (dryRun || opensCleanly())
        return plan.report
    }

    // MARK: Phases

    private func checkIsStore() throws(StoreError) {
        switch try io.kind(of: layout.root) {
        case .missing: throw StoreError(.storeNotFound, "no store at this path", path: layout.root)
        case .file: throw StoreError(.notAStore, "not a directory", path: layout.root)
        case .directory:
            let names = try io.list(layout.root)
            guard names.contains(where: { ManifestFormat.generation($0) != nil || $0 == "wal" || $0 == "dims" }) else {
                throw StoreError(.notAStore, "the directory holds no store", path: layout.root)
            }
        }
    }

    /// Takes the writer lock: recovery is offline. A dry run does not create `LOCK`.
    private func lock() throws(StoreError) -> Int32 {
        if dryRun, try io.kind(of: layout.lockFile) == .missing { return -1 }
        let fd = try io.open(layout.lockFile, dryRun ? [] : [.write, .create], permissions: options.filePermissions)
        do throws(StoreError) { try io.lock(fd, path: layout.lockFile) } catch {
            io.close(fd)
            throw StoreError(.locked, "a writer holds the store: close it before recovering", path: layout.lockFile)
        }
        return fd
    }

    private func chooseManifest() throws(StoreError) -> Plan {
        let manifests = ManifestStore(io: io, directory: layout.root, permissions: options.filePermissions)
        let generations = try manifests.generations()
        // New generations count from the highest a manifest can have: a name at or above the
        // limit is damaged (passed over below) and counting from it would overflow.
        let highest = generations.first { $0 < Manifest.generationLimit } ?? 0
        var skipped: [RecoverReport.Finding] = []
        for generation in generations {
            let name = ManifestFormat.fileName(generation)
            do throws(StoreError) {
                let manifest = try ManifestCodec.decode(try io.readWholeFile(layout.root + "/" + name), generation: generation, path: name)
                let plan = Plan(manifest: manifest)
                plan.highestGeneration = highest
                plan.report.manifestChosen = name
                plan.report.manifestsSkipped = skipped
                plan.earlyQuarantine = skipped.map(\.file)
                // A damaged newer manifest is set aside; the chosen one is republished as newest.
                plan.manifestChanged = !skipped.isEmpty
                for older in generations where older < generation {
                    let olderName = ManifestFormat.fileName(older)
                    let m: Manifest
                    do throws(StoreError) {
                        m = try ManifestCodec.decode(try io.readWholeFile(layout.root + "/" + olderName), generation: older, path: olderName)
                    } catch where error.code == .corrupted {
                        // A damaged older one too: publishing would prune it, and nothing is
                        // deleted without a copy.
                        plan.earlyQuarantine.append(olderName)
                        continue
                    }
                    for d in m.dimensions { for s in d.segments { plan.alsoReferenced.insert("dims/\(d.name)/" + SegmentName.fileName(id: s.id, version: s.version)) } }
                }
                return plan
            } catch where error.code == .corrupted || error.code == .ioFailure {
                skipped.append(.init(file: name, offset: error.offset, message: error.message))
            }
        }
        let plan = try rebuildManifest(highestGeneration: highest)
        plan.report.manifestsSkipped = skipped
        plan.earlyQuarantine += skipped.map(\.file)
        return plan
    }

    private func findTemporaryFiles(_ plan: Plan) throws(StoreError) {
        for name in try io.list(layout.root) where name.hasSuffix(StoreLayout.tempSuffix) {
            plan.toRemove.append(name)
            plan.report.tempFilesRemoved.append(name)
        }
        for (dimension, names) in try dimensionFiles() {
            for name in names where name.hasSuffix(StoreLayout.tempSuffix) {
                plan.toRemove.append("dims/\(dimension)/\(name)")
                plan.report.tempFilesRemoved.append("dims/\(dimension)/\(name)")
            }
        }
        // Spare WAL files a writer was preparing.
        if try io.kind(of: layout.walDirectory) == .directory {
            for name in try io.list(layout.walDirectory) where name.hasSuffix(StoreLayout.tempSuffix) {
                plan.toRemove.append("wal/\(name)")
                plan.report.tempFilesRemoved.append("wal/\(name)")
            }
        }
    }

    /// The files of each dimension directory.
    func dimensionFiles() throws(StoreError) -> [(String, [String])] {
        guard try io.kind(of: layout.dimensionsDirectory) == .directory else { return [] }
        var result: [(String, [String])] = []
        for dimension in try io.list(layout.dimensionsDirectory) where try io.kind(of: layout.dimensionDirectory(dimension)) == .directory {
            result.append((dimension, try io.list(layout.dimensionDirectory(dimension))))
        }
        return result
    }

    /// Carries out the plan: new segments, the manifest, then quarantine and clean-up.
    private func apply(_ plan: Plan) throws(StoreError) {
        // A creation cut short between its mkdirs leaves wal/ without dims/ (or the reverse), and
        // a rebuilt manifest then names a store that no open or flush can use: make them first.
        var made = false
        for directory in [layout.walDirectory, layout.dimensionsDirectory] where try io.kind(of: directory) == .missing {
            try io.makeDirectory(directory, permissions: options.directoryPermissions)
            made = true
        }
        if made { try io.syncDirectory(layout.root) }
        let writer = SegmentWriter(io: io, layout: layout, storeID: plan.manifest.storeID,
                                   blockByteCountTarget: options.blockByteCountTarget,
                                   filePermissions: options.filePermissions, directoryPermissions: options.directoryPermissions)
        let quarantine = Quarantine(io: io, layout: layout, directoryPermissions: options.directoryPermissions)
        func quarantineAll(_ files: [String]) throws(StoreError) {
            for file in files {
                guard try io.kind(of: layout.root + "/" + file) != .missing else { continue }
                let destination = try quarantine.move(file)
                plan.report.quarantined.append(.init(file: file, offset: nil, message: "moved to \(destination)"))
            }
        }
        // What no manifest will list goes first: damaged manifests (publishing prunes old
        // ones, and nothing is deleted without a copy) and leftover segments (a new segment's
        // name may be a leftover's). The chosen manifest and the segments it lists stay until
        // the new manifest is durable.
        try quarantineAll(plan.earlyQuarantine)
        for file in plan.earlyRemove where try io.kind(of: layout.root + "/" + file) != .missing {
            try io.remove(layout.root + "/" + file)
        }
        try writeSalvagedSegments(plan, writer: writer)
        if plan.manifestChanged {
            var next = plan.manifest
            let base = max(plan.highestGeneration, next.generation)
            guard base + 2 < Manifest.generationLimit else {
                throw StoreError(.limitExceeded, "manifest generations are exhausted: \(ManifestFormat.fileName(base)) leaves no room for two more")
            }
            next.generation = base + 1
            let manifests = ManifestStore(io: io, directory: layout.root, permissions: options.filePermissions)
            try manifests.publish(next)
            var copy = next
            copy.generation += 1
            try manifests.publish(copy)
            plan.manifest = copy
            plan.report.manifestWritten = ManifestFormat.fileName(copy.generation)
        }
        try quarantineAll(plan.lateQuarantine)
        var emptied = Set<String>()
        for file in plan.toRemove where try io.kind(of: layout.root + "/" + file) != .missing {
            try io.remove(layout.root + "/" + file)
            emptied.insert(StoreLayout.parent(of: layout.root + "/" + file))
        }
        // Durably, as an open does: a never-written WAL file whose removal a crash undid would
        // no longer be the last once the next writer reuses a lower number.
        for directory in emptied.sorted() { try io.syncDirectory(directory) }
        if let (file, offset) = plan.truncate {
            let fd = try io.open(layout.root + "/" + file, [.write], permissions: 0)
            defer { io.close(fd) }
            try io.truncate(fd, path: file, length: offset)
            try io.sync(fd, path: file)
        }
    }

    /// Opens the recovered store (read-only: this process holds the writer lock) and reads
    /// every record of every dimension, verifying every block.
    private func opensCleanly() -> Bool {
        var o = options
        o.readOnly = true
        o.blockVerification = .everyRead
        guard let store = try? Store(path: layout.root, options: o, io: io) else { return false }
        defer { try? store.close() }
        do throws(StoreError) {
            let snapshot = try store.snapshot()
            for dimension in snapshot.dimensionNames {
                try snapshot.scan(dimension) { _, _ in true }
            }
            return true
        } catch {
            return false
        }
    }
}
