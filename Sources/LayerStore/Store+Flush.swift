//! Flush: frozen memtables become immutable segments, published by the manifest swap, and then
//! the WAL below the new checkpoint is dropped (Formats/store-layout.md § Flush).
//!
//! Order, and why: each segment is written to a temp file, fsynced and renamed, and its
//! directory fsynced, *before* the manifest that lists it is published: a published manifest
//! never names a file that might not be there after a crash. The WAL is dropped only *after*
//! the swap, and only below the oldest kept manifest's checkpoint, so that falling back to an
//! older manifest still finds every write above its checkpoint in the WAL.

extension Store {
    /// Turns everything written so far into segments, publishes them and checkpoints the WAL.
    /// Returns when done.
    public func flush() throws(StoreError) {
        try checkOpen()
        guard let writer else { throw StoreError(.readOnly, "the store was opened read-only", path: path) }
        try writer.withLock { (w) throws(StoreError) in try freeze(w) }
        try runFlushesNow()
    }

    /// Starts flushing frozen memtables (in the background, or here, per the options).
    func scheduleFlushIfNeeded() {
        guard let writer, writer.withLock({ !$0.frozen.isEmpty }) else { return }
        if options.flushInBackground {
            flushQueue.async { [self] in _ = try? runPendingFlushes() }
        } else {
            _ = try? runFlushesNow()
        }
    }

    /// Back-pressure: with two memtables already waiting, a commit helps flush before it writes.
    func waitForFlushCapacity() throws(StoreError) {
        guard let writer, writer.withLock({ $0.frozen.count >= 2 }) else { return }
        try runFlushesNow()
    }

    /// Runs pending flushes on the flush queue and waits; rethrows a flush failure.
    private func runFlushesNow() throws(StoreError) {
        let result: Result<Void, StoreError> = flushQueue.sync {
            do throws(StoreError) { try runPendingFlushes(); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Flushes frozen memtables oldest first until none is left. Runs on `flushQueue` only.
    private func runPendingFlushes() throws(StoreError) {
        guard let writer else { return }
        while let (memtable, lastLSN, manifest) = writer.withLock({ w in w.frozen.first.map { ($0.memtable, $0.lastLSN, w.manifest) } }) {
            // A failure leaves the memtable frozen (its writes stay readable and in the WAL): the
            // next flush retries it, and back-pressure hands the error to committers.
            let started = Syscalls.monotonicNanoseconds()
            do throws(StoreError) {
                try flushOne(memtable, lastLSN: lastLSN, manifest: manifest, writer: writer)
            } catch {
                logFlushFailed(error)
                throw error
            }
            logFlushed(after: manifest, upTo: lastLSN, startedAt: started)
        }
    }

    var segmentWriter: SegmentWriter {
        SegmentWriter(io: io, layout: layout, storeID: storeID, blockByteCountTarget: options.blockByteCountTarget,
                      filePermissions: options.filePermissions, directoryPermissions: options.directoryPermissions)
    }

    private func flushOne(_ memtable: Memtable, lastLSN: LSN, manifest: Manifest, writer: Locked<WriterState>) throws(StoreError) {
        var next = manifest
        next.generation += 1
        next.checkpointLSN = lastLSN
        var opened: [String: Segment] = [:]
        for dimension in memtable.dimensionNames.sorted() {
            guard let summary = memtable.summary(of: dimension) else { continue }
            if next.segments(of: dimension).count >= Limits.segmentsPerDimensionMax {
                throw StoreError(.limitExceeded, "dimension \(dimension) has \(Limits.segmentsPerDimensionMax) segments: compact it before flushing more")
            }
            // Ids are never reused, even after a failed flush: a retry must not overwrite a file
            // that an earlier attempt may already have published.
            let id = writer.withLock { w in
                let id = max(w.reservedSegmentID, next.nextSegmentID)
                w.reservedSegmentID = id + 1
                return id
            }
            next.nextSegmentID = id + 1
            let (descriptor, segmentPath) = try segmentWriter.write(
                dimension: dimension, id: id, lsnRange: summary.lsnRange, recordCount: UInt64(summary.versionCount)
            ) { (builder) throws(StoreError) in
                try memtable.forEachVersion(in: dimension) { (key, lsn, isDelete, value) throws(StoreError) in
                    try builder.add(key: key, lsn: lsn, isDelete: isDelete, value: value)
                }
            }
            // Paired check: the new file maps and reads back as the descriptor says.
            let segment = try Segment(io: io, path: segmentPath, storeID: storeID, id: id, version: 1,
                                      listed: (descriptor, dimension), manager: mmap,
                                      verification: options.blockVerification, cache: blockCache)
            if let i = next.dimensions.firstIndex(where: { $0.name == dimension }) {
                next.dimensions[i].segments.append(descriptor)
            } else {
                next.dimensions.append(ManifestDimension(name: dimension, segments: [descriptor]))
                next.dimensions.sort { $0.name < $1.name }
            }
            opened[dimension] = segment
        }
        let manifests = ManifestStore(io: io, directory: layout.root, permissions: options.filePermissions)
        try manifests.publish(next)
        // From here the flush is durable: the writer and the readers move to `next` at once, so
        // a failure below leaves a store whose memory matches its disk (and a retry starts
        // from `next`, not from a manifest that no longer tells the truth).
        writer.withLock { w in
            w.manifest = next
            w.frozen.removeFirst()
            frozenCount.store(w.frozen.count, ordering: .relaxed)
            state.update { s in
                var segments = s.segments
                for (dimension, segment) in opened { segments.insertNewest(SegmentSlot(segment), in: dimension) }
                return StoreState(manifest: next, segments: segments, memtables: s.memtables.filter { $0 !== memtable })
            }
        }
        // A second copy under the next generation: the fallback for a damaged newest manifest is
        // then one with the same checkpoint, so the WAL below it can go now.
        var copy = next
        copy.generation += 1
        try manifests.publish(copy)
        try writer.withLock { (w) throws(StoreError) in
            w.manifest = copy
            w.keptCheckpoints = [copy.checkpointLSN, next.checkpointLSN]
            try w.wal.dropFiles(coveredBy: w.keptCheckpoints.min() ?? 0)
        }
    }
}
