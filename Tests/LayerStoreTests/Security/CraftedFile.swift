@testable import LayerStore

/// Little-endian field access to a file's bytes for crafting: every write is bounds-checked
/// (a field that does not fit is left alone), so a case can aim anywhere.
struct CraftedFile {
    var bytes: [UInt8]

    func u8(_ at: Int) -> UInt8 { at >= 0 && at < bytes.count ? bytes[at] : 0 }
    func u16(_ at: Int) -> UInt16 { UInt16(u8(at)) | UInt16(u8(at + 1)) << 8 }
    func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
    func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }

    mutating func set(_ at: Int, _ value: UInt64, width: Int) {
        guard at >= 0, at + width <= bytes.count else { return }
        for i in 0..<width { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }
    mutating func set8(_ at: Int, _ v: UInt64) { set(at, v, width: 1) }
    mutating func set16(_ at: Int, _ v: UInt64) { set(at, v, width: 2) }
    mutating func set32(_ at: Int, _ v: UInt64) { set(at, v, width: 4) }
    mutating func set64(_ at: Int, _ v: UInt64) { set(at, v, width: 8) }

    // MARK: Segments (Formats/segment.md)

    var blockCount: Int { Int(u32(88)) }
    var blockTableOffset: Int { Int(u64(104)) }
    var hashOffset: Int { Int(u64(112)) }
    var footerOffset: Int { Int(u64(120)) }
    var hashSlotCount: Int { Int(u32(96)) }
    func entry(_ i: Int) -> Int { blockTableOffset + 32 * i }
    /// Version 3's hash slot widths (header bytes 38 and 39); version 1's 20 and 20 otherwise.
    var slotBlockBits: Int { u8(39) == 0 ? 20 : Int(u8(38)) }
    var slotOffsetBits: Int { u8(39) == 0 ? 20 : Int(u8(39)) }
    /// 4 or 8 (segment.md § Hash index).
    var slotByteCount: Int { u8(39) != 0 && slotBlockBits + slotOffsetBits <= 28 ? 4 : 8 }
    func slot(_ i: Int) -> UInt64 { slotByteCount == 4 ? UInt64(u32(hashOffset + 4 * i)) : u64(hashOffset + 8 * i) }
    mutating func setSlot(_ i: Int, _ v: UInt64) { set(hashOffset + slotByteCount * i, v, width: slotByteCount) }
    var heapStart: Int { blockTableOffset + 32 * blockCount }

    /// Moves the block table start in the header and the footer alike (and the index length),
    /// so that only the layout checks stand in the way.
    mutating func setBlockTableOffset(_ v: UInt64) {
        let footer = footerOffset, hash = UInt64(hashOffset)
        set64(104, v)
        set64(footer + 8, v)
        set64(footer + 16, hash &- v)
    }

    mutating func setHashOffset(_ v: UInt64) {
        let footer = footerOffset, table = UInt64(blockTableOffset)
        set64(112, v)
        set64(footer + 32, v)
        set64(footer + 16, v &- table)
    }

    /// Replaces block `i`'s stored bytes (of any length) and its raw length, moving everything
    /// after it (later blocks, table, key heap, hash index, footer) and every offset that
    /// names them. Checksums are left to ``fixSegmentChecksums()``.
    mutating func replaceBlock(_ i: Int, stored new: [UInt8], rawLength: UInt32) {
        let n = blockCount, table = blockTableOffset
        let at = Int(u64(entry(i))), old = Int(u32(entry(i) + 8))
        var heapEnd = heapStart
        for j in 0..<n { heapEnd = max(heapEnd, heapStart + Int(u32(entry(j) + 24)) + Int(u16(entry(j) + 28))) }
        var out = Array(bytes[0..<at]) + new + Array(bytes[(at + old)..<table])
        let newTable = out.count
        out += bytes[table..<heapEnd]
        while out.count % 8 != 0 { out.append(0) }
        let newHash = out.count
        out += bytes[hashOffset..<footerOffset]
        let newFooter = out.count
        out += bytes[footerOffset...]
        let delta = UInt64(bitPattern: Int64(new.count - old))
        bytes = out
        set64(80, UInt64(out.count))
        set64(104, UInt64(newTable))
        set64(112, UInt64(newHash))
        set64(120, UInt64(newFooter))
        set64(newFooter + 8, UInt64(newTable))
        set64(newFooter + 16, UInt64(newHash - newTable))
        set64(newFooter + 32, UInt64(newHash))
        for j in (i + 1)..<max(i + 1, n) { set64(entry(j), u64(entry(j)) &+ delta) }
        set32(entry(i) + 8, UInt64(new.count))
        set32(entry(i) + 12, UInt64(rawLength))
    }

    /// Every checksum of the segment recomputed, as its writer would (identity from its header).
    mutating func fixSegmentChecksums() { bytes = FuzzChecksums.fixingSegment(bytes) }
    mutating func fixWALChecksums() { bytes = FuzzChecksums.fixingWAL(bytes) }
    mutating func fixManifestChecksum() { bytes = FuzzChecksums.fixingManifest(bytes) }

    // MARK: WAL files (Formats/wal.md)

    /// The offsets of the records, following the chain of payload lengths from offset 64.
    var walRecordOffsets: [Int] {
        var out: [Int] = []
        var at = WALFormat.headerByteCount
        while at + 32 <= bytes.count, u64(at) != 0 {
            out.append(at)
            at += (32 + Int(u32(at + 8)) + 7) & ~7
        }
        return out
    }

    // MARK: Manifests (Formats/manifest.md)

    /// Where each dimension's name length byte is, and where its segment entries start.
    var manifestDimensions: [(at: Int, name: String, count: Int, entries: Int)] {
        var out: [(Int, String, Int, Int)] = []
        var at = 64
        for _ in 0..<Int(u32(48)) {
            let n = Int(u8(at))
            let name = String(decoding: bytes[min(bytes.count, at + 1)..<min(bytes.count, at + 1 + n)], as: UTF8.self)
            let count = Int(u32(at + 1 + n))
            out.append((at, name, count, at + 5 + n))
            at += 5 + n + 48 * count
        }
        return out
    }

    /// The manifest entry of segment `id`, if the manifest lists it.
    func manifestEntry(id: UInt64) -> Int? {
        for d in manifestDimensions {
            for i in 0..<d.count where u64(d.entries + 48 * i) == id { return d.entries + 48 * i }
        }
        return nil
    }
}

/// A tiny LZ4 encoder for crafting: the whole input as one literal run, which is a valid LZ4
/// block (the last sequence of a block has literals only).
enum LZ4Literals {
    static func encode(_ raw: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let n = raw.count
        out.append(UInt8(min(n, 15)) << 4)
        if n >= 15 {
            var rest = n - 15
            while rest >= 255 {
                out.append(255)
                rest -= 255
            }
            out.append(UInt8(rest))
        }
        return out + raw
    }
}
