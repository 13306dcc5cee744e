//! An open, mapped, immutable segment: point lookups through its hash index, block access with
//! checksum verification (Formats/segment.md § Reading and damage).
//!
//! Invariants:
//! - Opening reads and checks only the header and the footer: O(1) in the file's size. A store
//!   open defers the footer to the first use of the block table or hash index (they are what
//!   its checksums cover), read then from the mapping: an open that reads one value from a
//!   store of many segments reads one footer, not all of them.
//! - The block table and hash index are checked (whole-section checksum) the first time they are
//!   used; a block the first time it is read (or every time, by option). Until a check holds,
//!   no byte it covers is trusted; every offset taken from the file is bounds-checked against
//!   the mapping before use.
//! - Nothing here writes: the mapping is `PROT_READ`.

import Synchronization

/// How often block checksums are verified on the read path.
public enum BlockVerification: Sendable, Equatable {
    /// The first time any reader touches a block (default); later reads trust the check.
    case firstRead
    /// On every read of a block: catches damage that appears while the store is open.
    case everyRead
}

/// A record decoded from a block; its buffers point into the segment's mapping (or the
/// decoded block), its key's prefix into the key heap.
struct SegmentRecord {
    var key: SegmentKey
    var value: UnsafeRawBufferPointer
    var lsn: LSN
    var isDelete: Bool
}

/// What a point read needs of the version it found: four words, returned in registers (a
/// whole record and its block, 160 bytes, went through `memcpy` twice a read).
struct SegmentHit {
    var value: UnsafeRawBufferPointer
    /// Keeps `value` alive: a decoded block of the block cache, or `nil` (the segment's mapping).
    var owner: AnyObject?
    var isDelete: Bool
}

extension SegmentHit {
    /// The hit `find` describes with its record.
    init(_ found: (record: SegmentRecord, owner: AnyObject?)) {
        self.init(value: found.record.value, owner: found.owner, isDelete: found.record.isDelete)
    }
}

/// A position inside a segment's blocks.
struct SegmentPosition: Equatable {
    var block: Int
    var offset: Int
    /// The LSN of the record before `offset` in its block, the segment's `minLSN` at a block's
    /// start: a version 2 record's LSN is coded against it.
    var previousLSN: LSN
}

/// The bytes of one block, and the object that keeps them alive: the decoded block for an LZ4
/// one; `nil` for a plain block, whose bytes are the segment's mapping and live as long as the
/// segment (which every caller holds). Not retaining the segment keeps point reads from
/// writing its reference count, a cache line every reading thread would otherwise share.
struct BlockView {
    let bytes: UnsafeRawBufferPointer
    let owner: AnyObject?
    /// What the block states for all its records (version 3; nothing before).
    let head: BlockHead
}

/// The numeric fields of a ``SegmentHeader``: a trivial value, free to copy.
struct SegmentLayout {
    let codec: UInt8
    let minLSN: LSN
    let maxLSN: LSN
    let recordCount: UInt64
    let fileLength: UInt64
    let blockCount: UInt32
    let hashSlotCount: UInt32
    let blockTableOffset: UInt64
    let hashOffset: UInt64
    let footerOffset: UInt64
    /// Version 3: compact blocks.
    let isCompact: Bool
    /// How the hash index's slots are laid out.
    let slotLayout: HashSlotLayout

    init(_ header: SegmentHeader) {
        codec = header.codec
        minLSN = header.minLSN
        maxLSN = header.maxLSN
        recordCount = header.recordCount
        fileLength = header.fileLength
        blockCount = header.blockCount
        hashSlotCount = header.hashSlotCount
        blockTableOffset = header.blockTableOffset
        hashOffset = header.hashOffset
        footerOffset = header.footerOffset
        isCompact = header.isCompact
        slotLayout = header.slotLayout
    }

    /// Format version 2 (no hash index): records code their LSN against the record before
    /// them in their block (Formats/segment.md § Blocks and records).
    var chainsLSNs: Bool { hashSlotCount == 0 }
}

