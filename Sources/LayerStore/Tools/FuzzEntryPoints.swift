//! Entry points for the libFuzzer targets in tools/fuzz: each one drives the store's real
//! readers over an arbitrary byte buffer and touches everything they hand back.
//!
//! Invariants:
//! - No input may trap, read outside its buffer or mapping, or hang: a trap here is a bug in a
//!   reader, never in the input. Readers answer bad bytes with a typed error, which is caught.
//! - Each input is read twice: as given (the checksums must hold as they are, so random bytes
//!   stop at the first one), and again with every checksum recomputed the way the writer
//!   computes it (Formats/README.md § Checksums). The second pass is what reaches the bounds
//!   checks behind the checksums: offsets, lengths and counts that only a crafted file has.
//! - A file's identity (store id, file number, segment id and version, generation), which
//!   normally comes from outside the checked bytes, is taken from the input's own header
//!   fields, so a golden vector is valid as it is.
//! - Segments are read through a mapping, and a store through its directory, so their bytes
//!   go to scratch files in a per-process temporary directory, overwritten by each input.

/// Drives the WAL, segment and manifest readers on a byte buffer (tools/fuzz).
@_spi(Fuzzing) public enum FuzzEntryPoints {
    /// Reads `bytes` as a WAL file: the header, every record and its batch payload, the
    /// classification of its end, and the salvage scan past damage.
    /// - Returns: how many records and operations were read (so nothing is optimized away).
    public static func parseWAL(_ bytes: [UInt8]) -> Int {
        readWAL(bytes) + readWAL(FuzzChecksums.fixingWAL(bytes))
    }

    /// Reads `bytes` as a segment file through the store's reader: open (header, footer), every
    /// block entry, first key and block, a scan of every record, a point lookup and a seek for
    /// each key found, and the verifier's full check of the file.
    /// - Returns: how many records and keys were read.
    public static func parseSegment(_ bytes: [UInt8]) -> Int {
        readSegment(bytes) + readSegment(FuzzChecksums.fixingSegment(bytes))
    }

    /// Decodes `bytes` as a manifest file. A manifest that decodes must encode back to exactly
    /// the same bytes: a reader that accepts bytes the writer would never produce is a bug.
    /// - Returns: how many segment entries were decoded.
    public static func parseManifest(_ bytes: [UInt8]) -> Int {
        readManifest(bytes) + readManifest(FuzzChecksums.fixingManifest(bytes))
    }

    /// Lays `bytes` out as a store directory and reads it every way a user can without
    /// writing: a read-only open, a scan of every dimension, point reads of the keys found,
    /// `verify` and `recover --dry-run`.
    ///
    /// The input is a sequence of files, each `kind:u8 length:u32 bytes` (kind 0: a manifest,
    /// named by its generation field; 1: a segment, placed by its header's dimension, id and
    /// version; 2: a WAL file, named by its file number field), with every checksum recomputed
    /// (`tools/fuzz.sh` builds the seed from the golden vectors).
    /// - Returns: how many records were read.
    public static func openStore(_ bytes: [UInt8]) -> Int {
        guard let root = FuzzScratch.store(FuzzStoreLayout.files(bytes)) else { return 0 }
        var touched = 0
        var options = StoreOptions()
        options.readOnly = true
        if let store = try? Store(path: root, options: options), let snapshot = try? store.snapshot() {
            for dimension in snapshot.dimensionNames {
                var keys: [[UInt8]] = []
                try? snapshot.scan(dimension) { key, value in
                    keys.append(key.withUnsafeBytes { Array($0) })
                    touched &+= value.byteCount
                    return keys.count < 1000
                }
                for key in keys { touched &+= (try? snapshot.value(forKey: key, in: dimension))?.count ?? 0 }
                if let first = keys.first { try? snapshot.scan(dimension, prefix: first) { _, _ in true } }
            }
            try? store.close()
        }
        if let report = try? Verifier.verify(store: root) { touched &+= report.files.count }
        if let report = try? Recoverer.run(path: root, dryRun: true, salvage: false) { touched &+= report.consistent ? 1 : 0 }
        return touched
    }

    // MARK: Readers

