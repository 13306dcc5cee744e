//! Recovery of segments: checking every listed segment block by block, salvaging readable
//! blocks, and rebuilding a manifest from the segments' headers when no manifest is valid.

extension Recoverer {
    /// Checks every segment the manifest lists (every block, every section) and every segment
    /// file it does not list; plans drops, rewrites and removals.
    func checkSegments(_ plan: Plan) throws(StoreError) {
        let mmap = MmapManager()
        var listed: Set<String> = []
        let total = RecoverProgress.listedByteCount(plan.manifest)
        var done = 0
        for dimension in plan.manifest.dimensions {
            for d in dimension.segments {
                let file = "dims/\(dimension.name)/" + SegmentName.fileName(id: d.id, version: d.version)
                listed.insert(file)
                progress?(RecoverProgress(doneByteCount: done, totalByteCount: total, item: file))
                try checkSegment(d, dimension: dimension.name, file: file, plan: plan, mmap: mmap)
                done = RecoverProgress.adding(done, d.fileLength)
            }
        }
        let referenced = listed.union(plan.alsoReferenced)
        let anyDamage = !plan.report.manifestsSkipped.isEmpty || plan.report.manifestRebuilt
        for (dimension, names) in try dimensionFiles() {
            for name in names where SegmentName.parse(name) != nil {
                let file = "dims/\(dimension)/\(name)"
                guard !referenced.contains(file) else { continue }
                // Unlisted files are leftovers of a flush; with damaged manifests around they
                // may be more, so they are kept in quarantine rather than removed.
                if anyDamage { plan.earlyQuarantine.append(file) } else { plan.earlyRemove.append(file) }
                plan.report.unpublishedSegmentsRemoved.append(file)
            }
        }
    }

    private func checkSegment(_ d: SegmentDescriptor, dimension: String, file: String, plan: Plan, mmap: MmapManager) throws(StoreError) {
        let path = layout.root + "/" + file
        guard try io.kind(of: path) != .missing else {
            let finding = RecoverReport.Finding(file: file, offset: nil, message: "listed in the manifest but missing")
            plan.report.segmentsMissing.append(finding)
            lose(d, dimension: dimension, file: file, finding: finding, plan: plan)
            return
        }
        let segment: Segment
        do throws(StoreError) {
            segment = try Segment(io: io, path: path, storeID: plan.manifest.storeID, id: d.id, version: d.version,
                                  listed: (d, dimension), manager: mmap, verification: .everyRead)
            _ = try segment.index()
        } catch where error.code != .unsupportedFormat {
            let finding = RecoverReport.Finding(file: file, offset: error.offset, message: error.message)
            plan.report.segmentsDamaged.append(finding)
            lose(d, dimension: dimension, file: file, finding: finding, plan: plan)
            if salvage { plan.lateQuarantine.append(file) }
            return
        }
        var bad: [RecoverReport.Finding] = []
        do throws(StoreError) { _ = try segment.hashIndex() } catch {
            // The hash index is rebuilt by a rewrite; the records themselves are intact.
            bad.append(.init(file: file, offset: error.offset, message: error.message))
        }
        var entries: [MemKeyVersions] = []
        var lost: [RecoverReport.Loss] = []
        for i in 0..<Int(segment.header.blockCount) {
            do throws(StoreError) {
                try collectRecords(segment, block: i, into: &entries)
            } catch {
                bad.append(.init(file: file, offset: error.offset, message: error.message))
                lost.append(.init(dimension: dimension, file: file, records: nil, firstLSN: nil, lastLSN: nil,
                                  detail: "block \(i): keys from \(describeKey(try? segment.firstKey(i)))"
                                      + (i + 1 < Int(segment.header.blockCount) ? " up to \(describeKey(try? segment.firstKey(i + 1)))" : " to the end")))
            }
        }
        guard !bad.isEmpty else { return }
        plan.report.blocksDamaged += bad
        plan.affected(dimension)
        guard salvage else {
            plan.report.damageRemaining += bad
            return
        }
        // The header counts every record: what the good blocks do not hold was in the bad ones.
        let salvagedCount = entries.reduce(0) { $0 + UInt64($1.versions.count) }
        let lostCount = segment.header.recordCount - min(segment.header.recordCount, salvagedCount)
        if lost.count == 1 {
            lost[0].records = lostCount
        } else {
            for i in lost.indices { lost[i].detail += " (\(lostCount) records in \(lost.count) damaged blocks)" }
        }
        plan.report.losses += lost
        plan.lateQuarantine.append(file)
        plan.manifestChanged = true
        if entries.isEmpty {
            dropFromManifest(d.id, dimension: dimension, plan: plan)
        } else {
            plan.rewrites.append((dimension, d, segment.header.newestRecordTime, segment.header.hasHashIndex, entries))
        }
    }