/// A published segment mapped read-only.
final class Segment: Sendable {
    let header: SegmentHeader
    /// The header's numbers again, in a plain struct: reading a field of `header` copies it,
    /// and its `dimension` string with it (a retain on every read).
    let layout: SegmentLayout
    /// The file, mapped on first use (an open maps nothing it does not read).
    let region: DeferredRegion
    let path: String
    let verification: BlockVerification
    /// Unique among every segment this process opens: the block cache's key (an address could
    /// be reused by a later segment).
    let serial: UInt64
    private static let serials = Atomic<UInt64>(0)
    /// Where decoded LZ4 blocks are kept; `nil`: decode on every read.
    private let cache: BlockCache?
    private let seed: UInt64
    private let blocksVerified: AtomicBitmap
    /// The last record's key once ``lastKey()`` has found it: a scan over several segments asks
    /// for it every time.
    /// Empty until found (keys are never empty). Not an optional: the first `[UInt8]?` a process
    /// makes costs it a runtime metadata instantiation, and every open makes segments.
    private let lastKeyFound = Mutex<[UInt8]>([])
    /// 0: not checked yet, 1: checksum holds. A failed check is not cached: it throws each time.
    private let indexChecked = Atomic<UInt8>(0)
    private let hashChecked = Atomic<UInt8>(0)
    /// Lookups served through the block table while the hash index was still unchecked.
    private let searchesBeforeHashCheck = Atomic<Int>(0)
    /// How many such lookups come before the hash index is checked (see ``probesHashIndex()``).
    private let searchesBeforeHashCheckMax: Int
    private let indexLength: Int
    /// The blocks' spans, packed, built once the block table's checksum holds (plain segments)
    /// and ``spanBuildReadCount`` blocks were read through the block table, and in version 3
    /// the heads of the blocks read since.
    let spans: BlockSpanTable
    /// Block reads through the block table while the span table is not built.
    private let readsBeforeSpans = Atomic<Int>(0)
    /// The footer's section checksums, valid once `footerChecked` is 1 (set at open, or at the
    /// first use of a section when the open deferred the footer).
    private let footerChecked = Atomic<UInt8>(0)
    private let indexChecksum = Atomic<UInt64>(0)
    private let hashChecksum = Atomic<UInt64>(0)

    /// Opens, maps and checks the header and footer of segment (`id`, `version`) at `path`.
    /// - Parameter deferFooter: check the footer at the first use of a section instead (a store
    ///   open: see the type's invariants).
    /// - Parameter listed: the manifest's entry for this file and its dimension, if any: the
    ///   header must agree with it (a segment under the wrong name or in the wrong place fails).
    convenience init(io: any FileIO, path: String, storeID: UInt64, id: UInt64, version: UInt32,
                     listed: (descriptor: SegmentDescriptor, dimension: String)?,
                     manager: MmapManager, verification: BlockVerification, cache: BlockCache? = nil,
                     mapNow: Bool = true, deferFooter: Bool = false) throws(StoreError) {
        let fd = try io.open(path, [], permissions: 0)
        do throws(StoreError) {
            try self.init(io: io, fd: fd, path: path, storeID: storeID, id: id, version: version, listed: listed,
                          manager: manager, verification: verification, cache: cache, mapNow: mapNow, deferFooter: deferFooter)
        } catch {
            io.close(fd)
            throw error
        }
    }

