//! The constants shared by the segment builder and reader. Each points to its section of
//! Formats/segment.md, the normative description of these bytes.

/// Layout of segment files (Formats/segment.md).
enum SegmentFormat {
    /// "LayerSeg", the first 8 bytes of every segment (§ Header).
    static let magic: UInt64 = 0x6765_5372_6579_614C
    /// "LayerEnd", the first 8 bytes of the footer (§ Footer).
    static let footerMagic: UInt64 = 0x646E_4572_6579_614C
    /// The newest format version this code reads (§ Header).
    static let formatVersion: UInt32 = 3
    /// The version of a segment with a hash index: version 1 readers read it (§ Versions).
    static let formatVersionHashed: UInt32 = 1
    /// The version of a segment without one, whose records also code their LSNs against the
    /// record before them; version 1 readers refuse it as an unsupported format (§ Versions).
    static let formatVersionHashless: UInt32 = 2
    /// The version of a segment of compact blocks (a block states its keys' shared prefix, its
    /// LSN base and common lengths once) with a hash index of slots sized to the file (§ Versions).
    static let formatVersionCompact: UInt32 = 3
    /// The header's size; the first block starts here (§ Header).
    static let headerByteCount = 256
    /// Offset of the header's checksum (§ Header).
    static let headerChecksumOffset = 248
    /// Offset and size of the dimension name field in the header (§ Header).
    static let dimensionNameOffset = 128
    static let dimensionNameFieldByteCount = 64
    /// The footer's size (§ Footer).
    static let footerByteCount = 64
    /// Offset of the footer's own checksum inside the footer (§ Footer).
    static let footerChecksumOffset = 56
    /// One block-table entry (§ Block table).
    static let blockEntryByteCount = 32
    /// Hash slots per key, as a ratio: the table is at most 80% full (§ Hash index).
    static let hashLoadNumerator = 5
    static let hashLoadDenominator = 4
    /// The longest head of a compact block: LSN base (9 bytes), key length (2), value length (4)
    /// (§ Compact blocks).
    static let compactHeadByteCountMax = 15
    /// Record kinds inside blocks (§ Records).
    static let recordPut: UInt8 = 1
    static let recordTombstone: UInt8 = 2
    /// The largest raw block: a block is closed at its target size (at most 1 MiB), or holds
    /// one record, of at most this much (§ Blocks).
    static let rawBlockByteCountMax = Limits.valueByteCountMax + Limits.keyByteCountMax + 32
    /// Block codecs (§ Header, § Blocks).
    static let codecNone: UInt8 = 0
    static let codecLZ4: UInt8 = 1
    /// Domain tag mixed into the file seed (§ Checksums): the ASCII letters "SEGF" read as a
    /// big-endian number (on disk, as a little-endian u64, the bytes appear reversed).
    static let seedTag: UInt64 = 0x5345_4746

    /// The identity seed of segment (`segmentID`, `version`) of store `storeID`.
    static func fileSeed(storeID: UInt64, segmentID: UInt64, version: UInt32) -> UInt64 {
        Checksum.fileSeed(seedTag, storeID, segmentID, UInt64(version))
    }

    /// The slot a probe for `hash` starts at in a table of `slotCount` slots.
    @inline(__always)
    static func startSlot(_ hash: UInt64, slotCount: Int) -> Int {
        Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(slotCount)).high)
    }

    /// The number of hash slots for `keyCount` distinct keys.
    static func slotCount(keys keyCount: Int) -> Int {
        max(1, (keyCount * hashLoadNumerator + hashLoadDenominator - 1) / hashLoadDenominator)
    }
}

/// How a hash slot divides its bits between a tag, a block index and an offset in the block
/// (§ Hash index): 20 and 20 bits in 8 bytes in version 1; in version 3 as few bits as the file
/// needs (the header states them), in 4 bytes when they leave at least 4 bits of tag.
struct HashSlotLayout: Equatable, Sendable {
    let blockBits: Int
    let offsetBits: Int
    /// 4 or 8.
    let byteCount: Int

    /// Version 1's layout.
    static let wide = HashSlotLayout(blockBits: 20, offsetBits: 20, byteCount: 8)

    /// The fewest tag bits a 4-byte slot keeps (a slot's tag spares a probe most record decodes).
    static let narrowTagBitsMin = 4

    private init(blockBits: Int, offsetBits: Int, byteCount: Int) {
        self.blockBits = blockBits
        self.offsetBits = offsetBits
        self.byteCount = byteCount
    }

