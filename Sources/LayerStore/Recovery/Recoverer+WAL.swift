//! Recovery of the WAL: what the store will replay, a torn tail to truncate, damage to name —
//! and, with `--salvage`, every valid record above the checkpoint gathered past the damage.

extension Recoverer {
    /// One valid record above the checkpoint, copied out of its file.
    private struct SalvagedRecord {
        var firstLSN: LSN
        var count: Int
        var payload: [UInt8]
        var lastLSN: LSN { firstLSN + LSN(count) - 1 }
    }

    func analyseWAL(_ plan: Plan) throws(StoreError) {
        guard try io.kind(of: layout.walDirectory) == .directory else { return }
        let checkpoint = plan.manifest.checkpointLSN
        let numbers = try io.list(layout.walDirectory).compactMap(WALFormat.fileNumber).sorted()
        let mmap = MmapManager()
        var expected = checkpoint + 1
        var records: [SalvagedRecord] = []
        var damage: [RecoverReport.Finding] = []
        // As replay does: a file whose successor starts at or below checkpoint + 1 holds
        // nothing the store needs, and is not read (its damage, if any, loses nothing).
        var bases: [LSN?] = []
        for number in numbers {
            let bytes = try io.readPrefix(layout.walDirectory + "/" + WALFormat.fileName(number), count: WALFormat.headerByteCount)
            bases.append(bytes.withUnsafeBytes { raw in
                try? WALReader.header(raw, number: number, storeID: plan.manifest.storeID, path: "").baseLSN
            })
        }
        var start = 0
        while start + 1 < numbers.count, let next = bases[start + 1], next <= checkpoint + 1 { start += 1 }
        for (index, number) in numbers.enumerated() where index >= start {
            let file = "wal/" + WALFormat.fileName(number)
            let path = layout.root + "/" + file
            let isLast = index == numbers.count - 1
            let prefix = try io.readPrefix(path, count: WALFormat.headerByteCount)
            if isLast && WALFormat.headerNeverWritten(prefix) {
                plan.toRemove.append(file)  // created, never written: holds nothing
                plan.report.tempFilesRemoved.append(file)
                continue
            }
            let header: WALHeader
            do throws(StoreError) {
                header = try prefix.withBytes { (raw) throws(StoreError) in
                    try WALReader.header(raw, number: number, storeID: plan.manifest.storeID, path: file)
                }
            } catch where error.code != .unsupportedFormat {
                damage.append(.init(file: file, offset: 0, message: error.message))
                continue
            }
            let fd = try io.open(path, [], permissions: 0)
            let size = try io.size(fd, path: path)
            let region = try MmapRegion(io: io, fd: fd, path: path, count: Int(size), manager: mmap)
            io.close(fd)
            var fileRecords: [SalvagedRecord] = []
            let end = withExtendedLifetime(region) {
                WALReader.records(region.bytes, header: header) { r in
                    fileRecords.append(SalvagedRecord(firstLSN: r.firstLSN, count: r.operationCount, payload: [UInt8](r.payload)))
                }
            }
            let above = fileRecords.filter { $0.lastLSN > checkpoint }
            if header.baseLSN > expected {
                damage.append(.init(file: file, offset: 0, message: "WAL records \(expected)...\(header.baseLSN - 1) are missing"))
            }
            records += above
            if let last = fileRecords.last { expected = max(expected, last.lastLSN + 1) }
            var resumeAt: Int?
            switch end {
            case .clean:
                break
            case .torn(let offset, let byteCount, let discarded) where isLast:
                plan.truncate = (file, Int64(offset))
                plan.report.tornTail = .init(file: file, offset: UInt64(offset),
                                             message: "torn record (a crash artefact)" + (discarded > 0 ? "; \(discarded) unsynced later records discarded" : ""))
                plan.report.tornTailByteCount = UInt64(byteCount)
            case .torn(let offset, _, _):
                damage.append(.init(file: file, offset: UInt64(offset), message: "torn record in a WAL file that is not the last"))
                resumeAt = offset
            case .damaged(let offset, let reason):
                damage.append(.init(file: file, offset: UInt64(offset), message: reason))
                resumeAt = offset
            }
            if let resumeAt, salvage {
                let later = withExtendedLifetime(region) {
                    WALReader.validRecords(region.bytes, header: header, from: resumeAt + WALFormat.recordAlignment, minimumLSN: expected)
                }
                for r in later where r.firstLSN + LSN(r.operationCount) - 1 > checkpoint {
                    records.append(SalvagedRecord(firstLSN: r.firstLSN, count: r.operationCount, payload: [UInt8](r.payload)))
                    expected = max(expected, r.firstLSN + LSN(r.operationCount))
                }
            }
        }
        plan.report.walDamage = damage
        if damage.isEmpty {
            plan.report.walRecords = records.count
            plan.report.walOperations = records.reduce(0) { $0 + $1.count }
            plan.report.walFirstLSN = records.first?.firstLSN
            plan.report.walLastLSN = records.last?.lastLSN
            return
        }
        guard salvage else {
            plan.report.damageRemaining += damage
            return
        }
        salvageWAL(records, checkpoint: checkpoint, files: numbers.map { "wal/" + WALFormat.fileName($0) }, plan: plan)
    }

    /// Puts every valid record above the checkpoint into a memtable for new segments, and
    /// names the LSNs that no valid record holds.
    private func salvageWAL(_ found: [SalvagedRecord], checkpoint: LSN, files: [String], plan: Plan) {
        let memtable = Memtable()
        var next = checkpoint + 1
        var kept = 0
        for record in found.sorted(by: { $0.firstLSN < $1.firstLSN }) where record.firstLSN >= next {
            if record.firstLSN > next {
                plan.report.losses.append(.init(dimension: nil, file: "wal", records: record.firstLSN - next, firstLSN: next,
                                                lastLSN: record.firstLSN - 1, detail: "WAL records damaged or missing"))
            }
            record.payload.withUnsafeBytes { memtable.apply(payload: $0, count: record.count, firstLSN: record.firstLSN) }
            next = record.lastLSN + 1
            kept += 1
        }
        plan.report.walRecordsSalvaged = kept
        for dimension in memtable.dimensionNames { plan.affected(dimension) }
        plan.salvagedWAL = memtable
        plan.lateQuarantine += files.filter { !plan.toRemove.contains($0) }
        plan.truncate = nil
        plan.manifestChanged = true
    }
}