    /// Checks and maps the segment file open as `fd` (see the other initializer). Takes
    /// ownership of `fd` only when it succeeds: on a throw the caller still owns it.
    init(io: any FileIO, fd: Int32, path: String, storeID: UInt64, id: UInt64, version: UInt32,
         listed: (descriptor: SegmentDescriptor, dimension: String)?,
         manager: MmapManager, verification: BlockVerification, cache: BlockCache? = nil,
         mapNow: Bool = true, deferFooter: Bool = false) throws(StoreError) {
        let length = try io.size(fd, path: path)
        if let listed, UInt64(length) != listed.descriptor.fileLength {
            throw .corrupted("segment is \(length) bytes, the manifest says \(listed.descriptor.fileLength)", path: path, offset: UInt64(length))
        }
        guard length >= Int64(SegmentFormat.headerByteCount + SegmentFormat.footerByteCount) else {
            throw .corrupted("segment of \(length) bytes is too short", path: path, offset: 0)
        }
        // The header and the footer are read with pread, not through the mapping: touching a
        // mapped page costs a fault that maps the pages around it too, twice per segment, and
        // a large store opens dozens of segments to read one value.
        var headerBytes = [UInt8](repeating: 0, count: SegmentFormat.headerByteCount)
        try headerBytes.withMutableBytes { (raw) throws(StoreError) in try io.readExactly(fd, path: path, into: raw, at: 0) }
        let header = try headerBytes.withBytes { (raw) throws(StoreError) in
            try SegmentHeader.decode(raw, storeID: storeID, segmentID: id, version: version, path: path)
        }
        guard header.fileLength == UInt64(length) else {
            throw .corrupted("segment header says \(header.fileLength) bytes, file has \(length)", path: path, offset: 0)
        }
        if let (d, dimension) = listed {
            guard header.dimension == dimension, header.minLSN == d.minLSN, header.maxLSN == d.maxLSN,
                header.recordCount == d.recordCount, header.codec == d.codec
            else { throw .corrupted("segment header disagrees with its manifest entry", path: path, offset: 0) }
        }
        let seed = SegmentFormat.fileSeed(storeID: storeID, segmentID: id, version: version)
        let layout = SegmentLayout(header)
        var checked: (index: UInt64, hash: UInt64)?
        if !deferFooter {
            // Inside the file: the header's layout check puts the footer before its end.
            var footerBytes = [UInt8](repeating: 0, count: SegmentFormat.footerByteCount)
            try footerBytes.withMutableBytes { (raw) throws(StoreError) in
                try io.readExactly(fd, path: path, into: raw, at: Int64(header.footerOffset))
            }
            checked = try footerBytes.withBytes { (footer) throws(StoreError) in
                try Segment.checkFooter(footer, layout: layout, seed: seed, path: path)
            }
        }
        let region = DeferredRegion(io: io, fd: fd, path: path, count: Int(length), manager: manager)
        if mapNow {
            do throws(StoreError) {
                try region.mapNow()
            } catch {
                region.release()  // the caller still owns `fd`
                throw error
            }
        }
        self.header = header
        self.layout = layout
        self.region = region
        self.path = path
        self.verification = verification
        self.seed = seed
        self.blocksVerified = AtomicBitmap(count: Int(header.blockCount))
        self.serial = Segment.serials.wrappingAdd(1, ordering: .relaxed).newValue
        self.cache = cache
        self.indexLength = Int(header.hashOffset - header.blockTableOffset)  // ordered by checkLayout
        let hashLength = Int(header.footerOffset - header.hashOffset)
        // A search checks the block table first, which a probe that finds its key needs too.
        self.searchesBeforeHashCheckMax = hashLength <= 2 * indexLength ? 0 : hashLength / Segment.hashBytesPerSearch
        self.spans = BlockSpanTable(count: header.codec == SegmentFormat.codecNone ? Int(header.blockCount) : 0)
        if let checked {
            indexChecksum.store(checked.index, ordering: .relaxed)
            hashChecksum.store(checked.hash, ordering: .relaxed)
            footerChecked.store(1, ordering: .releasing)
        }
    }

