//! Rewrites one dimension's segments: merges them, drops superseded versions and tombstones,
//! and cuts the survivors into new segments by LSN range (Formats/store-layout.md § Compaction).
//!
//! Why by LSN range: the manifest keeps a dimension's segments in disjoint, ascending LSN
//! ranges, and readers consult them newest first. Cutting the merged survivors by LSN keeps
//! that invariant, so the read path needs no change; each output is still in key order.
//!
//! Invariants: the survivors are exactly the newest `keepVersions` versions of each key, minus
//! tombstones with nothing older under them; every survivor lands in exactly one output; an
//! output is never empty.

/// The result of compacting one dimension, before publication.
struct CompactedDimension {
    var dimension: String
    /// The new segments, oldest first: descriptor and path.
    var outputs: [(descriptor: SegmentDescriptor, path: String)]
    var result: CompactionReport.DimensionResult
}

struct Compactor {
    let writer: SegmentWriter
    let options: CompactionOptions

    /// Merges `inputs` (oldest first) of `dimension`; writes the outputs unless a dry run.
    /// - Parameter reserveID: hands out a new segment id (never reused).
    func compact(_ inputs: [Segment], dimension: String, reserveID: () -> UInt64) throws(StoreError) -> CompactedDimension {
        var result = CompactionReport.DimensionResult(dimension: dimension)
        result.segmentsBefore = inputs.count
        result.bytesBefore = inputs.reduce(0) { $0 + $1.header.fileLength }
        result.recordsBefore = inputs.reduce(0) { $0 + $1.header.recordCount }
        let survivors = try survivingVersions(inputs, result: &result)
        result.recordsAfter = survivors.reduce(0) { $0 + UInt64($1.versions.count) }
        var outputs: [(SegmentDescriptor, String)] = []
        for range in cutByLSN(survivors) {
            let entries = survivors.compactMap { entry -> MemKeyVersions? in
                let versions = entry.versions.filter { range.contains($0.lsn) }
                return versions.isEmpty ? nil : MemKeyVersions(key: entry.key, versions: versions)
            }
            let newest = inputs.filter { $0.header.maxLSN >= range.lowerBound && $0.header.minLSN <= range.upperBound }
                .map(\.header.newestRecordTime).max() ?? 0
            let codec = codecFor(newestRecordTime: newest)
            if codec == SegmentFormat.codecLZ4 { result.compressedSegments += 1 }
            guard !options.dryRun else { continue }
            // A single segment rewritten as a single segment keeps its id: a new version of it.
            let (id, version) = inputs.count == 1 && survivors.count > 0 && cutCount(survivors) == 1
                ? (inputs[0].header.segmentID, inputs[0].header.version + 1) : (reserveID(), UInt32(1))
            var blockWriter = writer
            blockWriter.blockByteCountTarget = options.blockByteCountTarget
                ?? (codec == SegmentFormat.codecLZ4 ? CompactionOptions.coldBlockByteCountTarget : writer.blockByteCountTarget)
            blockWriter.hashIndex = options.hashIndex ?? (codec != SegmentFormat.codecLZ4)
            let (descriptor, path) = try blockWriter.write(entries, dimension: dimension, id: id, version: version, codec: codec,
                                                           newestRecordTime: newest)
            outputs.append((descriptor, path))
            result.bytesAfter += descriptor.fileLength
        }
        result.segmentsAfter = options.dryRun ? cutCount(survivors) : outputs.count
        return CompactedDimension(dimension: dimension, outputs: outputs, result: result)
    }

    /// Every key's surviving versions, in key order, newest first.
    private func survivingVersions(_ inputs: [Segment], result: inout CompactionReport.DimensionResult) throws(StoreError) -> [MemKeyVersions] {
        var merge = try MergeIterator(inputs)
        var survivors: [MemKeyVersions] = []
        var current: MemKeyVersions?
        func finish(_ entry: MemKeyVersions) {
            var kept = Array(entry.versions.prefix(options.keepVersions))
            result.versionsDropped += UInt64(entry.versions.count - kept.count)
            // A tombstone with nothing older under it hides nothing: it goes too.
            while let last = kept.last, last.isDelete {
                kept.removeLast()
                result.tombstonesDropped += 1
            }
            if !kept.isEmpty { survivors.append(MemKeyVersions(key: entry.key, versions: kept)) }
        }
        while let (key, version) = try merge.next() {
            if current?.key == key {
                current!.versions.append(version)
            } else {
                if let done = current { finish(done) }
                current = MemKeyVersions(key: key, versions: [version])
            }
        }
        if let done = current { finish(done) }
        return survivors
    }

    /// LSN ranges that cut the survivors into outputs of about the target size.
    private func cutByLSN(_ survivors: [MemKeyVersions]) -> [ClosedRange<LSN>] {
        var sizes: [(lsn: LSN, bytes: Int)] = []
        for entry in survivors {
            for v in entry.versions { sizes.append((v.lsn, entry.key.count + v.value.count + 8)) }
        }
        guard !sizes.isEmpty else { return [] }
        sizes.sort { $0.lsn < $1.lsn }
        var ranges: [ClosedRange<LSN>] = []
        var start = sizes[0].lsn
        var bytes = 0
        for (i, item) in sizes.enumerated() {
            bytes += item.bytes
            if bytes >= options.targetSegmentByteCount && i + 1 < sizes.count {
                ranges.append(start...item.lsn)
                start = sizes[i + 1].lsn
                bytes = 0
            }
        }
        ranges.append(start...sizes[sizes.count - 1].lsn)
        return ranges
    }

    private func cutCount(_ survivors: [MemKeyVersions]) -> Int { cutByLSN(survivors).count }

    private func codecFor(newestRecordTime: UInt64) -> UInt8 {
        switch options.compression {
        case .none: return SegmentFormat.codecNone
        case .lz4: return SegmentFormat.codecLZ4
        case .lz4OlderThan(let seconds):
            // Saturating: a duration longer than the epoch makes nothing old enough.
            let now = Syscalls.wallClockNanoseconds()
            let age = seconds * 1e9
            guard age < Double(now) else { return SegmentFormat.codecNone }
            return newestRecordTime < now - UInt64(age) ? SegmentFormat.codecLZ4 : SegmentFormat.codecNone
        }
    }
}