    /// Decodes every record of block `i` into `entries`, grouping a key's versions.
    private func collectRecords(_ segment: Segment, block i: Int, into entries: inout [MemKeyVersions]) throws(StoreError) {
        let view = try segment.block(i)
        var decoded: [(key: [UInt8], version: MemVersion)] = []
        try withExtendedLifetime(view.owner) { () throws(StoreError) in
            var (offset, previousLSN) = (view.head.recordsStart, segment.layout.minLSN)
            while offset < view.bytes.count {
                let (record, next) = try segment.record(in: view.bytes, at: offset, blockIndex: i, previousLSN: previousLSN, head: view.head)
                decoded.append((record.key.array, MemVersion(lsn: record.lsn, isDelete: record.isDelete, value: [UInt8](record.value))))
                (offset, previousLSN) = (next, record.lsn)
            }
        }
        // Only once the whole block decoded: a block is salvaged entirely or not at all.
        for (key, version) in decoded {
            if entries.last?.key == key { entries[entries.count - 1].versions.append(version) } else {
                entries.append(MemKeyVersions(key: key, versions: [version]))
            }
        }
    }

    /// A listed segment that is gone or unreadable: with `--salvage` it leaves the manifest
    /// (its records are lost); otherwise it stays, named, as damage.
    private func lose(_ d: SegmentDescriptor, dimension: String, file: String, finding: RecoverReport.Finding, plan: Plan) {
        plan.affected(dimension)
        guard salvage else {
            plan.report.damageRemaining.append(finding)
            return
        }
        plan.report.losses.append(.init(dimension: dimension, file: file, records: d.recordCount, firstLSN: d.minLSN,
                                        lastLSN: d.maxLSN, detail: "the whole segment: \(finding.message)"))
        dropFromManifest(d.id, dimension: dimension, plan: plan)
        plan.manifestChanged = true
    }

    private func dropFromManifest(_ id: UInt64, dimension: String, plan: Plan) {
        guard let i = plan.manifest.dimensions.firstIndex(where: { $0.name == dimension }) else { return }
        plan.manifest.dimensions[i].segments.removeAll { $0.id == id }
        if plan.manifest.dimensions[i].segments.isEmpty { plan.manifest.dimensions.remove(at: i) }
    }

    /// Writes the rewritten segments (new versions) and the segments salvaged from the WAL,
    /// and puts them in the manifest.
    func writeSalvagedSegments(_ plan: Plan, writer: SegmentWriter) throws(StoreError) {
        for (dimension, old, newestRecordTime, hashIndex, entries) in plan.rewrites {
            // The rewrite keeps the segment's codec, its kind of index and its age (cold tiering
            // goes by it).
            var writer = writer
            writer.hashIndex = hashIndex
            let (descriptor, path) = try writer.write(entries, dimension: dimension, id: old.id, version: old.version + 1,
                                                      codec: old.codec, newestRecordTime: newestRecordTime)
            guard let i = plan.manifest.dimensions.firstIndex(where: { $0.name == dimension }),
                let j = plan.manifest.dimensions[i].segments.firstIndex(where: { $0.id == old.id })
            else { continue }
            plan.manifest.dimensions[i].segments[j] = descriptor
            plan.report.segmentsWritten.append(relative(path))
            plan.report.recordsSalvaged += descriptor.recordCount
        }
        guard let memtable = plan.salvagedWAL, !memtable.isEmpty else { return }
        for dimension in memtable.dimensionNames.sorted() {
            let entries = memtable.allVersions(in: dimension)
            guard !entries.isEmpty else { continue }
            let id = plan.manifest.nextSegmentID
            plan.manifest.nextSegmentID += 1
            let (descriptor, path) = try writer.write(entries, dimension: dimension, id: id)
            if let i = plan.manifest.dimensions.firstIndex(where: { $0.name == dimension }) {
                plan.manifest.dimensions[i].segments.append(descriptor)
            } else {
                plan.manifest.dimensions.append(ManifestDimension(name: dimension, segments: [descriptor]))
                plan.manifest.dimensions.sort { $0.name < $1.name }
            }
            plan.report.segmentsWritten.append(relative(path))
            plan.report.recordsSalvaged += descriptor.recordCount
        }
        plan.manifest.checkpointLSN = max(plan.manifest.checkpointLSN, memtable.lsnRange.max)
    }

    func relative(_ path: String) -> String {
        path.hasPrefix(layout.root + "/") ? String(path.dropFirst(layout.root.count + 1)) : path
    }

    // MARK: Rebuilding a manifest

