//! Online compaction: the writer process compacts while readers keep reading their snapshots.
//!
//! Compaction runs on the flush queue, so it never races a flush for the manifest. Each
//! dimension is done on its own: merge, write the outputs, publish the manifest (twice, as a
//! flush does), swap the state, then remove the old files. A crash before the publish leaves the
//! old state (the outputs are unreferenced and removed at the next open); after it, the new one.
//! Readers holding older snapshots keep the old segments mapped; unlinking them is safe.

extension Store {
    /// Compacts segments: merges each dimension's segments into fewer, drops superseded
    /// versions and tombstones, optionally writes LZ4 (cold) segments, and publishes the result
    /// by the atomic manifest swap. Readers are not blocked.
    /// - Throws: `noSpace` before touching a dimension whose rewrite might not fit on disk;
    ///   `readOnly`, `closed`, `invalidArgument`, I/O errors.
    public func compact(_ options: CompactionOptions = CompactionOptions()) throws(StoreError) -> CompactionReport {
        try checkOpen()
        try options.validate()
        guard let writer else { throw StoreError(.readOnly, "the store was opened read-only", path: path) }
        let result: Result<CompactionReport, StoreError> = flushQueue.sync {
            do throws(StoreError) { return .success(try compactNow(options, writer: writer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private func compactNow(_ options: CompactionOptions, writer: Locked<WriterState>) throws(StoreError) -> CompactionReport {
        let start = Syscalls.monotonicNanoseconds()
        var report = CompactionReport(dryRun: options.dryRun)
        let names = options.dimension.map { [$0] } ?? writer.withLock { $0.manifest.dimensions.map(\.name) }
        for dimension in names {
            // Made through the state's slots, which older snapshots share: they then read the
            // segments this compaction reads, not mappings of their own.
            let inputs = Array(try currentState().segments.made(dimension).reversed())  // oldest first
            guard !inputs.isEmpty else { continue }
            try checkSpace(for: inputs)
            let compactor = Compactor(writer: segmentWriter, options: options)
            let done = try compactor.compact(inputs, dimension: dimension) {
                writer.withLock { w in
                    let id = max(w.reservedSegmentID, w.manifest.nextSegmentID)
                    w.reservedSegmentID = id + 1
                    return id
                }
            }
            var result = done.result
            if !options.dryRun {
                result.written = done.outputs.map { relative($0.path) }
                result.removed = try publish(done, replacing: inputs, writer: writer)
            }
            report.dimensions.append(result)
        }
        report.seconds = Double(Syscalls.monotonicNanoseconds() - start) / 1e9
        let bytes = report.dimensions.reduce(0) { $0 + Double($1.bytesBefore) }
        report.megabytesPerSecond = report.seconds > 0 ? bytes / 1e6 / report.seconds : 0
        logCompacted(report)
        return report
    }

    /// Refuses, before anything is written, a rewrite that might not fit: the outputs are at
    /// most as large as the inputs, and both exist until the publish.
    private func checkSpace(for inputs: [Segment]) throws(StoreError) {
        let needed = inputs.reduce(UInt64(0)) { $0 + $1.header.fileLength }
        let available = try io.availableByteCount(layout.root)
        guard available >= needed + needed / 16 + (1 << 20) else {
            throw StoreError(.noSpace, "compacting \(inputs[0].header.dimension) needs up to \(needed) bytes free, \(available) are", path: path)
        }
    }

    /// Publishes the outputs in place of the inputs, swaps the readers' state, removes the
    /// old files. Returns the removed files.
    private func publish(_ done: CompactedDimension, replacing inputs: [Segment], writer: Locked<WriterState>) throws(StoreError) -> [String] {
        var opened: [Segment] = []
        for (descriptor, segmentPath) in done.outputs {
            opened.append(try Segment(io: io, path: segmentPath, storeID: storeID, id: descriptor.id, version: descriptor.version,
                                      listed: (descriptor, done.dimension), manager: mmap,
                                      verification: options.blockVerification, cache: blockCache))
        }
        let manifests = ManifestStore(io: io, directory: layout.root, permissions: options.filePermissions)
        let inputIDs = Set(inputs.map { SegmentFileID(id: $0.header.segmentID, version: $0.header.version) })
        var next = writer.withLock { $0.manifest }
        next.generation += 1
        if let i = next.dimensions.firstIndex(where: { $0.name == done.dimension }) {
            // Segments flushed meanwhile cannot exist (flushes run on this queue), so the
            // dimension's list is exactly the inputs.
            let kept = next.dimensions[i].segments.filter { !inputIDs.contains(SegmentFileID(id: $0.id, version: $0.version)) }
            precondition(kept.isEmpty, "a dimension's segments changed during its compaction")
            next.dimensions[i].segments = done.outputs.map(\.descriptor)
            if next.dimensions[i].segments.isEmpty { next.dimensions.remove(at: i) }
        }
        next.nextSegmentID = max(next.nextSegmentID, writer.withLock { $0.reservedSegmentID })
        try manifests.publish(next)
        // Durable from here: the writer and the readers move to `next` together, so a failure
        // below leaves memory matching the disk, and a retry starts from `next`.
        writer.withLock { w in
            w.manifest = next
            state.update { s in
                var segments = s.segments
                segments[done.dimension] = opened.isEmpty ? nil : opened.reversed().map(SegmentSlot.init)
                return StoreState(manifest: next, segments: segments, memtables: s.memtables)
            }
        }
        var copy = next
        copy.generation += 1
        try manifests.publish(copy)
        writer.withLock { w in
            w.manifest = copy
            w.keptCheckpoints = [copy.checkpointLSN, next.checkpointLSN]
        }
        // Both kept manifests now list only the outputs: the inputs are garbage. Snapshots that
        // still use them keep their mappings; the names can go.
        var removed: [String] = []
        for input in inputs where !done.outputs.contains(where: { $0.path == input.path }) {
            try io.remove(input.path)
            removed.append(relative(input.path))
        }
        if let directory = inputs.first.map({ StoreLayout.parent(of: $0.path) }) { try io.syncDirectory(directory) }
        return removed
    }

    private func relative(_ path: String) -> String {
        path.hasPrefix(layout.root + "/") ? String(path.dropFirst(layout.root.count + 1)) : path
    }
}

/// A segment file's identity.
private struct SegmentFileID: Hashable {
    var id: UInt64
    var version: UInt32
}
