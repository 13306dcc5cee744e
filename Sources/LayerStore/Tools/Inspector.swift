//! `layerstore inspect`: what a store holds, read from its manifests, WAL and segment files
//! without changing a byte; and, for one segment file, every field of its header, footer,
//! block table and hash index.
//!
//! Invariants:
//! - Read-only, like ``Verifier`` (whose listing, manifest choice, WAL scan and segment check it
//!   reuses): no lock, nothing created, changed or removed; it runs beside a live writer.
//! - Nothing is trusted that is not checked, and nothing checked is hidden: a damaged segment is
//!   shown field by field *as found*, next to the checks that failed.
//! - The JSON keys (`Encodable`) are part of the tool's interface and stay stable.

/// The summary of a store: ``Inspector/inspect(store:)``.
package struct StoreInspection: Sendable, Encodable {
    /// One manifest file and whether it decodes and checks.
    package struct ManifestInfo: Sendable, Encodable {
        package var name: String
        package var generation: UInt64
        package var byteCount: Int
        /// `valid`, or the verify status (`damaged`, `unsupported`, `unreadable`).
        package var status: String
        /// Why it is not valid.
        package var reason: String?

        private enum CodingKeys: String, CodingKey { case name, generation, byteCount = "bytes", status, reason }
    }

    /// One segment the chosen manifest lists.
    package struct SegmentInfo: Sendable, Encodable {
        package var id: UInt64
        package var version: UInt32
        package var codec: UInt8
        package var minLSN: LSN
        package var maxLSN: LSN
        package var recordCount: UInt64
        package var byteCount: UInt64
        /// Relative to the store.
        package var path: String
        /// Whether the file exists.
        package var present: Bool

        private enum CodingKeys: String, CodingKey {
            case id, version, codec, minLSN, maxLSN, recordCount, byteCount = "bytes", path, present
        }
    }

    /// One dimension and its segments, oldest first.
    package struct DimensionInfo: Sendable, Encodable {
        package var name: String
        package var segments: [SegmentInfo]
        package var recordCount: UInt64 { segments.reduce(0) { $0 + $1.recordCount } }
        package var byteCount: UInt64 { segments.reduce(0) { $0 + $1.byteCount } }

        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(segments, forKey: .segments)
            try c.encode(recordCount, forKey: .recordCount)
            try c.encode(byteCount, forKey: .byteCount)
        }

        private enum CodingKeys: String, CodingKey { case name, segments, recordCount, byteCount = "bytes" }
    }

    /// One WAL file: its header and what its records hold.
    package struct WALFileInfo: Sendable, Encodable {
        package var path: String
        package var number: UInt64
        package var byteCount: Int
        /// `nil` when the header does not check (or was never written).
        package var baseLSN: LSN?
        package var recordCount: Int
        package var firstLSN: LSN?
        package var lastLSN: LSN?
        package var recordsAboveCheckpoint: Int
        /// How the records end: `clean`, `torn at N`, `damaged at N: …`, or why none were read.
        package var end: String

        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(number, forKey: .number)
            try c.encode(byteCount, forKey: .byteCount)
            try c.encode(baseLSN, forKey: .baseLSN)
            try c.encode(recordCount, forKey: .recordCount)
            try c.encode(firstLSN, forKey: .firstLSN)
            try c.encode(lastLSN, forKey: .lastLSN)
            try c.encode(recordsAboveCheckpoint, forKey: .recordsAboveCheckpoint)
            try c.encode(end, forKey: .end)
        }

        private enum CodingKeys: String, CodingKey {
            case path, number, byteCount = "bytes", baseLSN, recordCount, firstLSN, lastLSN, recordsAboveCheckpoint, end
        }
    }

    package var formatVersion: UInt32
    package var storeID: UInt64
    /// The generation of the newest valid manifest (the one an open chooses).
    package var generation: UInt64
    /// Every manifest file, newest first.
    package var manifests: [ManifestInfo]
    /// Manifests newer than the chosen one that are not valid: an open skips them.
    package var skippedManifests: [ManifestInfo] { manifests.filter { $0.status != "valid" && $0.generation > generation } }
    package var checkpointLSN: LSN
    package var nextSegmentID: UInt64
    package var dimensions: [DimensionInfo]
    package var wal: [WALFileInfo]
    /// WAL records (batches) above the checkpoint: what an open replays.
    package var walRecordsAboveCheckpoint: Int { wal.reduce(0) { $0 + $1.recordsAboveCheckpoint } }
    /// The LSNs of those records.
    package var walLSNsAboveCheckpoint: ClosedRange<LSN>?
    /// Bytes of every manifest, segment and WAL file.
    package var totalByteCount: Int

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(hexID(storeID), forKey: .storeID)
        try c.encode(generation, forKey: .generation)
        try c.encode(manifests, forKey: .manifests)
        try c.encode(skippedManifests.map(\.name), forKey: .skippedManifests)
        try c.encode(checkpointLSN, forKey: .checkpointLSN)
        try c.encode(nextSegmentID, forKey: .nextSegmentID)
        try c.encode(dimensions, forKey: .dimensions)
        try c.encode(wal, forKey: .wal)
        try c.encode(walRecordsAboveCheckpoint, forKey: .walRecordsAboveCheckpoint)
        try c.encode(walLSNsAboveCheckpoint?.lowerBound, forKey: .walFirstLSNAboveCheckpoint)
        try c.encode(walLSNsAboveCheckpoint?.upperBound, forKey: .walLastLSNAboveCheckpoint)
        try c.encode(totalByteCount, forKey: .totalByteCount)
    }

    private enum CodingKeys: String, CodingKey {
        case formatVersion, storeID, generation, manifests, skippedManifests, checkpointLSN, nextSegmentID, dimensions, wal
        case walRecordsAboveCheckpoint, walFirstLSNAboveCheckpoint, walLastLSNAboveCheckpoint, totalByteCount = "totalBytes"
    }
}