    /// With no valid manifest: a manifest made from every segment whose header holds (the
    /// newest version of each id), checkpointed at the newest LSN they hold.
    func rebuildManifest(highestGeneration: UInt64) throws(StoreError) -> Plan {
        let storeID = try discoverStoreID() ?? UInt64.random(in: 1...UInt64.max)
        let mmap = MmapManager()
        var byDimension: [String: [UInt64: (SegmentDescriptor, String)]] = [:]
        var damaged: [RecoverReport.Finding] = []
        for (dimension, names) in try dimensionFiles() {
            for name in names {
                guard let (id, version) = SegmentName.parse(name) else { continue }
                let file = "dims/\(dimension)/\(name)"
                do throws(StoreError) {
                    let s = try Segment(io: io, path: layout.root + "/" + file, storeID: storeID, id: id, version: version,
                                        listed: nil, manager: mmap, verification: .everyRead)
                    guard s.header.dimension == dimension else {
                        throw StoreError.corrupted("segment of dimension \(s.header.dimension) in the directory of \(dimension)", path: file)
                    }
                    let d = SegmentDescriptor(id: id, version: version, codec: s.header.codec, minLSN: s.header.minLSN,
                                              maxLSN: s.header.maxLSN, recordCount: s.header.recordCount, fileLength: s.header.fileLength)
                    if let existing = byDimension[dimension]?[id], existing.0.version > version { continue }
                    byDimension[dimension, default: [:]][id] = (d, file)
                } catch where error.code != .unsupportedFormat {
                    damaged.append(.init(file: file, offset: error.offset, message: error.message))
                }
            }
        }
        var manifest = Manifest(storeID: storeID, generation: highestGeneration + 1, checkpointLSN: 0, nextSegmentID: 1, dimensions: [])
        let plan = Plan(manifest: manifest)
        // Records the WAL still holds are replayed, not trusted to segments: a flush that never
        // published may have written some dimensions' segments and not others.
        let walFirstLSN = try firstWALLSN(storeID: storeID)
        for dimension in byDimension.keys.sorted() {
            var segments: [SegmentDescriptor] = []
            for (d, file) in byDimension[dimension]!.values.sorted(by: { $0.0.minLSN < $1.0.minLSN }) {
                if let walFirstLSN, d.minLSN >= walFirstLSN {
                    plan.earlyQuarantine.append(file)
                    plan.report.unpublishedSegmentsRemoved.append(file)
                    continue
                }
                if let last = segments.last, last.maxLSN >= d.minLSN {
                    damaged.append(.init(file: file, offset: nil, message: "its LSNs overlap segment \(last.id)'s"))
                    continue
                }
                segments.append(d)
                manifest.checkpointLSN = max(manifest.checkpointLSN, d.maxLSN)
                manifest.nextSegmentID = max(manifest.nextSegmentID, d.id + 1)
            }
            manifest.dimensions.append(ManifestDimension(name: dimension, segments: segments))
        }
        plan.manifest = manifest
        plan.manifestChanged = true
        plan.report.manifestRebuilt = true
        plan.report.segmentsDamaged = damaged
        plan.earlyQuarantine += damaged.map(\.file)
        plan.highestGeneration = max(highestGeneration, manifest.generation)
        return plan
    }

    /// The first LSN the WAL holds (the base of its first file whose header holds), if any.
    private func firstWALLSN(storeID: UInt64) throws(StoreError) -> LSN? {
        for name in (try? io.list(layout.walDirectory).sorted()) ?? [] {
            guard let number = WALFormat.fileNumber(name),
                let bytes = try? io.readPrefix(layout.walDirectory + "/" + name, count: WALFormat.headerByteCount),
                let header = bytes.withUnsafeBytes({ raw in try? WALReader.header(raw, number: number, storeID: storeID, path: name) })
            else { continue }
            return header.baseLSN
        }
        return nil
    }

    /// The store id, from any segment or WAL header whose checksum holds with the id it claims.
    private func discoverStoreID() throws(StoreError) -> UInt64? {
        for (dimension, names) in try dimensionFiles() {
            for name in names {
                guard let (id, version) = SegmentName.parse(name) else { continue }
                let path = layout.dimensionDirectory(dimension) + "/" + name
                if let id = StoreIDProbe.segment(io: io, path: path, segmentID: id, version: version) { return id }
            }
        }
        for name in (try? io.list(layout.walDirectory)) ?? [] {
            guard let number = WALFormat.fileNumber(name) else { continue }
            if let id = StoreIDProbe.wal(io: io, path: layout.walDirectory + "/" + name, number: number) { return id }
        }
        return nil
    }
}

/// A key for a report: text if it is printable UTF-8, hex otherwise.
func describeKey(_ key: UnsafeRawBufferPointer?) -> String {
    guard let key else { return "(unknown)" }
    if let text = String(validating: key, as: UTF8.self), text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) {
        return "\"\(text)\""
    }
    return "0x" + key.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