    /// Checks a footer against the header's layout (segment.md § Reading and damage, check 6)
    /// and returns the section checksums it holds.
    private static func checkFooter(_ footer: UnsafeRawBufferPointer, layout: SegmentLayout, seed: UInt64,
                                    path: String) throws(StoreError) -> (index: UInt64, hash: UInt64) {
        let footerSum = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: footer[0..<SegmentFormat.footerChecksumOffset]),
                                      seed: Checksum.seed(file: seed, offset: layout.footerOffset))
        var r = ByteReader(footer)
        guard r.u64() == SegmentFormat.footerMagic, ByteReader.u64(footer, at: SegmentFormat.footerChecksumOffset) == footerSum
        else { throw .corrupted("segment footer is damaged", path: path, offset: layout.footerOffset) }
        let (tableOffset, indexLength, indexChecksum, hashOffset, hashChecksum, reserved) = (r.u64()!, r.u64()!, r.u64()!, r.u64()!, r.u64()!, r.u64()!)
        guard tableOffset == layout.blockTableOffset, hashOffset == layout.hashOffset, reserved == 0,
            indexLength == hashOffset - tableOffset  // no overflow: checkLayout ordered them
        else { throw .corrupted("segment footer disagrees with its header", path: path, offset: layout.footerOffset) }
        return (indexChecksum, hashChecksum)
    }

    /// The footer's section checksums; on the first call of a segment whose open deferred the
    /// footer, reads and checks it through the mapping. A failed check is not cached.
    func footerChecksums() throws(StoreError) -> (index: UInt64, hash: UInt64) {
        if footerChecked.load(ordering: .acquiring) == 0 {
            let start = Int(layout.footerOffset)
            let footer = try region.bytes(start..<(start + SegmentFormat.footerByteCount))!  // inside: checked at open
            let checked = try Segment.checkFooter(footer, layout: layout, seed: seed, path: path)
            indexChecksum.store(checked.index, ordering: .relaxed)
            hashChecksum.store(checked.hash, ordering: .relaxed)
            footerChecked.store(1, ordering: .releasing)
        }
        return (indexChecksum.load(ordering: .relaxed), hashChecksum.load(ordering: .relaxed))
    }

    // MARK: Sections

    /// The block table and key heap, checked on first use.
    func index() throws(StoreError) -> UnsafeRawBufferPointer {
        let start = Int(layout.blockTableOffset)
        let bytes = try region.bytes(start..<(start + indexLength))!  // inside: checked at open
        if indexChecked.load(ordering: .acquiring) == 0 {
            guard Checksum.xxh3(bytes, seed: Checksum.seed(file: seed, offset: layout.blockTableOffset)) == (try footerChecksums()).index else {
                throw damage("segment block table checksum mismatch", at: layout.blockTableOffset)
            }
            indexChecked.store(1, ordering: .releasing)
        }
        return bytes
    }

    /// How many blocks are read through the block table before the span table is built: the
    /// table costs a pass over the block table and a 64-byte line a block (calloc'd and
    /// touched: for the small profile's segment of 1,215 blocks, 19 pages to fault in), which a
    /// read through its span saves again only in part (a rent-or-buy rule, like the hash
    /// index's check). A cold open reads one value: it builds no table.
    var spanBuildReadCount: Int { max(16, spans.count / 16) }

    /// Counts a block read through the block table and builds the span table at the
    /// ``spanBuildReadCount``th.
    @inline(never)
    private func countReadBeforeSpans(_ table: UnsafeRawBufferPointer) {
        guard readsBeforeSpans.wrappingAdd(1, ordering: .relaxed).oldValue + 1 >= spanBuildReadCount else { return }
        // From the table in hand: through `blockEntry`, which finds the table again for each
        // block, this cost 120 instructions a block, 50 µs for a segment of 24 MB.
        let layout = layout
        spans.build { i in Segment.entry(i, in: table, layout: layout).map { ($0.offset, $0.length) } }
    }

    /// The hash index, checked on first use.
    func hashIndex() throws(StoreError) -> UnsafeRawBufferPointer {
        let start = Int(layout.hashOffset)
        let bytes = try region.bytes(start..<(start + Int(layout.hashSlotCount) * layout.slotLayout.byteCount))!
        if hashChecked.load(ordering: .acquiring) == 0 {
            let end = Int(layout.footerOffset)
            let whole = try region.bytes(start..<end)!
            guard Checksum.xxh3(whole, seed: Checksum.seed(file: seed, offset: layout.hashOffset)) == (try footerChecksums()).hash else {
                throw damage("segment hash index checksum mismatch", at: layout.hashOffset)
            }
            hashChecked.store(1, ordering: .releasing)
        }
        return bytes
    }

    /// Block `i`'s table entry: where its stored bytes are, how long it is raw, its checksum.
    func blockEntry(_ i: Int) throws(StoreError) -> (offset: Int, length: Int, rawLength: Int, checksum: UInt64) {
        try blockEntry(i, in: try index())
    }

    /// Block `i`'s entry in `table` (``index()``'s bytes).
    private func blockEntry(_ i: Int, in table: UnsafeRawBufferPointer) throws(StoreError)
        -> (offset: Int, length: Int, rawLength: Int, checksum: UInt64)
    {
        guard let entry = Segment.entry(i, in: table, layout: layout) else {
            throw damage("block table entry \(i) is invalid", at: layout.blockTableOffset + UInt64(i * SegmentFormat.blockEntryByteCount))
        }
        return entry
    }

    /// Entry `i` of `table` (the checked block table and key heap), or `nil` if it is out of
    /// range or names bytes outside the blocks' region.
    private static func entry(_ i: Int, in table: UnsafeRawBufferPointer, layout: SegmentLayout)
        -> (offset: Int, length: Int, rawLength: Int, checksum: UInt64)?
    {
        var r = ByteReader(table, position: i * SegmentFormat.blockEntryByteCount)
        guard i >= 0, i < Int(layout.blockCount), let offset = r.u64(), let stored = r.u32(), let raw = r.u32(), let checksum = r.u64(),
            offset >= UInt64(SegmentFormat.headerByteCount), stored >= 1, raw >= 1,
            Int(raw) <= SegmentFormat.rawBlockByteCountMax,
            layout.codec == SegmentFormat.codecLZ4 || stored == raw,
            offset <= layout.blockTableOffset, UInt64(stored) <= layout.blockTableOffset - offset
        else { return nil }
        return (Int(offset), Int(stored), Int(raw), checksum)
    }

    /// The key of the segment's last record (its last block is walked once, then remembered).
    /// - Precondition: the segment has a block.
    func lastKey() throws(StoreError) -> [UInt8] {
        let known = lastKeyFound.withLock { $0 }
        if !known.isEmpty { return known }
        precondition(layout.blockCount > 0, "an empty segment has no last key")
        let lastBlock = Int(layout.blockCount) - 1
        var cursor = try SegmentCursor(segment: self, from: try firstKey(lastBlock))
        var last = SegmentKey.none
        while let record = try cursor.next() { last = record.key }
        // The cursor still holds the last block, so `last` is still valid here.
        let key = withExtendedLifetime(cursor) { last.array }
        guard !key.isEmpty else { throw damage("block \(lastBlock) holds no record", at: UInt64(try blockEntry(lastBlock).offset)) }
        lastKeyFound.withLock { $0 = key }
        return key
    }

    /// The first key of block `i`.
    func firstKey(_ i: Int) throws(StoreError) -> UnsafeRawBufferPointer {
        try firstKeyAndPrefix(i).key
    }

    /// The first key of block `i` and, in version 3, the length of its keys' shared prefix
    /// (the block table entry's field at 30; 0 before).
    private func firstKeyAndPrefix(_ i: Int) throws(StoreError) -> (key: UnsafeRawBufferPointer, prefixLength: Int) {
        let table = try index()
        let heapStart = Int(layout.blockCount) * SegmentFormat.blockEntryByteCount
        let at = i * SegmentFormat.blockEntryByteCount + 24
        var r = ByteReader(table, position: at)
        guard i >= 0, i < Int(layout.blockCount), let keyOffset = r.u32().map(Int.init), let keyLength = r.u16().map(Int.init),
            let prefixLength = r.u16().map(Int.init)
        else { throw damage("block \(i) is not in the block table", at: layout.blockTableOffset) }
        var heap = ByteReader(table, position: heapStart)
        guard heap.skip(keyOffset), let key = heap.bytes(keyLength), keyLength >= 1 else {
            throw damage("block \(i)'s first key lies outside the key heap", at: layout.blockTableOffset + UInt64(at))
        }
        guard !layout.isCompact || prefixLength <= keyLength else {
            throw damage("block \(i)'s key prefix is longer than its first key", at: layout.blockTableOffset + UInt64(at + 6))
        }
        return (key, layout.isCompact ? prefixLength : 0)
    }

    /// What block `i`, whose raw bytes are `bytes`, states for all its records.
    @inline(__always)
    func head(_ i: Int, _ bytes: UnsafeRawBufferPointer) throws(StoreError) -> BlockHead {
        guard layout.isCompact else { return .plain(minLSN: layout.minLSN) }
        if let known = spans.head(i, minLSN: layout.minLSN) { return known }
        return try compactHead(i, bytes)
    }

    @inline(never)
    private func compactHead(_ i: Int, _ bytes: UnsafeRawBufferPointer) throws(StoreError) -> BlockHead {
        let (key, prefixLength) = try firstKeyAndPrefix(i)
        guard let head = BlockHead.decode(bytes, prefix: UnsafeRawBufferPointer(rebasing: key[0..<prefixLength]),
                                          minLSN: layout.minLSN, lsnDeltaMax: layout.maxLSN - layout.minLSN)
        else { throw recordError(i, 0) }
        spans.storeHead(i, head, minLSN: layout.minLSN)
        return head
    }

    // MARK: Blocks and records

    /// The raw bytes of block `i`, verified according to the verification policy (an LZ4
    /// block: verified, then decompressed or taken from the block cache).
    /// - Parameter cached: use the block cache (point reads); scans pass `false`, so that one
    ///   pass over a cold dimension does not evict every block point reads keep hot.
    func block(_ i: Int, cached: Bool = true) throws(StoreError) -> BlockView {
        let (bytes, owner) = try blockBytes(i, cached: cached)
        return BlockView(bytes: bytes, owner: owner, head: try head(i, bytes))
    }

    /// The raw bytes of block `i` and their owner (see ``block(_:cached:)``).
    @inline(__always)
    private func blockBytes(_ i: Int, cached: Bool) throws(StoreError) -> (UnsafeRawBufferPointer, AnyObject?) {
        // A plain block already verified: its span, without the block table's entry.
        if verification == .firstRead, let span = spans.span(i), blocksVerified.contains(i) {
            return (try region.bytes(span.offset..<(span.offset + span.length))!, nil)  // checked when built
        }
        let useCache = cached && layout.codec == SegmentFormat.codecLZ4
        if useCache, let cache, let hit = cache.block(BlockCache.Key(segment: serial, block: i)) {
            return (hit.bytes, hit)
        }
        let table = try index()
        let entry = try blockEntry(i, in: table)
        if spans.count > 0, !spans.isBuilt { countReadBeforeSpans(table) }
        let stored = try region.bytes(entry.offset..<(entry.offset + entry.length))!  // bounds checked in blockEntry
        if verification == .everyRead || !blocksVerified.contains(i) {
            guard Checksum.xxh3(stored, seed: Checksum.seed(file: seed, offset: UInt64(entry.offset))) == entry.checksum else {
                throw damage("block \(i) checksum mismatch", at: UInt64(entry.offset))
            }
            blocksVerified.insert(i)
        }
        guard layout.codec == SegmentFormat.codecLZ4 else { return (stored, nil) }
        guard let decoded = DecodedBlock(decompressing: stored, rawByteCount: entry.rawLength) else {
            throw damage("block \(i) does not decompress to its \(entry.rawLength) bytes", at: UInt64(entry.offset))
        }
        if useCache { cache?.insert(decoded, for: BlockCache.Key(segment: serial, block: i)) }
        return (decoded.bytes, decoded)
    }

    /// Decodes the record at `offset` of `block` (bytes of block `blockIndex`); returns it and
    /// the offset after it.
    /// - Parameters:
    ///   - previousLSN: the LSN of the record before it in the block, `minLSN` at the block's
    ///     start (version 2 codes LSNs against it; versions 1 and 3 ignore it).
    ///   - head: what the block states for all its records (``head(_:_:)``).
    @inline(__always)
    func record(in block: UnsafeRawBufferPointer, at offset: Int, blockIndex: Int, previousLSN: LSN,
                head: BlockHead) throws(StoreError) -> (SegmentRecord, Int) {
        if head.isCompact { return try compactRecord(in: block, at: offset, blockIndex: blockIndex, head: head) }
        var r = ByteReader(block, position: offset)
        guard let kind = r.u8(), kind == SegmentFormat.recordPut || kind == SegmentFormat.recordTombstone,
            let keyLength = r.varint(), keyLength >= 1, keyLength <= UInt64(Limits.keyByteCountMax)
        else { throw recordError(blockIndex, offset) }
        let isDelete = kind == SegmentFormat.recordTombstone
        var valueLength: UInt64 = 0
        if !isDelete {
            guard let v = r.varint(), v <= UInt64(Limits.valueByteCountMax) else { throw recordError(blockIndex, offset) }
            valueLength = v
        }
        guard let code = r.varint(), let lsn = RecordDecoder(layout).lsn(code: code, previous: previousLSN),
            let key = r.bytes(Int(keyLength)), let value = r.bytes(Int(valueLength))
        else { throw recordError(blockIndex, offset) }
        return (SegmentRecord(key: SegmentKey(key), value: value, lsn: lsn, isDelete: isDelete), r.position)
    }

    /// ``record(in:at:blockIndex:previousLSN:head:)`` for a compact block (§ Compact blocks).
    private func compactRecord(in block: UnsafeRawBufferPointer, at offset: Int, blockIndex: Int, head: BlockHead) throws(StoreError) -> (SegmentRecord, Int) {
        var r = ByteReader(block, position: offset)
        guard offset >= head.recordsStart, let code = r.varint(), code >> 1 <= layout.maxLSN - head.baseLSN else {
            throw recordError(blockIndex, offset)
        }
        let isDelete = code & 1 == 1
        var suffixLength = head.keyLength - head.prefix.count
        if head.keyLength == 0 {
            guard let s = r.varint(), s <= UInt64(Limits.keyByteCountMax), Int(s) + head.prefix.count >= 1,
                Int(s) + head.prefix.count <= Limits.keyByteCountMax
            else { throw recordError(blockIndex, offset) }
            suffixLength = Int(s)
        }
        var valueLength = isDelete ? 0 : head.valueLength
        if !isDelete && valueLength < 0 {
            guard let v = r.varint(), v <= UInt64(Limits.valueByteCountMax) else { throw recordError(blockIndex, offset) }
            valueLength = Int(v)
        }
        guard let suffix = r.bytes(suffixLength), let value = r.bytes(valueLength) else { throw recordError(blockIndex, offset) }
        let record = SegmentRecord(key: SegmentKey(prefix: head.prefix, suffix: suffix), value: value,
                                   lsn: head.baseLSN + (code >> 1), isDelete: isDelete)
        return (record, r.position)
    }

    /// A `corrupted` error naming this segment. Out of line: were the path read in the hot
    /// functions, the optimiser would retain it there on every call, error or not.
    @inline(never)
    private func damage(_ message: String, at offset: UInt64) -> StoreError {
        .corrupted(message, path: path, offset: offset)
    }

    private func recordError(_ block: Int, _ offset: Int) -> StoreError {
        let base = (try? blockEntry(block).offset) ?? 0
        // In an LZ4 block the offset is inside the decoded bytes: name the block's start.
        let at = layout.codec == SegmentFormat.codecLZ4 ? base : base + offset
        return .corrupted("record in block \(block) is malformed", path: path, offset: UInt64(at))
    }

    /// The newest version of `key` with `lsn <= snapshotLSN`, or `nil` if the segment has none;
    /// its bytes stay valid while `owner` (`nil`: the segment itself) is alive.
    func find(_ key: UnsafeRawBufferPointer, snapshotLSN: LSN) throws(StoreError) -> (record: SegmentRecord, owner: AnyObject?)? {
        guard let found = try probesHashIndex() ? locate(key) : search(key) else { return nil }
        return try visible(found, of: key, snapshotLSN: snapshotLSN)
    }

    /// The version `found` (the newest of `key`) if `snapshotLSN` sees it, else the newest
    /// older one it sees.
    @inline(__always)
    private func visible(_ found: Found, of key: UnsafeRawBufferPointer, snapshotLSN: LSN) throws(StoreError)
        -> (record: SegmentRecord, owner: AnyObject?)?
    {
        if found.record.lsn <= snapshotLSN { return (found.record, found.view.owner) }
        return try olderVersion(after: found, of: key, snapshotLSN: snapshotLSN)
    }

    /// ``find(_:snapshotLSN:)`` as a point read wants it: the value, whether it is a tombstone,
    /// and its owner. The newest version, visible to every snapshot from its LSN on, is nearly
    /// every read: it is answered where the probe finds it, without handing the record and its
    /// block around.
    @inline(__always)
    func pointRead(_ key: UnsafeRawBufferPointer, snapshotLSN: LSN) throws(StoreError) -> SegmentHit? {
        guard probesHashIndex() else {
            guard let found = try search(key) else { return nil }
            return try visible(found, of: key, snapshotLSN: snapshotLSN)
                .map(SegmentHit.init)
        }
        return try probe(key) { (position, view, rec, next) throws(StoreError) -> SegmentHit? in
            if rec.lsn <= snapshotLSN { return SegmentHit(value: rec.value, owner: view.owner, isDelete: rec.isDelete) }
            return try olderVersion(after: (position, view, rec, next), of: key, snapshotLSN: snapshotLSN)
                .map(SegmentHit.init)
        } ?? nil
    }

    /// The newest version of `key` with `lsn <= snapshotLSN` among those older than `found`'s.
    @inline(never)
    private func olderVersion(after found: Found, of key: UnsafeRawBufferPointer, snapshotLSN: LSN) throws(StoreError)
        -> (record: SegmentRecord, owner: AnyObject?)?
    {
        var (position, view, rec, next) = (found.position, found.view, found.record, found.next)
        while true {
            // A newer version than the snapshot: older ones follow, possibly in the next block.
            position.offset = next
            position.previousLSN = rec.lsn
            if position.offset >= view.bytes.count {
                position = SegmentPosition(block: position.block + 1, offset: 0, previousLSN: layout.minLSN)
                guard position.block < Int(layout.blockCount) else { return nil }
                view = try block(position.block)
                position.offset = view.head.recordsStart
            }
            (rec, next) = try record(at: position, in: view)
            guard keysEqual(rec.key, key) else { return nil }
            if rec.lsn <= snapshotLSN { return (rec, view.owner) }
        }
    }

    /// A key's record found by a point lookup: where it starts, its block, the record, and
    /// the offset after it.
    private typealias Found = (position: SegmentPosition, view: BlockView, record: SegmentRecord, next: Int)

    /// The record at `position` of `view` (its block), and the offset after it: the fast
    /// decoder's, or the generic one's for what it leaves.
    @inline(__always)
    private func record(at position: SegmentPosition, in view: BlockView) throws(StoreError) -> (SegmentRecord, Int) {
        if view.head.isCompact, let decoded = RecordDecoder(layout).decodeCompact(view.bytes, at: position.offset, head: view.head) {
            return decoded
        }
        return try record(in: view.bytes, at: position.offset, blockIndex: position.block, previousLSN: position.previousLSN, head: view.head)
    }

    /// The bytes of hash index one lookup through the block table stands for: checking them
    /// (XXH3 at about 10 GB/s, and the faults that map them) takes about as long as what a
    /// search costs more than a probe, about 1 µs.
    static let hashBytesPerSearch = 8 << 10

    /// Whether a lookup probes the hash index, or searches the block table as in a segment
    /// without one (segment.md § Point lookup).
    ///
    /// Probing first checks the whole hash index; searching first checks the block table and
    /// key heap, which a probe that finds its key needs as well. For small records the hash
    /// index is the far larger: 2 MiB against 70 KB for a segment of 180,000 100-byte values,
    /// where checking it took a third of a cold open that reads one value. Such a segment's
    /// first lookups search, until what they cost more than probes would have paid for the
    /// check (a rent-or-buy rule: never more than twice the better choice made in hindsight).
    /// A hash index at most twice the block table's size is checked at the first lookup: for
    /// 4 KiB values the two are about the same size, and a probe that misses needs no block
    /// table at all (a lookup visits every newer segment of its dimension first).
    @inline(__always)
    private func probesHashIndex() -> Bool {
        guard layout.hashSlotCount > 0 else { return false }
        if hashChecked.load(ordering: .acquiring) != 0 { return true }
        // Racing lookups may both check the index: the check is idempotent.
        return searchesBeforeHashCheck.wrappingAdd(1, ordering: .relaxed).oldValue >= searchesBeforeHashCheckMax
    }

    /// Where the newest version of `key` starts, and its block, through the hash index.
    private func locate(_ key: UnsafeRawBufferPointer) throws(StoreError) -> Found? {
        try probe(key) { (position, view, rec, next) throws(StoreError) -> Found in (position, view, rec, next) }
    }

    /// Probes the hash index for `key` and calls `matched` with where its newest version
    /// starts, its block, the record and the offset after it; `nil` if the key is not there.
    @inline(__always)
    private func probe<R>(_ key: UnsafeRawBufferPointer,
                          _ matched: (SegmentPosition, BlockView, SegmentRecord, Int) throws(StoreError) -> R) throws(StoreError) -> R? {
        let slots = try hashIndex()
        let hash = Checksum.keyHash(key)
        let slotCount = Int(layout.hashSlotCount)
        let slotLayout = layout.slotLayout
        let tag = slotLayout.tag(hash)
        var i = SegmentFormat.startSlot(hash, slotCount: slotCount)
        for _ in 0..<slotCount {
            let slot = slotLayout.load(slots, i)!  // i < slotCount: inside
            if slot == 0 { return nil }
            if slotLayout.tag(ofSlot: slot) == tag {
                let blockIndex = slotLayout.block(ofSlot: slot), offset = slotLayout.offset(ofSlot: slot)
                guard blockIndex < Int(layout.blockCount) else {
                    throw damage("hash slot \(i) names block \(blockIndex) of \(layout.blockCount)",
                                 at: layout.hashOffset + UInt64(i * slotLayout.byteCount))
                }
                let view = try block(blockIndex)
                // The record's bytes are the view's: keep its owner until the compare is done.
                defer { withExtendedLifetime(view.owner) {} }
                // Versions 1 and 3: a record decodes alone, whatever the LSN before it.
                let position = SegmentPosition(block: blockIndex, offset: offset, previousLSN: layout.minLSN)
                let (rec, next) = try record(at: position, in: view)
                if keysEqual(rec.key, key) { return try matched(position, view, rec, next) }
            }
            i = i + 1 == slotCount ? 0 : i + 1
        }
        return nil
    }

    /// Where the newest version of `key` starts, and its block, through the block table: the
    /// point lookup of a segment without a hash index, or before its index is checked
    /// (segment.md § Point lookup).
    private func search(_ key: UnsafeRawBufferPointer) throws(StoreError) -> Found? {
        guard let found = try firstAtOrAfter(key), found.isKey else { return nil }
        return (found.position, found.view, found.record, found.next)
    }

    /// The position of the first record whose key is `>= key` (or the end).
    func seek(_ key: UnsafeRawBufferPointer) throws(StoreError) -> SegmentPosition {
        try firstAtOrAfter(key)?.position ?? endPosition
    }

    /// The first record whose key is `>= key`, its block, and whether its key is `key`; `nil`
    /// at the end.
    private func firstAtOrAfter(_ key: UnsafeRawBufferPointer) throws(StoreError)
        -> (position: SegmentPosition, view: BlockView, isKey: Bool, record: SegmentRecord, next: Int)?
    {
        // The last block whose first key is < key: every record before it is smaller. (Not <=:
        // a key's versions may straddle a block boundary, so a block starting with `key` may
        // be preceded by one ending with its newer versions.)
        var low = 0, high = Int(layout.blockCount)
        while low < high {
            let mid = (low + high) / 2
            if compareKeys(try firstKey(mid), key) < 0 { low = mid + 1 } else { high = mid }
        }
        let decoder = RecordDecoder(layout)
        for blockIndex in max(0, low - 1)..<Int(layout.blockCount) {
            let view = try block(blockIndex)
            defer { withExtendedLifetime(view.owner) {} }
            // The scan's decoder: a lookup without a hash index walks half a block on average.
            var records = BlockRecords(bytes: view.bytes, blockIndex: blockIndex, decoder: decoder, offset: 0, previousLSN: layout.minLSN,
                                       head: view.head)
            var before = records.position
            while let rec = try records.next(in: self) {
                let order = compareKeys(rec.key, key)
                if order >= 0 { return (before, view, order == 0, rec, records.offset) }
                before = records.position
            }
        }
        return nil
    }

    /// The position just past the last record.
    var endPosition: SegmentPosition { SegmentPosition(block: Int(layout.blockCount), offset: 0, previousLSN: layout.minLSN) }
}