    /// Version 3's layout for the given widths, or `nil` if they are out of range
    /// (`blockBits ≤ 20`, `1 ≤ offsetBits ≤ 20`: records start below the block target, 2^20 at most).
    init?(compactBlockBits blockBits: Int, offsetBits: Int) {
        guard blockBits >= 0, blockBits <= 20, offsetBits >= 1, offsetBits <= 20 else { return nil }
        self.init(blockBits: blockBits, offsetBits: offsetBits,
                  byteCount: blockBits + offsetBits <= 32 - Self.narrowTagBitsMin ? 4 : 8)
    }

    /// The bits needed to write every number up to `value` (at least `minimum`).
    static func bits(toHold value: Int, minimum: Int) -> Int {
        max(minimum, Int.bitWidth - value.leadingZeroBitCount)
    }

    var tagBits: Int { byteCount * 8 - blockBits - offsetBits }

    /// The tag of a key hash; its top bit is always set, so no used slot is zero.
    @inline(__always)
    func tag(_ hash: UInt64) -> UInt64 {
        let top = UInt64(1) << UInt64(tagBits - 1)
        return (hash & (top - 1)) | top
    }

    @inline(__always)
    func slot(hash: UInt64, block: Int, offset: Int) -> UInt64 {
        tag(hash) << UInt64(blockBits + offsetBits) | UInt64(block) << UInt64(offsetBits) | UInt64(offset)
    }

    @inline(__always)
    func tag(ofSlot slot: UInt64) -> UInt64 { slot >> UInt64(blockBits + offsetBits) }

    @inline(__always)
    func block(ofSlot slot: UInt64) -> Int { Int(truncatingIfNeeded: (slot >> UInt64(offsetBits)) & ((1 << UInt64(blockBits)) - 1)) }

    @inline(__always)
    func offset(ofSlot slot: UInt64) -> Int { Int(truncatingIfNeeded: slot & ((1 << UInt64(offsetBits)) - 1)) }

    /// Slot `i` of `slots` (the hash index's bytes).
    @inline(__always)
    func load(_ slots: UnsafeRawBufferPointer, _ i: Int) -> UInt64? {
        byteCount == 4 ? ByteReader.u32(slots, at: i &* 4).map(UInt64.init) : ByteReader.u64(slots, at: i &* 8)
    }
}

/// The name of a segment file: `<segment id, 16 hex digits>-<version, 8 hex digits>.seg`.
enum SegmentName {
    /// The length of every segment file name.
    static let byteCount = 29

    static func fileName(id: UInt64, version: UInt32) -> String {
        path(directory: "", id: id, version: version)
    }

    /// `directory + "/" + fileName(id:version:)`, or the bare name for an empty `directory`.
    /// Built in one buffer: an open names every segment it lists, and concatenating the parts
    /// made a new string at each step (4 allocations a segment, 9% of a cold open's
    /// instructions for 24 segments).
    static func path(directory: String, id: UInt64, version: UInt32) -> String {
        var directory = directory
        return directory.withUTF8 { prefix in
            let separator = prefix.isEmpty ? 0 : 1
            return String(unsafeUninitializedCapacity: prefix.count + separator + byteCount) { buffer in
                var i = 0
                for byte in prefix { buffer[i] = byte; i += 1 }
                if separator == 1 { buffer[i] = UInt8(ascii: "/"); i += 1 }
                writeZeroPaddedHex(id, digits: 16, into: buffer, at: &i)
                buffer[i] = UInt8(ascii: "-"); i += 1
                writeZeroPaddedHex(UInt64(version), digits: 8, into: buffer, at: &i)
                for byte in ".seg".utf8 { buffer[i] = byte; i += 1 }
                return i
            }
        }
    }

    /// The (id, version) in a segment file name, or `nil` if the name is not one.
    static func parse(_ name: String) -> (id: UInt64, version: UInt32)? {
        let bytes = name.utf8
        guard bytes.count == byteCount, bytes.dropFirst(25).elementsEqual(".seg".utf8),
            bytes.dropFirst(16).first == UInt8(ascii: "-"),
            let id = lowercaseHexValue(bytes.prefix(16)),
            let version = lowercaseHexValue(bytes.dropFirst(17).prefix(8))
        else { return nil }
        return (id, UInt32(version))  // 8 hex digits fit
    }
}

/// The value of 1 to 16 lowercase hex digits (`0-9`, `a-f`), or `nil` if there are none, more
/// than 16, or a byte that is not one. Names are written in lowercase and read only so, so that
/// a name parses only if re-deriving it gives the same file. Byte by byte: the `String` tests
/// and parses these names used run Unicode code a new process has not touched yet, on an open's
/// path to its first value (every name in the store and WAL directories is parsed).
func lowercaseHexValue(_ bytes: some Collection<UInt8>) -> UInt64? {
    guard !bytes.isEmpty, bytes.count <= 16 else { return nil }
    var value: UInt64 = 0
    for byte in bytes {
        let digit: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
        default: return nil
        }
        value = value << 4 | UInt64(digit)
    }
    return value
}

