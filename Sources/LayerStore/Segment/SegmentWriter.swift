//! Builds and durably writes new segment files: the one path by which a segment comes into
//! being, for flushes, compaction and salvage.
//!
//! Durability order: temp file, space reserved (`posix_fallocate`: a full disk fails here, not
//! later), bytes written, fsync, rename to the final name, directory fsync. Only then may a
//! manifest name the file.

/// Writes segments of one store.
struct SegmentWriter {
    let io: any FileIO
    let layout: StoreLayout
    let storeID: UInt64
    var blockByteCountTarget: Int
    /// Whether new segments get a hash index (format version 1) or none (version 2: smaller,
    /// point lookups search the block table).
    var hashIndex = true
    let filePermissions: UInt32
    let directoryPermissions: UInt32

    /// Builds segment (`id`, `version`) of `dimension` from `entries` (key order, versions
    /// newest first), writes it durably, and returns its manifest entry and path.
    /// - Precondition: `entries` holds at least one version.
    func write(_ entries: [MemKeyVersions], dimension: String, id: UInt64, version: UInt32 = 1,
               codec: UInt8 = SegmentFormat.codecNone, newestRecordTime: UInt64? = nil) throws(StoreError) -> (descriptor: SegmentDescriptor, path: String) {
        var minLSN = LSN.max, maxLSN: LSN = 0, count: UInt64 = 0
        for entry in entries {
            for v in entry.versions {
                minLSN = min(minLSN, v.lsn)
                maxLSN = max(maxLSN, v.lsn)
                count += 1
            }
        }
        return try write(dimension: dimension, id: id, version: version, codec: codec, newestRecordTime: newestRecordTime,
                         lsnRange: (minLSN, maxLSN), recordCount: count) { (builder) throws(StoreError) in
            for entry in entries {
                for version in entry.versions {
                    try entry.key.withBytes { (key) throws(StoreError) in
                        try version.value.withBytes { (value) throws(StoreError) in
                            try builder.add(key: key, lsn: version.lsn, isDelete: version.isDelete, value: value)
                        }
                    }
                }
            }
        }
    }

    /// Builds segment (`id`, `version`) of `dimension` from the records `fill` adds (key order,
    /// versions newest first; exactly `recordCount` of them, LSNs within `lsnRange`), writes
    /// it durably, and returns its manifest entry and path. The records go straight from their
    /// source into the segment: a flush copies no key or value on the way.
    func write(dimension: String, id: UInt64, version: UInt32 = 1, codec: UInt8 = SegmentFormat.codecNone,
               newestRecordTime: UInt64? = nil, lsnRange: (min: LSN, max: LSN), recordCount: UInt64,
               fill: (inout SegmentBuilder) throws(StoreError) -> Void) throws(StoreError) -> (descriptor: SegmentDescriptor, path: String) {
        precondition(recordCount > 0 && lsnRange.min <= lsnRange.max, "a segment holds at least one record")
        var builder = SegmentBuilder(storeID: storeID, segmentID: id, version: version, dimension: dimension,
                                     baseLSN: lsnRange.min, blockByteCountTarget: blockByteCountTarget, codec: codec,
                                     hashIndex: hashIndex)
        try fill(&builder)
        // A rewrite keeps its records' age (cold tiering goes by it); new data is "now".
        let built = builder.finish(newestRecordTime: newestRecordTime ?? Syscalls.wallClockNanoseconds())
        let path = layout.segmentPath(dimension: dimension, id: id, version: version)
        try writeFile(built.bytes, path: path, dimension: dimension)
        let fileLength = built.count
        let descriptor = SegmentDescriptor(id: id, version: version, codec: codec, minLSN: lsnRange.min, maxLSN: lsnRange.max,
                                           recordCount: recordCount, fileLength: UInt64(fileLength))
        return (descriptor, path)
    }

    /// A segment is written in pieces of this size, each handed to the device as soon as it is
    /// in the page cache: the device then writes while the rest is copied, and the closing
    /// fsync waits for the last piece, not for the whole file (a 280 MiB layer load, medians of
    /// interleaved runs: 0.41 -> 0.58 GB/s, the flushes' writes no longer arriving at once).
    static let writeBackChunkByteCount = 4 << 20

    /// Writes `bytes` durably under `path`.
    private func writeFile(_ bytes: UnsafeRawBufferPointer, path: String, dimension: String) throws(StoreError) {
        let directory = layout.dimensionDirectory(dimension)
        if try io.kind(of: directory) == .missing {
            try io.makeDirectory(directory, permissions: directoryPermissions)
            try io.syncDirectory(layout.dimensionsDirectory)
        }
        let temp = path + StoreLayout.tempSuffix
        try? io.remove(temp)
        let fd = try io.open(temp, [.write, .create, .exclusive], permissions: filePermissions)
        do throws(StoreError) {
            defer { io.close(fd) }
            try io.allocate(fd, path: temp, offset: 0, length: Int64(bytes.count))
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + SegmentWriter.writeBackChunkByteCount)
                try io.write(fd, path: temp, UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), at: Int64(offset))
                io.startWriteBack(fd, path: temp, offset: Int64(offset), length: Int64(end - offset))
                offset = end
            }
            try io.sync(fd, path: temp)
        } catch {
            try? io.remove(temp)
            throw error
        }
        try io.rename(temp, to: path)
        try io.syncDirectory(directory)
    }
}