    private static func readWAL(_ bytes: [UInt8]) -> Int {
        guard bytes.count >= WALFormat.headerByteCount else { return 0 }
        let storeID = FuzzChecksums.u64(bytes, at: 16) ?? 0
        let number = FuzzChecksums.u64(bytes, at: 24) ?? 0
        return bytes.withUnsafeBytes { raw -> Int in
            guard let header = try? WALReader.header(raw, number: number, storeID: storeID, path: "fuzz.wal") else { return 0 }
            var touched = 0
            let end = WALReader.records(raw, header: header) { record in
                touched += 1 + touchPayload(record)
            }
            switch end {
            case .clean(let offset), .torn(let offset, _, _), .damaged(let offset, _):
                touched += WALReader.validRecords(raw, header: header, from: offset, minimumLSN: 0).count
            }
            return touched
        }
    }

    private static func touchPayload(_ record: WALRecord) -> Int {
        var sum = 0
        _ = decodeBatchPayload(record.payload, count: record.operationCount) { _, op in
            sum &+= op.dimension.count &+ op.key.count &+ op.value.count
            if let last = op.value.last { sum &+= Int(last) }
        }
        return sum & 0xFF
    }

    private static func readSegment(_ bytes: [UInt8]) -> Int {
        guard bytes.count >= SegmentFormat.headerByteCount + SegmentFormat.footerByteCount,
            let path = FuzzScratch.write(bytes)
        else { return 0 }
        let storeID = FuzzChecksums.u64(bytes, at: 16) ?? 0
        let id = FuzzChecksums.u64(bytes, at: 24) ?? 0
        let version = FuzzChecksums.u32(bytes, at: 32) ?? 0
        let io = SystemFileIO()
        var touched = 0
        if let check = try? SegmentFileCheck.check(io: io, path: path, storeID: storeID, id: id, version: version,
                                                   collectBlocks: true, progress: { _ in }) {
            touched += check.problems.count + check.blocks.count
        }
        guard let segment = try? Segment(io: io, path: path, storeID: storeID, id: id, version: version, listed: nil,
                                         manager: MmapManager(), verification: .firstRead,
                                         cache: BlockCache(byteCountMax: 1 << 20))
        else { return touched }
        // A crafted header may claim a million blocks: a few thousand reach every path.
        for i in 0..<min(Int(segment.header.blockCount), 4096) {
            _ = try? segment.blockEntry(i)
            if let key = try? segment.firstKey(i) { touched &+= key.count }
            if let view = try? segment.block(i) { withExtendedLifetime(view.owner) { touched &+= view.bytes.count } }
        }
        var keys: [[UInt8]] = []
        if var cursor = try? SegmentCursor(segment: segment, from: UnsafeRawBufferPointer(start: nil, count: 0)) {
            // A crafted block table can describe far more records than a fuzz input should take
            // time over: the first thousand are enough to reach every code path.
            while keys.count < 1000, let record = try? cursor.next() {
                keys.append(record.key.array)
                touched &+= record.value.count
            }
        }
        for key in keys + [[0x00], [0xFF, 0xFF]] {
            key.withUnsafeBytes { k in
                for lsn in [segment.header.maxLSN, segment.header.minLSN] {
                    if let found = try? segment.find(k, snapshotLSN: lsn) {
                        withExtendedLifetime(found.owner) { touched &+= found.record.value.count }
                    }
                }
                if let position = try? segment.seek(k) { touched &+= position.block }
            }
        }
        return touched
    }

    private static func readManifest(_ bytes: [UInt8]) -> Int {
        let generation = FuzzChecksums.u64(bytes, at: 24) ?? 0
        guard let manifest = try? ManifestCodec.decode(bytes, generation: generation, path: "fuzz-manifest") else { return 0 }
        precondition(ManifestCodec.encode(manifest) == bytes, "a manifest decoded from bytes the encoder does not produce")
        return manifest.dimensions.reduce(1) { $0 + $1.segments.count }
    }
}

/// Recomputes the checksums of a WAL, segment or manifest file in place, as the writers compute
/// them, following whatever offsets and lengths the bytes hold (bounds-checked, never trusted).
enum FuzzChecksums {
    static func u64(_ bytes: [UInt8], at offset: Int) -> UInt64? {
        bytes.withUnsafeBytes { ByteReader.u64($0, at: offset) }
    }