/// The fields of a segment header (Formats/segment.md § Header).
struct SegmentHeader: Equatable, Sendable {
    var storeID: UInt64
    var segmentID: UInt64
    var version: UInt32
    var codec: UInt8
    var dimension: String
    var minLSN: LSN
    var maxLSN: LSN
    var recordCount: UInt64
    var keyCount: UInt64
    var newestRecordTime: UInt64
    var fileLength: UInt64
    var blockCount: UInt32
    var blockByteCountTarget: UInt32
    var hashSlotCount: UInt32
    var blockTableOffset: UInt64
    var hashOffset: UInt64
    var footerOffset: UInt64
    /// Version 3: the bits of a hash slot that hold the block index and the offset in the block
    /// (§ Hash index); 0 and 0 in versions 1 and 2 (bytes 38 and 39, reserved there).
    var slotBlockBits: UInt8 = 0
    var slotOffsetBits: UInt8 = 0

    /// The version this header's layout needs: the oldest that can read it (§ Versions).
    var formatVersion: UInt32 {
        hashSlotCount == 0 ? SegmentFormat.formatVersionHashless
            : isCompact ? SegmentFormat.formatVersionCompact : SegmentFormat.formatVersionHashed
    }

    /// Version 3: compact blocks (§ Compact blocks), hash slots laid out as the header says.
    var isCompact: Bool { slotOffsetBits > 0 }

    /// How the hash index's slots are laid out (meaningful when it has slots).
    var slotLayout: HashSlotLayout {
        isCompact ? HashSlotLayout(compactBlockBits: Int(slotBlockBits), offsetBits: Int(slotOffsetBits)) ?? .wide : .wide
    }