/// Reads what a store holds; see ``inspect(store:)`` and ``inspectSegment(store:file:)``.
package enum Inspector {
    /// Summarises the store at `path` from its newest valid manifest and its WAL.
    /// - Throws: `storeNotFound` / `notAStore` (not a store), `corrupted` when no manifest is
    ///   valid (run `verify` to see why), `ioFailure` when the store cannot be listed.
    package static func inspect(store path: String) throws(StoreError) -> StoreInspection {
        let io = SystemFileIO()
        var run = try VerificationRun(io: io, root: path, progress: nil)
        run.checkManifests()
        guard let manifest = run.newest else {
            throw StoreError(.corrupted, "no manifest is valid: run `layerstore verify` to see the damage", path: run.layout.root)
        }
        let manifests = run.report.files.map { file in
            StoreInspection.ManifestInfo(name: file.path, generation: ManifestFormat.generation(file.path) ?? 0, byteCount: file.byteCount,
                                         status: file.status == .ok ? "valid" : file.status.rawValue, reason: file.problems.first?.message)
        }
        let dimensions = manifest.dimensions.map { dimension in
            StoreInspection.DimensionInfo(name: dimension.name, segments: dimension.segments.map { s in
                let path = "dims/\(dimension.name)/" + SegmentName.fileName(id: s.id, version: s.version)
                return StoreInspection.SegmentInfo(id: s.id, version: s.version, codec: s.codec, minLSN: s.minLSN, maxLSN: s.maxLSN,
                                                   recordCount: s.recordCount, byteCount: s.fileLength, path: path,
                                                   present: (try? io.kind(of: run.layout.root + "/" + path)) == .file)
            })
        }
        let scans = Verifier.scanWAL(io: io, layout: run.layout, storeID: manifest.storeID, checkpointLSN: manifest.checkpointLSN) { _, _ in }
        var above: ClosedRange<LSN>?
        for range in scans.compactMap(\.lsnsAboveCheckpoint) {
            above = min(above?.lowerBound ?? range.lowerBound, range.lowerBound)...max(above?.upperBound ?? 0, range.upperBound)
        }
        return StoreInspection(
            formatVersion: ManifestFormat.formatVersion, storeID: manifest.storeID, generation: manifest.generation,
            manifests: manifests, checkpointLSN: manifest.checkpointLSN, nextSegmentID: manifest.nextSegmentID,
            dimensions: dimensions, wal: scans.filter { !$0.vanished }.map(walInfo), walLSNsAboveCheckpoint: above,
            totalByteCount: run.totalByteCount)
    }

    private static func walInfo(_ scan: WALFileScan) -> StoreInspection.WALFileInfo {
        let end: String
        switch scan.end {
        case .clean(let offset)?: end = "clean at \(offset)"
        case .torn(let offset, let byteCount, let discarded)?: end = "torn at \(offset) (\(byteCount) bytes, \(discarded) discarded records)"
        case .damaged(let offset, let reason)?: end = "damaged at \(offset): \(reason)"
        case nil: end = scan.problems.first.map { "not read: \($0.message)" } ?? scan.notes.first.map { "not read: \($0.message)" } ?? "not read"
        }
        return StoreInspection.WALFileInfo(
            path: scan.path, number: scan.number, byteCount: scan.byteCount, baseLSN: scan.header?.baseLSN, recordCount: scan.recordCount,
            firstLSN: scan.lsns?.lowerBound, lastLSN: scan.lsns?.upperBound, recordsAboveCheckpoint: scan.recordsAboveCheckpoint, end: end)
    }

    /// Everything in one segment file of the store at `path`, checked or as found.
    /// - Parameter file: the segment file: a path as given, or relative to the store directory.
    ///   Its id and version come from its name, its dimension from its directory, and the store
    ///   id (which seeds its checksums) from the store's newest valid manifest.
    /// - Throws: `invalidArgument` if `file` is not a segment file name or does not exist;
    ///   `storeNotFound` / `notAStore`; `corrupted` if no store id can be found. Damage in the
    ///   segment is never thrown: it is in the result.
    package static func inspectSegment(store path: String, file: String) throws(StoreError) -> SegmentInspection {
        let io = SystemFileIO()
        var run = try VerificationRun(io: io, root: path, progress: nil)
        let candidates = [file, run.layout.root + "/" + file]
        guard let located = candidates.first(where: { (try? io.kind(of: $0)) == .file }) else {
            throw StoreError(.invalidArgument, "no such segment file", path: file)
        }
        let parts = located.split(separator: "/", omittingEmptySubsequences: true)
        guard let name = parts.last.map(String.init), let (id, version) = SegmentName.parse(name) else {
            throw StoreError(.invalidArgument, "not a segment file name (<16 hex digits>-<8 hex digits>.seg)", path: file)
        }
        run.checkManifests()
        run.resolveStoreID()
        guard let storeID = run.storeID else {
            throw StoreError(.corrupted, "no valid manifest gives the store id that seeds the segment's checksums", path: run.layout.root)
        }
        let segmentFile = SegmentFile(dimension: parts.count >= 2 ? String(parts[parts.count - 2]) : "", name: name, id: id, version: version)
        let listed = run.listing(of: segmentFile)
        let check = try SegmentFileCheck.check(io: io, path: located, storeID: storeID, id: id, version: version, collectBlocks: true) { _ in }
        let (result, notes) = run.judge(check, file: segmentFile, listed: listed)
        let prefix = (try? io.readPrefix(located, count: SegmentFormat.headerByteCount)) ?? []
        return SegmentInspection(file: file, check: check, prefix: prefix, storeID: storeID, id: id, version: version,
                                 dimension: segmentFile.dimension,
                                 listedIn: listed != nil ? run.report.newestManifest : nil, result: result, notes: notes)
    }
}