    static func u32(_ bytes: [UInt8], at offset: Int) -> UInt32? {
        bytes.withUnsafeBytes { ByteReader.u32($0, at: offset) }
    }

    static func store(_ value: UInt64, into bytes: inout [UInt8], at offset: Int) {
        guard offset >= 0, offset <= bytes.count - 8 else { return }
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    /// XXH3-64 of `bytes[range]`, or `nil` if the range is not inside `bytes`.
    static func hash(_ bytes: [UInt8], _ range: Range<UInt64>, seed: UInt64) -> UInt64? {
        guard range.upperBound <= UInt64(bytes.count) else { return nil }
        return bytes.withUnsafeBytes { Checksum.xxh3(UnsafeRawBufferPointer(rebasing: $0[Int(range.lowerBound)..<Int(range.upperBound)]), seed: seed) }
    }

    /// The header checksum, then each record's checksum along the chain of payload lengths.
    static func fixingWAL(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        guard let storeID = u64(bytes, at: 16), let number = u64(bytes, at: 24), let salt = u64(bytes, at: 40),
            let sum = hash(bytes, 0..<UInt64(WALFormat.headerChecksumOffset), seed: WALFormat.headerSeed(storeID: storeID, fileNumber: number))
        else { return bytes }
        store(sum, into: &bytes, at: WALFormat.headerChecksumOffset)
        let seed = WALFormat.recordSeed(storeID: storeID, fileNumber: number, salt: salt)
        var at = UInt64(WALFormat.headerByteCount)
        // The chain ends at a zero record header (the preallocated tail), as the reader's does.
        while let length = u32(bytes, at: Int(at) + 8), u64(bytes, at: Int(at)) != 0 || length != 0 {
            let end = at + UInt64(WALFormat.recordHeaderByteCount) + UInt64(length)
            guard let sum = hash(bytes, (at + 8)..<end, seed: seed ^ at) else { break }
            store(sum, into: &bytes, at: Int(at))
            at = (end + 7) & ~7
        }
        return bytes
    }

    /// Every block checksum the block table names, then the index, hash and footer checksums,
    /// then the header's: each covers the ones before it.
    static func fixingSegment(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        guard bytes.count >= SegmentFormat.headerByteCount, let storeID = u64(bytes, at: 16), let id = u64(bytes, at: 24),
            let version = u32(bytes, at: 32), let blockCount = u32(bytes, at: 88),
            let table = u64(bytes, at: 104), let hashAt = u64(bytes, at: 112), let footer = u64(bytes, at: 120)
        else { return bytes }
        let seed = SegmentFormat.fileSeed(storeID: storeID, segmentID: id, version: version)
        for i in 0..<UInt64(min(blockCount, 4096)) {
            let entry = table &+ 32 &* i
            guard entry < UInt64(bytes.count), let offset = u64(bytes, at: Int(entry)), let stored = u32(bytes, at: Int(entry) + 8),
                offset < UInt64(bytes.count),
                let sum = hash(bytes, offset..<(offset + UInt64(stored)), seed: Checksum.seed(file: seed, offset: offset))
            else { break }
            store(sum, into: &bytes, at: Int(entry) + 16)
        }
        if footer <= UInt64(bytes.count) {
            if table <= hashAt, let sum = hash(bytes, table..<hashAt, seed: Checksum.seed(file: seed, offset: table)) {
                store(sum, into: &bytes, at: Int(footer) + 24)
            }
            if hashAt <= footer, let sum = hash(bytes, hashAt..<footer, seed: Checksum.seed(file: seed, offset: hashAt)) {
                store(sum, into: &bytes, at: Int(footer) + 40)
            }
            if footer <= UInt64.max - 56, let sum = hash(bytes, footer..<(footer + 56), seed: Checksum.seed(file: seed, offset: footer)) {
                store(sum, into: &bytes, at: Int(footer) + 56)
            }
        }
        if let sum = hash(bytes, 0..<UInt64(SegmentFormat.headerChecksumOffset), seed: seed) {
            store(sum, into: &bytes, at: SegmentFormat.headerChecksumOffset)
        }
        return bytes
    }

    /// The trailing checksum, seeded with the generation the header claims.
    static func fixingManifest(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        guard bytes.count >= 16, let generation = u64(bytes, at: 24),
            let sum = hash(bytes, 0..<UInt64(bytes.count - 8), seed: ManifestFormat.seed(generation: generation))
        else { return bytes }
        store(sum, into: &bytes, at: bytes.count - 8)
        return bytes
    }
}

/// The input of ``FuzzEntryPoints/openStore(_:)``: files, each `kind:u8 length:u32 bytes`.
enum FuzzStoreLayout {
    /// The files the input describes, as (path relative to the store, bytes), checksums
    /// recomputed. A file whose name cannot be derived from its bytes is dropped.
    static func files(_ input: [UInt8]) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        var at = 0
        while at + 5 <= input.count, out.count < 16 {
            let kind = input[at]
            let length = Int(FuzzChecksums.u32(input, at: at + 1) ?? 0)
            let body = Array(input[(at + 5)..<min(input.count, at + 5 + length)])
            at += 5 + body.count
            switch kind % 3 {
            case 0:
                guard let generation = FuzzChecksums.u64(body, at: 24) else { continue }
                out.append((ManifestFormat.fileName(generation), FuzzChecksums.fixingManifest(body)))
            case 1:
                guard let id = FuzzChecksums.u64(body, at: 24), let version = FuzzChecksums.u32(body, at: 32),
                    body.count >= SegmentFormat.headerByteCount
                else { continue }
                let nameLength = min(Int(body[37]), SegmentFormat.dimensionNameFieldByteCount)
                let name = body[SegmentFormat.dimensionNameOffset..<(SegmentFormat.dimensionNameOffset + nameLength)]
                // Only a name the store would accept becomes a directory.
                guard name.withUnsafeBytes({ isValidDimensionName($0) }) else { continue }
                out.append(("dims/" + String(decoding: name, as: UTF8.self) + "/" + SegmentName.fileName(id: id, version: version),
                            FuzzChecksums.fixingSegment(body)))
            default:
                guard let number = FuzzChecksums.u64(body, at: 24) else { continue }
                out.append(("wal/" + WALFormat.fileName(number), FuzzChecksums.fixingWAL(body)))
            }
        }
        return out
    }
}