    /// `true` if the segment has a hash index; without one, point lookups search the block
    /// table (§ Versions).
    var hasHashIndex: Bool { hashSlotCount > 0 }

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: SegmentFormat.headerByteCount)
        w.u64(SegmentFormat.magic)
        w.u32(formatVersion)
        w.u32(UInt32(SegmentFormat.headerByteCount))
        w.u64(storeID)
        w.u64(segmentID)
        w.u32(version)
        w.u8(codec)
        w.u8(UInt8(dimension.utf8.count))
        w.u8(slotBlockBits)
        w.u8(slotOffsetBits)
        w.u64(minLSN)
        w.u64(maxLSN)
        w.u64(recordCount)
        w.u64(keyCount)
        w.u64(newestRecordTime)
        w.u64(fileLength)
        w.u32(blockCount)
        w.u32(blockByteCountTarget)
        w.u32(hashSlotCount)
        w.u32(0)
        w.u64(blockTableOffset)
        w.u64(hashOffset)
        w.u64(footerOffset)
        assert(w.count == SegmentFormat.dimensionNameOffset)
        w.append(contentsOf: dimension.utf8)
        w.zeros(SegmentFormat.headerChecksumOffset - w.count)
        let seed = SegmentFormat.fileSeed(storeID: storeID, segmentID: segmentID, version: version)
        w.u64(Checksum.xxh3(w.bytes, seed: seed))
        assert(w.count == SegmentFormat.headerByteCount)
        return w.bytes
    }

    /// Decodes and checks a header read from the file named (`segmentID`, `version`) of store
    /// `storeID`. The checksum is checked first: no field is trusted before it holds.
    static func decode(_ bytes: UnsafeRawBufferPointer, storeID: UInt64, segmentID: UInt64, version: UInt32, path: String) throws(StoreError) -> SegmentHeader {
        guard bytes.count >= SegmentFormat.headerByteCount else {
            throw .corrupted("segment shorter than its header", path: path, offset: 0)
        }
        var r = ByteReader(bytes)
        guard r.u64() == SegmentFormat.magic else { throw .corrupted("not a segment file (bad magic)", path: path, offset: 0) }
        let formatVersion = r.u32()!
        // The checksum first: newer versions keep it in place (Formats/README.md § Versioning),
        // so a version field that fails it is damage, not a newer format.
        let seed = SegmentFormat.fileSeed(storeID: storeID, segmentID: segmentID, version: version)
        let sum = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: bytes[0..<SegmentFormat.headerChecksumOffset]), seed: seed)
        guard ByteReader.u64(bytes, at: SegmentFormat.headerChecksumOffset) == sum else {
            throw .corrupted("segment header checksum mismatch (damaged, or not the file its name says)", path: path, offset: 0)
        }
        guard formatVersion <= SegmentFormat.formatVersion else {
            throw StoreError(.unsupportedFormat, "segment format version \(formatVersion) is newer than \(SegmentFormat.formatVersion): use a newer LayerStore", path: path)
        }
        let headerLength = r.u32()!
        var h = SegmentHeader(
            storeID: r.u64()!, segmentID: r.u64()!, version: r.u32()!, codec: r.u8()!, dimension: "",
            minLSN: 0, maxLSN: 0, recordCount: 0, keyCount: 0, newestRecordTime: 0, fileLength: 0,
            blockCount: 0, blockByteCountTarget: 0, hashSlotCount: 0, blockTableOffset: 0, hashOffset: 0, footerOffset: 0)
        let nameLength = Int(r.u8()!)
        h.slotBlockBits = r.u8()!
        h.slotOffsetBits = r.u8()!
        h.minLSN = r.u64()!; h.maxLSN = r.u64()!; h.recordCount = r.u64()!; h.keyCount = r.u64()!
        h.newestRecordTime = r.u64()!; h.fileLength = r.u64()!
        h.blockCount = r.u32()!; h.blockByteCountTarget = r.u32()!; h.hashSlotCount = r.u32()!
        let reserved32 = r.u32()!
        h.blockTableOffset = r.u64()!; h.hashOffset = r.u64()!; h.footerOffset = r.u64()!
        let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[SegmentFormat.dimensionNameOffset..<(SegmentFormat.dimensionNameOffset + min(nameLength, SegmentFormat.dimensionNameFieldByteCount))])
        // Everything after the name, up to the checksum, is zero (name padding and reserved).
        let padding = bytes[(SegmentFormat.dimensionNameOffset + min(nameLength, SegmentFormat.dimensionNameFieldByteCount))..<SegmentFormat.headerChecksumOffset]
        guard formatVersion >= 1, Int(headerLength) == SegmentFormat.headerByteCount,
            h.storeID == storeID, h.segmentID == segmentID, h.version == version, reserved32 == 0,
            nameLength <= SegmentFormat.dimensionNameFieldByteCount, isValidDimensionName(nameBytes),
            padding.allSatisfy({ $0 == 0 })
        else { throw .corrupted("segment header fields are inconsistent", path: path, offset: 0) }
        guard h.codec == SegmentFormat.codecNone || h.codec == SegmentFormat.codecLZ4 else {
            throw StoreError(.unsupportedFormat, "segment codec \(h.codec) is not supported by this version", path: path)
        }
        h.dimension = String(decoding: nameBytes, as: UTF8.self)
        // Each version has exactly one layout: a hash index of 8-byte slots in version 1, none
        // in version 2, one of the slots the header's widths describe in version 3.
        guard formatVersion == h.formatVersion,
            !h.isCompact || HashSlotLayout(compactBlockBits: Int(h.slotBlockBits), offsetBits: Int(h.slotOffsetBits)) != nil,
            h.isCompact || h.slotBlockBits == 0
        else {
            throw .corrupted("segment format version \(formatVersion) does not match its hash index of \(h.hashSlotCount) slots (widths \(h.slotBlockBits), \(h.slotOffsetBits))", path: path, offset: 0)
        }
        try h.checkLayout(path: path)
        return h
    }

    /// The sections must lie in order inside the file: header < blocks < block table < hash
    /// index < footer = end. Checked once at open so no later offset arithmetic can overflow.
    private func checkLayout(path: String) throws(StoreError) {
        let tableEnd = blockTableOffset.addingReportingOverflow(UInt64(blockCount) * UInt64(SegmentFormat.blockEntryByteCount))
        let hashEnd = hashOffset.addingReportingOverflow(UInt64(hashSlotCount) * UInt64(slotLayout.byteCount))
        guard blockCount >= 1, Int(blockCount) <= Limits.segmentBlockCountMax,
            minLSN >= 1, minLSN <= maxLSN, maxLSN <= Limits.lsnMax, keyCount >= 1, keyCount <= recordCount,
            blockTableOffset >= UInt64(SegmentFormat.headerByteCount),
            !tableEnd.overflow, tableEnd.partialValue <= hashOffset, hashOffset % 8 == 0,
            !hashEnd.overflow, hashEnd.partialValue <= footerOffset,
            fileLength >= UInt64(SegmentFormat.footerByteCount), footerOffset == fileLength - UInt64(SegmentFormat.footerByteCount),
            hashSlotCount == 0 || UInt64(hashSlotCount) >= keyCount,
            hashSlotCount > 0 || hashOffset == footerOffset,
            !isCompact || UInt64(blockCount) <= UInt64(1) << UInt64(slotBlockBits)
        else { throw .corrupted("segment header describes an impossible layout", path: path, offset: 0) }
    }
}
