//! Builds a segment file's bytes from records given in order (Formats/segment.md).
//!
//! Invariants checked as records arrive: keys ascend; a key's versions arrive newest first with
//! strictly decreasing LSNs. The first (newest) version of each key goes into the hash index,
//! when the segment has one.
//! Every block and section is checksummed as it is finished; the header is written last, so a
//! builder never produces a file whose header describes bytes it did not write.

/// Accumulates records and produces a complete segment file.
struct SegmentBuilder {
    let storeID: UInt64
    let segmentID: UInt64
    let version: UInt32
    let dimension: String
    let blockByteCountTarget: Int
    /// How blocks are stored: ``SegmentFormat/codecNone`` or ``SegmentFormat/codecLZ4``.
    let codec: UInt8
    /// Whether the file gets a hash index; without one it is format version 2: point lookups
    /// search the block table, and records code their LSN against the record before them in
    /// their block (segment.md § Versions).
    let hashIndex: Bool
    /// The LSN of the open block's last record, `baseLSN` while it is empty (version 2).
    private var blockPreviousLSN: LSN
    /// Scratch space for a compressed block.
    private var compressed: [UInt8] = []
    private let seed: UInt64

    /// The file being built, in pool storage (a flush builds memtable-sized files; the pool
    /// keeps such buffers for the next one).
    private var file = PooledBuffer(capacity: 1 << 20)
    private var block = ByteWriter(capacity: 1 << 16)
    private var blockTable = ByteWriter()
    private var keyHeap = ByteWriter()
    private var blockCount = 0
    private var lastKey: [UInt8] = []
    private var lastLSN: LSN = 0
    private var minLSN: LSN = .max
    private var maxLSN: LSN = 0
    private var recordCount: UInt64 = 0
    private var keyCount = 0
    private var hashes: [UInt64] = []
    private var slots: [UInt64] = []
    /// Bytes of the first key of the block being filled (it goes into the block table).
    private var blockFirstKey: [UInt8] = []
    /// The segment's smallest LSN: records store their LSN as a delta from it.
    private let baseLSN: LSN

    /// - Parameters:
    ///   - baseLSN: the smallest LSN of the records to come (records store `lsn - baseLSN`).
    ///   - blockByteCountTarget: a block is closed once adding a record would exceed this.
    ///   - hashIndex: write a hash index (format version 1) or none (version 2).
    init(storeID: UInt64, segmentID: UInt64, version: UInt32, dimension: String, baseLSN: LSN, blockByteCountTarget: Int,
         codec: UInt8 = SegmentFormat.codecNone, hashIndex: Bool = true) {
        precondition(blockByteCountTarget > 0 && blockByteCountTarget <= Limits.recordStartInBlockMax)
        precondition(baseLSN >= 1)
        precondition(codec == SegmentFormat.codecNone || codec == SegmentFormat.codecLZ4)
        self.codec = codec
        self.hashIndex = hashIndex
        self.storeID = storeID
        self.segmentID = segmentID
        self.version = version
        self.dimension = dimension
        self.baseLSN = baseLSN
        self.blockPreviousLSN = baseLSN
        self.blockByteCountTarget = blockByteCountTarget
        self.seed = SegmentFormat.fileSeed(storeID: storeID, segmentID: segmentID, version: version)
        file.zeros(SegmentFormat.headerByteCount)
    }

    /// `true` when no record was added.
    var isEmpty: Bool { recordCount == 0 }

    /// Bytes written so far (a lower bound of the final size).
    var byteCount: Int { file.count + block.count }

    /// Appends one record.
    /// - Precondition: `(key, lsn)` follows the previous record in (key ascending, LSN
    ///   descending) order, and `lsn >= baseLSN`.
    mutating func add(key: UnsafeRawBufferPointer, lsn: LSN, isDelete: Bool, value: UnsafeRawBufferPointer) throws(StoreError) {
        precondition(lsn >= baseLSN, "record LSN below the segment's base LSN")
        let order = lastKey.withUnsafeBytes { compareKeys($0, key) }
        let isNewKey = recordCount == 0 || order != 0
        precondition(recordCount == 0 || order < 0 || (order == 0 && lsn < lastLSN),
                     "segment records must be in key order, newest version first")
        let size = 1 + varintByteCount(UInt64(key.count)) + (isDelete ? 0 : varintByteCount(UInt64(value.count)))
            + varintByteCount(lsnCode(lsn)) + key.count + (isDelete ? 0 : value.count)
        if block.count > 0 && block.count + size > blockByteCountTarget {
            closeBlock()
        }
        guard blockCount < Limits.segmentBlockCountMax else {
            throw StoreError(.limitExceeded, "segment would exceed \(Limits.segmentBlockCountMax) blocks")
        }
        if block.count == 0 { blockFirstKey = [UInt8](key) }
        if isNewKey {
            keyCount += 1
            if hashIndex {
                hashes.append(Checksum.keyHash(key))
                slots.append(UInt64(blockCount) << 20 | UInt64(block.count))
            }
            lastKey = [UInt8](key)
        }
        block.u8(isDelete ? SegmentFormat.recordTombstone : SegmentFormat.recordPut)
        block.varint(UInt64(key.count))
        if !isDelete { block.varint(UInt64(value.count)) }
        block.varint(lsnCode(lsn))
        blockPreviousLSN = lsn
        block.append(key)
        if !isDelete { block.append(value) }
        lastLSN = lsn
        minLSN = min(minLSN, lsn)
        maxLSN = max(maxLSN, lsn)
        recordCount += 1
    }