/// The scratch file segments are written to for mapping: one per process, in a directory of
/// its own under /dev/shm (memory: millions of inputs never reach a disk) or else /tmp,
/// replaced by each input.
enum FuzzScratch {
    private static let directory: String? = {
        let io = SystemFileIO()
        let base = (try? io.kind(of: "/dev/shm")) == .directory ? "/dev/shm" : "/tmp"
        let path = base + "/layerstore-fuzz-" + hex16(UInt64.random(in: 1...UInt64.max))
        return (try? io.makeDirectory(path, permissions: 0o700)) == nil ? nil : path
    }()

    /// Empties the scratch store directory (its files: directories stay), writes `files`
    /// into it, and returns its path, or `nil` if it cannot.
    static func store(_ files: [(String, [UInt8])]) -> String? {
        guard let directory else { return nil }
        let io = SystemFileIO()
        let root = directory + "/store"
        for sub in ["", "/wal", "/dims"] where (try? io.kind(of: root + sub)) != .directory {
            guard (try? io.makeDirectory(root + sub, permissions: 0o700)) != nil else { return nil }
        }
        var emptied = [root, root + "/wal"]
        for name in (try? io.list(root + "/dims")) ?? [] { emptied.append(root + "/dims/" + name) }
        for dir in emptied {
            for name in (try? io.list(dir)) ?? [] where (try? io.kind(of: dir + "/" + name)) == .file {
                try? io.remove(dir + "/" + name)
            }
        }
        for (name, bytes) in files {
            let path = root + "/" + name
            let parent = String(path[..<path.lastIndex(of: "/")!])
            if (try? io.kind(of: parent)) == .missing { try? io.makeDirectory(parent, permissions: 0o700) }
            try? io.remove(path)
            try? io.writeNewFile(path, bytes, permissions: 0o600)
        }
        return root
    }

    /// Writes `bytes` to the scratch file and returns its path, or `nil` if it cannot.
    static func write(_ bytes: [UInt8]) -> String? {
        guard let directory else { return nil }
        let path = directory + "/0000000000000001-00000001.seg"
        let io = SystemFileIO()
        try? io.remove(path)
        return (try? io.writeNewFile(path, bytes, permissions: 0o600)) == nil ? nil : path
    }
}
