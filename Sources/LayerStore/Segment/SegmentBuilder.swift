//! Builds a segment file's bytes from records given in order (Formats/segment.md).
//!
//! Invariants checked as records arrive: keys ascend; a key's versions arrive newest first with
//! strictly decreasing LSNs. The first (newest) version of each key goes into the hash index,
//! when the segment has one.
//! A segment with a hash index is written in compact blocks (format version 3) unless asked
//! otherwise: a compact block's records are held until it closes, when its keys' shared
//! prefix, its smallest LSN and its common lengths are known (Formats/segment.md § Compact
//! blocks).
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
    /// Format version 3: compact blocks and a hash index of slots sized to the file.
    let compact: Bool
    /// The LSN of the open block's last record, `baseLSN` while it is empty (version 2).
    private var blockPreviousLSN: LSN
    /// The open compact block's records, held until it closes (version 3).
    private var pending: [PendingRecord] = []
    private var pendingKeys = ByteWriter(capacity: 1 << 12)
    private var pendingValues = ByteWriter(capacity: 1 << 16)
    /// What the closing rule counts for the open compact block (see ``countedByteCount``).
    private var pendingCounted = 0
    /// The largest offset of a record the hash index points at (version 3 sizes its slots by it).
    private var slotOffsetMax = 0
    /// The prefix length of the block being closed (the block table's field; 0 before v3).
    private var blockPrefixLength = 0
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
    ///   - hashIndex: write a hash index (format version 1 or 3) or none (version 2).
    ///   - compact: with a hash index, write compact blocks (version 3); `false` writes version 1.
    init(storeID: UInt64, segmentID: UInt64, version: UInt32, dimension: String, baseLSN: LSN, blockByteCountTarget: Int,
         codec: UInt8 = SegmentFormat.codecNone, hashIndex: Bool = true, compact: Bool = true) {
        precondition(blockByteCountTarget > 0 && blockByteCountTarget <= Limits.recordStartInBlockMax)
        precondition(baseLSN >= 1)
        precondition(codec == SegmentFormat.codecNone || codec == SegmentFormat.codecLZ4)
        self.codec = codec
        self.hashIndex = hashIndex
        self.compact = hashIndex && compact
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
    var byteCount: Int { file.count + block.count + pendingKeys.count + pendingValues.count }

    /// Appends one record.
    /// - Precondition: `(key, lsn)` follows the previous record in (key ascending, LSN
    ///   descending) order, and `lsn >= baseLSN`.
    mutating func add(key: UnsafeRawBufferPointer, lsn: LSN, isDelete: Bool, value: UnsafeRawBufferPointer) throws(StoreError) {
        precondition(lsn >= baseLSN, "record LSN below the segment's base LSN")
        let order = lastKey.withUnsafeBytes { compareKeys($0, key) }
        let isNewKey = recordCount == 0 || order != 0
        precondition(recordCount == 0 || order < 0 || (order == 0 && lsn < lastLSN),
                     "segment records must be in key order, newest version first")
        if compact {
            try addCompact(key: key, lsn: lsn, isDelete: isDelete, value: value, isNewKey: isNewKey)
            return
        }
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
                slots.append(UInt64(blockCount) << 32 | UInt64(block.count))
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

    /// A record of the open compact block, its bytes in `pendingKeys` and `pendingValues`.
    private struct PendingRecord {
        var keyEnd: Int
        var valueEnd: Int
        var lsn: LSN
        var isDelete: Bool
        var isNewKey: Bool
    }

    /// What the closing rule counts for a record of a compact block: its size were it coded
    /// with no prefix, against the segment's smallest LSN, and with its lengths stated. That is
    /// at least its size in the block, so a closed block's raw bytes (with a head of at most
    /// ``SegmentFormat/compactHeadByteCountMax``) stay within the target (segment.md § Compact
    /// blocks), and every record starts below it.
    private func countedByteCount(keyCount: Int, valueCount: Int, lsn: LSN, isDelete: Bool) -> Int {
        varintByteCount((lsn - baseLSN) << 1 | 1) + varintByteCount(UInt64(keyCount))
            + (isDelete ? 0 : varintByteCount(UInt64(valueCount)) + valueCount) + keyCount
    }

    private mutating func addCompact(key: UnsafeRawBufferPointer, lsn: LSN, isDelete: Bool, value: UnsafeRawBufferPointer,
                                     isNewKey: Bool) throws(StoreError) {
        let counted = countedByteCount(keyCount: key.count, valueCount: value.count, lsn: lsn, isDelete: isDelete)
        if !pending.isEmpty && SegmentFormat.compactHeadByteCountMax + pendingCounted + counted > blockByteCountTarget {
            closeBlock()
        }
        guard blockCount < Limits.segmentBlockCountMax else {
            throw StoreError(.limitExceeded, "segment would exceed \(Limits.segmentBlockCountMax) blocks")
        }
        if isNewKey {
            keyCount += 1
            hashes.append(Checksum.keyHash(key))
            lastKey = [UInt8](key)
        }
        pendingKeys.append(key)
        if !isDelete { pendingValues.append(value) }
        pending.append(PendingRecord(keyEnd: pendingKeys.count, valueEnd: pendingValues.count, lsn: lsn, isDelete: isDelete, isNewKey: isNewKey))
        pendingCounted += counted
        lastLSN = lsn
        minLSN = min(minLSN, lsn)
        maxLSN = max(maxLSN, lsn)
        recordCount += 1
    }

    /// Codes the open compact block's records into `block` (segment.md § Compact blocks): the
    /// keys' shared prefix (the first and last key's, as keys ascend), the smallest LSN, and
    /// the key and value lengths when every record has the same.
    private mutating func encodePending() {
        precondition(!pending.isEmpty && block.count == 0)
        pendingKeys.withContiguousBytes { keys in
            pendingValues.withContiguousBytes { values in
                func key(_ i: Int) -> UnsafeRawBufferPointer {
                    UnsafeRawBufferPointer(rebasing: keys[(i == 0 ? 0 : pending[i - 1].keyEnd)..<pending[i].keyEnd])
                }
                let first = key(0), last = key(pending.count - 1)
                var prefix = 0
                while prefix < min(first.count, last.count) && first[prefix] == last[prefix] { prefix += 1 }
                var base = LSN.max, keyLength = first.count, valueLength = -1, valueStart = 0
                for i in pending.indices {
                    base = min(base, pending[i].lsn)
                    if key(i).count != keyLength { keyLength = 0 }
                    if !pending[i].isDelete {
                        let length = pending[i].valueEnd - valueStart
                        valueLength = valueLength == -1 ? length : (valueLength == length ? length : -2)
                        valueStart = pending[i].valueEnd
                    }
                }
                blockFirstKey = [UInt8](first)
                blockPrefixLength = prefix
                block.varint(base - baseLSN)
                block.varint(UInt64(keyLength))
                block.varint(valueLength >= 0 ? UInt64(valueLength) + 1 : 0)
                valueStart = 0
                for i in pending.indices {
                    let record = pending[i], k = key(i)
                    if record.isNewKey {
                        slots.append(UInt64(blockCount) << 32 | UInt64(block.count))
                        slotOffsetMax = max(slotOffsetMax, block.count)
                    }
                    block.varint((record.lsn - base) << 1 | (record.isDelete ? 1 : 0))
                    if keyLength == 0 { block.varint(UInt64(k.count - prefix)) }
                    let v = UnsafeRawBufferPointer(rebasing: values[valueStart..<record.valueEnd])
                    if !record.isDelete && valueLength < 0 { block.varint(UInt64(v.count)) }
                    block.append(UnsafeRawBufferPointer(rebasing: k[prefix...]))
                    if !record.isDelete { block.append(v) }
                    valueStart = record.valueEnd
                }
            }
        }
        // The closing rule's counts bound the coded sizes: a block holds its target, or one record.
        assert(block.count <= blockByteCountTarget || pending.count == 1, "a compact block past its target")
        pending.removeAll(keepingCapacity: true)
        pendingKeys.removeAll()
        pendingValues.removeAll()
        pendingCounted = 0
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
        let slotLayout = compact
            ? HashSlotLayout(compactBlockBits: HashSlotLayout.bits(toHold: blockCount - 1, minimum: 0),
                             offsetBits: HashSlotLayout.bits(toHold: slotOffsetMax, minimum: 1))!  // in range: see countedByteCount
            : HashSlotLayout.wide
        if hashIndex { writeHashIndex(slotCount: slotCount, layout: slotLayout) }
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
            blockTableOffset: blockTableOffset, hashOffset: hashOffset, footerOffset: footerOffset,
            slotBlockBits: compact ? UInt8(slotLayout.blockBits) : 0, slotOffsetBits: compact ? UInt8(slotLayout.offsetBits) : 0)
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
        if compact && !pending.isEmpty { encodePending() }
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
        blockTable.u16(UInt16(blockPrefixLength))
        keyHeap.append(contentsOf: blockFirstKey)
        blockCount += 1
        block.removeAll()
    }

    private mutating func writeHashIndex(slotCount: Int, layout: HashSlotLayout) {
        precondition(hashes.count == slots.count, "a key without its place")
        var table = [UInt64](repeating: 0, count: slotCount)
        for (hash, location) in zip(hashes, slots) {
            var i = SegmentFormat.startSlot(hash, slotCount: slotCount)
            while table[i] != 0 { i = i + 1 == slotCount ? 0 : i + 1 }
            table[i] = layout.slot(hash: hash, block: Int(location >> 32), offset: Int(location & 0xFFFF_FFFF))
        }
        if layout.byteCount == 4 {
            for slot in table { file.u32(UInt32(slot)) }
        } else {
            for slot in table { file.u64(slot) }
        }
    }
}