/// One segment file, field by field, as found, with the checks that held or failed:
/// ``Inspector/inspectSegment(store:file:)``. Checksums and ids are shown as `0x` hex strings.
package struct SegmentInspection: Sendable, Encodable {
    /// The header's fields as found (Formats/segment.md § Header), checked or not.
    package struct Header: Sendable, Encodable {
        package var magic: String, formatVersion: UInt32, headerLength: UInt32, storeID: String, segmentID: UInt64, version: UInt32
        package var codec: UInt8, dimension: String, minLSN: LSN, maxLSN: LSN, recordCount: UInt64, keyCount: UInt64
        package var newestRecordTime: UInt64, fileLength: UInt64, blockCount: UInt32, blockByteCountTarget: UInt32, hashSlotCount: UInt32
        package var blockTableOffset: UInt64, hashOffset: UInt64, footerOffset: UInt64, checksum: String
        /// `ok`, or what failed.
        package var status: String
    }

    /// The footer's fields as found (§ Footer).
    package struct Footer: Sendable, Encodable {
        package var offset: Int, magic: String, blockTableOffset: UInt64, indexLength: UInt64, indexChecksum: String
        package var hashOffset: UInt64, hashChecksum: String, reserved: UInt64, checksum: String
        /// `ok`, or what failed.
        package var status: String
    }

    /// One block-table entry (§ Block table and key heap) and its block's check.
    package struct Block: Sendable, Encodable {
        package var index: Int, offset: UInt64, storedLength: UInt32, rawLength: UInt32, checksum: String
        /// `ok`, `checksum mismatch`, or `invalid entry` (the block could not be located).
        package var status: String
        /// The first key as text when every byte is printable ASCII, else `null`.
        package var firstKey: String?
        /// The first key in hex (`null` when it lies outside the key heap).
        package var firstKeyHex: String?

        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(offset, forKey: .offset)
            try c.encode(storedLength, forKey: .storedLength)
            try c.encode(rawLength, forKey: .rawLength)
            try c.encode(checksum, forKey: .checksum)
            try c.encode(status, forKey: .status)
            try c.encode(firstKey, forKey: .firstKey)
            try c.encode(firstKeyHex, forKey: .firstKeyHex)
        }

        private enum CodingKeys: String, CodingKey { case index, offset, storedLength, rawLength, checksum, status, firstKey, firstKeyHex }
    }

    /// The hash index (§ Hash index): its size and how full it is.
    package struct HashIndex: Sendable, Encodable {
        package var offset: UInt64, slotCount: UInt32
        /// Used slots and `usedSlotCount / slotCount`, known once the checksum holds.
        package var usedSlotCount: Int?, fill: Double?
        /// `ok`, `checksum mismatch`, or `not checked`.
        package var status: String
    }

    /// What verify says about the file.
    package struct Checks: Sendable, Encodable {
        package var status: VerificationReport.Status
        package var problems: [VerificationReport.Problem]
        package var notes: [VerificationReport.Note]
    }

    package var path: String
    package var byteCount: Int
    package var storeID: UInt64
    package var segmentID: UInt64
    package var version: UInt32
    /// The directory the file is in.
    package var dimension: String
    /// The newest valid manifest, if it lists this file.
    package var listedIn: String?
    package var header: Header?
    package var footer: Footer?
    package var blocks: [Block]
    package var hashIndex: HashIndex?
    package var checks: Checks

    init(file: String, check: SegmentFileCheck, prefix: [UInt8], storeID: UInt64, id: UInt64, version: UInt32, dimension: String,
         listedIn: String?, result: VerificationReport.FileResult, notes: [(offset: UInt64?, message: String)]) {
        (self.path, self.byteCount, self.storeID, self.segmentID, self.version) = (file, check.byteCount, storeID, id, version)
        (self.dimension, self.listedIn) = (dimension, listedIn)
        checks = Checks(status: result.status, problems: result.problems,
                        notes: notes.map { VerificationReport.Note(path: file, offset: $0.offset, message: $0.message) })
        if let h = check.headerAsFound, prefix.count >= SegmentFormat.headerByteCount {
            let raw = prefix.withUnsafeBytes { raw in
                (ByteReader.u64(raw, at: 0)!, ByteReader.u32(raw, at: 8)!, ByteReader.u32(raw, at: 12)!, ByteReader.u64(raw, at: SegmentFormat.headerChecksumOffset)!)
            }
            header = Header(
                magic: hexID(raw.0), formatVersion: raw.1, headerLength: raw.2, storeID: hexID(h.storeID), segmentID: h.segmentID,
                version: h.version, codec: h.codec, dimension: h.dimension, minLSN: h.minLSN, maxLSN: h.maxLSN, recordCount: h.recordCount,
                keyCount: h.keyCount, newestRecordTime: h.newestRecordTime, fileLength: h.fileLength, blockCount: h.blockCount,
                blockByteCountTarget: h.blockByteCountTarget, hashSlotCount: h.hashSlotCount, blockTableOffset: h.blockTableOffset,
                hashOffset: h.hashOffset, footerOffset: h.footerOffset, checksum: hexID(raw.3),
                status: check.header != nil ? "ok" : check.headerProblem ?? "not checked")
        }
        if let f = check.footer {
            footer = Footer(offset: check.byteCount - SegmentFormat.footerByteCount, magic: hexID(f.magic), blockTableOffset: f.blockTableOffset,
                            indexLength: f.indexLength, indexChecksum: hexID(f.indexChecksum), hashOffset: f.hashOffset,
                            hashChecksum: hexID(f.hashChecksum), reserved: f.reserved, checksum: hexID(f.checksum),
                            status: check.footerHolds ? "ok" : check.footerProblem ?? "not checked")
        }
        blocks = check.blocks.map { b in
            let text = b.firstKey.flatMap { key in key.allSatisfy { (0x20...0x7E).contains($0) } ? String(decoding: key, as: UTF8.self) : nil }
            return Block(index: b.index, offset: b.offset, storedLength: b.storedLength, rawLength: b.rawLength, checksum: hexID(b.checksum),
                         status: b.checksumHolds.map { $0 ? "ok" : "checksum mismatch" } ?? "invalid entry",
                         firstKey: text, firstKeyHex: b.firstKey.map { $0.map { String($0 >> 4, radix: 16) + String($0 & 0xF, radix: 16) }.joined() })
        }
        if let h = check.header ?? check.headerAsFound {
            let used = check.usedHashSlotCount
            hashIndex = HashIndex(offset: check.header?.hashOffset ?? (check.footerHolds ? check.footer!.hashOffset : h.hashOffset),
                                  slotCount: h.hashSlotCount, usedSlotCount: used,
                                  fill: used.map { h.hashSlotCount > 0 ? Double($0) / Double(h.hashSlotCount) : 0 },
                                  status: check.hashHolds.map { $0 ? "ok" : "checksum mismatch" } ?? "not checked")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case path, byteCount = "bytes", storeID, segmentID, version, dimension, listedIn, header, footer, blocks, hashIndex, checks
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(byteCount, forKey: .byteCount)
        try c.encode(hexID(storeID), forKey: .storeID)
        try c.encode(segmentID, forKey: .segmentID)
        try c.encode(version, forKey: .version)
        try c.encode(dimension, forKey: .dimension)
        try c.encode(listedIn, forKey: .listedIn)
        try c.encode(header, forKey: .header)
        try c.encode(footer, forKey: .footer)
        try c.encode(blocks, forKey: .blocks)
        try c.encode(hashIndex, forKey: .hashIndex)
        try c.encode(checks, forKey: .checks)
    }
}