    /// Finishes the file: last block, block table, hash index (if any), footer, header.
    /// - Precondition: at least one record was added.
    /// The bytes stay valid while the returned buffer is alive.
    mutating func finish(newestRecordTime: UInt64) -> PooledBuffer {
        precondition(recordCount > 0, "a segment holds at least one record")
        closeBlock()
        let blockTableOffset = UInt64(file.count)
        file.append(blockTable.bytes)
        file.append(keyHeap.bytes)
        file.pad(to: 8)
        let indexLength = UInt64(file.count) - blockTableOffset
        let indexChecksum = section(from: blockTableOffset)
        let hashOffset = UInt64(file.count)
        // No hash index: an empty section, so hashOffset == footerOffset and its checksum is
        // that of no bytes.
        let slotCount = hashIndex ? SegmentFormat.slotCount(keys: keyCount) : 0
        if hashIndex { writeHashIndex(slotCount: slotCount) }
        let hashChecksum = section(from: hashOffset)
        let footerOffset = UInt64(file.count)
        var footer = ByteWriter(capacity: SegmentFormat.footerByteCount)
        footer.u64(SegmentFormat.footerMagic)
        footer.u64(blockTableOffset)
        footer.u64(indexLength)
        footer.u64(indexChecksum)
        footer.u64(hashOffset)
        footer.u64(hashChecksum)
        footer.u64(0)
        footer.u64(Checksum.xxh3(footer.bytes, seed: Checksum.seed(file: seed, offset: footerOffset)))
        file.append(footer.bytes)
        // The header's minLSN is the base of the stored deltas: they must be the same number.
        precondition(minLSN == baseLSN, "baseLSN must be the smallest LSN in the segment")
        let header = SegmentHeader(
            storeID: storeID, segmentID: segmentID, version: version, codec: codec,
            dimension: dimension, minLSN: minLSN, maxLSN: maxLSN, recordCount: recordCount,
            keyCount: UInt64(keyCount), newestRecordTime: newestRecordTime,
            fileLength: UInt64(file.count), blockCount: UInt32(blockCount),
            blockByteCountTarget: UInt32(blockByteCountTarget), hashSlotCount: UInt32(slotCount),
            blockTableOffset: blockTableOffset, hashOffset: hashOffset, footerOffset: footerOffset)
        header.encode().withUnsafeBytes { file.patch(bytes: $0, at: 0) }
        return file
    }

    /// The checksum of `file[offset...]`, bound to `offset`.
    private func section(from offset: UInt64) -> UInt64 {
        file.withContiguousBytes { raw in
            Checksum.xxh3(UnsafeRawBufferPointer(rebasing: raw[Int(offset)...]), seed: Checksum.seed(file: seed, offset: offset))
        }
    }

    /// How `lsn` is coded in the open block (segment.md § Blocks and records).
    private func lsnCode(_ lsn: LSN) -> UInt64 {
        hashIndex ? lsn - baseLSN : RecordDecoder.chainedCode(lsn, previous: blockPreviousLSN)
    }

    private mutating func closeBlock() {
        guard block.count > 0 else { return }
        blockPreviousLSN = baseLSN
        let offset = UInt64(file.count)
        var stored = block.bytes
        if codec == SegmentFormat.codecLZ4 {
            compressed.removeAll(keepingCapacity: true)
            block.bytes.withUnsafeBytes { LZ4Block.compress($0, into: &compressed) }
            stored = compressed
        }
        // The checksum covers the bytes on disk, so damage is caught before decompression.
        let checksum = stored.withUnsafeBytes { Checksum.xxh3($0, seed: Checksum.seed(file: seed, offset: offset)) }
        file.append(stored)
        blockTable.u64(offset)
        blockTable.u32(UInt32(stored.count))
        blockTable.u32(UInt32(block.count))
        blockTable.u64(checksum)
        blockTable.u32(UInt32(keyHeap.count))
        blockTable.u16(UInt16(blockFirstKey.count))
        blockTable.u16(0)
        keyHeap.append(contentsOf: blockFirstKey)
        blockCount += 1
        block.removeAll()
    }

    private mutating func writeHashIndex(slotCount: Int) {
        var table = [UInt64](repeating: 0, count: slotCount)
        for (hash, location) in zip(hashes, slots) {
            var i = SegmentFormat.startSlot(hash, slotCount: slotCount)
            while table[i] != 0 { i = i + 1 == slotCount ? 0 : i + 1 }
            table[i] = (SegmentFormat.tag(hash) << 40) | location
        }
        for slot in table { file.u64(slot) }
    }
}
