import Foundation
import Testing
@testable import LayerStore

/// Crafted stores: offsets, lengths and counts set to out-of-range, overlapping, huge,
/// off-by-one and "negative" (wrapped) values in segment headers, block tables, hash slots,
/// records, LZ4 blocks, WAL records and manifests, with every checksum recomputed so that only
/// the readers' bounds checks stand between them and memory outside their mappings.
///
/// Every case goes through a read-only and a writer open, a read of every key, scans,
/// `verify`, `recover --dry-run` and `inspect`. None may crash (the suite also runs under
/// AddressSanitizer); cases marked `.typedError` must fail with a typed error somewhere, cases
/// marked `.rightValues` (crafts that change nothing a reader relies on) must read right.
/// Other values than the store's are allowed otherwise: a crafted file whose checksums hold
/// is as valid as one the writer wrote, and may say something else.
@Suite struct CraftedStoreTests {
    enum Target: String { case segment, lz4Segment, wal, manifests }
    /// What a crafted case must give: a read's typed error, the right values, no crash, or at
    /// least a damage `verify` reports (a slot that misleads reads into records intact behind
    /// their checksums).
    enum Expectation { case typedError, rightValues, noCrash, foundByVerify }

    struct Case {
        let name: String
        let expect: Expectation
        let craft: (inout CraftedFile) -> Void
        init(_ name: String, _ expect: Expectation = .typedError, _ craft: @escaping (inout CraftedFile) -> Void) {
            self.name = name
            self.expect = expect
            self.craft = craft
        }
    }

    // MARK: Segments

    @Test func segmentHeaderLayouts() throws {
        try run(.segment, [
            Case("blockCount 0") { $0.set32(88, 0) },
            Case("blockCount - 1", .noCrash) { $0.set32(88, UInt64($0.blockCount - 1)) },
            Case("blockCount + 1") { $0.set32(88, UInt64($0.blockCount + 1)) },
            Case("blockCount 2^20 - 1") { $0.set32(88, 0xF_FFFF) },
            Case("blockCount 2^20") { $0.set32(88, 0x10_0000) },
            Case("blockCount u32 max") { $0.set32(88, 0xFFFF_FFFF) },
            Case("hashSlotCount 0") { $0.set32(96, 0) },
            Case("hashSlotCount 1") { $0.set32(96, 1) },
            Case("hashSlotCount - 1", .noCrash) { $0.set32(96, UInt64($0.hashSlotCount - 1)) },
            Case("hashSlotCount + 1") { $0.set32(96, UInt64($0.hashSlotCount + 1)) },
            Case("hashSlotCount u32 max") { $0.set32(96, 0xFFFF_FFFF) },
            Case("keyCount 0") { $0.set64(64, 0) },
            Case("keyCount u64 max") { $0.set64(64, .max) },
            Case("recordCount 0") { $0.set64(56, 0) },
            Case("recordCount u64 max", .noCrash) { $0.set64(56, .max) },
            Case("blockTableOffset 0") { $0.setBlockTableOffset(0) },
            Case("blockTableOffset 255") { $0.setBlockTableOffset(255) },
            Case("blockTableOffset 256") { $0.setBlockTableOffset(256) },
            Case("blockTableOffset - 1") { $0.setBlockTableOffset(UInt64($0.blockTableOffset - 1)) },
            Case("blockTableOffset + 1") { $0.setBlockTableOffset(UInt64($0.blockTableOffset + 1)) },
            Case("blockTableOffset = hashOffset") { $0.setBlockTableOffset(UInt64($0.hashOffset)) },
            Case("blockTableOffset = footerOffset") { $0.setBlockTableOffset(UInt64($0.footerOffset)) },
            Case("blockTableOffset = file length") { $0.setBlockTableOffset(UInt64($0.bytes.count)) },
            Case("blockTableOffset u64 max") { $0.setBlockTableOffset(.max) },
            Case("blockTableOffset -32 (wraps)") { $0.setBlockTableOffset(UInt64.max - 31) },
            Case("hashOffset 0") { $0.setHashOffset(0) },
            Case("hashOffset - 8", .noCrash) { $0.setHashOffset(UInt64($0.hashOffset - 8)) },
            Case("hashOffset + 8") { $0.setHashOffset(UInt64($0.hashOffset + 8)) },
            Case("hashOffset + 1 (unaligned)") { $0.setHashOffset(UInt64($0.hashOffset + 1)) },
            Case("hashOffset = footerOffset") { $0.setHashOffset(UInt64($0.footerOffset)) },
            Case("hashOffset -8 (wraps)") { $0.setHashOffset(UInt64.max - 7) },
            Case("footerOffset - 8") { $0.set64(120, UInt64($0.footerOffset - 8)) },
            Case("footerOffset + 8") { $0.set64(120, UInt64($0.footerOffset + 8)) },
            Case("footerOffset u64 max") { $0.set64(120, .max) },
            Case("fileLength + 1") { $0.set64(80, UInt64($0.bytes.count + 1)) },
            Case("fileLength 0") { $0.set64(80, 0) },
            Case("fileLength u64 max") { $0.set64(80, .max) },
            Case("minLSN 0") { $0.set64(40, 0) },
            Case("minLSN > maxLSN") { $0.set64(40, $0.u64(48) + 1) },
            Case("maxLSN 2^62 + 1") { $0.set64(48, (1 << 62) + 1) },
            Case("maxLSN u64 max") { $0.set64(48, .max) },
            Case("codec 1 on a plain segment") { $0.set8(36, 1) },
            Case("codec 2") { $0.set8(36, 2) },
            Case("codec 255") { $0.set8(36, 255) },
            Case("dimension name length 0") { $0.set8(37, 0) },
            Case("dimension name length 65") { $0.set8(37, 65) },
            Case("dimension name length 255") { $0.set8(37, 255) },
            Case("dimension name length 2") { $0.set8(37, 2) },
        ])
    }

    @Test func segmentBlockTableEntries() throws {
        var cases: [Case] = []
        for which in ["first", "middle", "last"] {
            func index(_ f: CraftedFile) -> Int { which == "first" ? 0 : which == "last" ? f.blockCount - 1 : f.blockCount / 2 }
            func e(_ f: CraftedFile) -> Int { f.entry(index(f)) }
            // A seek reads the first keys its binary search lands on: the middle block's, in
            // these scans; a bad first key elsewhere may never be read.
            let seeked: Expectation = which == "middle" ? .typedError : .noCrash
            cases += [
                Case("\(which) block offset 0") { $0.set64(e($0), 0) },
                Case("\(which) block offset 255") { $0.set64(e($0), 255) },
                Case("\(which) block offset = blockTableOffset") { $0.set64(e($0), UInt64($0.blockTableOffset)) },
                Case("\(which) block offset u64 max") { $0.set64(e($0), .max) },
                Case("\(which) block offset -1 (wraps)") { $0.set64(e($0), UInt64.max) },
                Case("\(which) block offset + 1") { $0.set64(e($0), $0.u64(e($0)) + 1) },
                Case("\(which) block overlaps the next", .noCrash) { f in
                    let other = f.entry(index(f) == 0 ? 1 : 0)
                    f.set64(e(f), f.u64(other))
                    f.set32(e(f) + 8, UInt64(f.u32(other + 8)))
                    f.set32(e(f) + 12, UInt64(f.u32(other + 8)))
                },
                Case("\(which) block stored length 0") { $0.set32(e($0) + 8, 0) },
                Case("\(which) block stored and raw length + 1") { f in
                    f.set32(e(f) + 8, UInt64(f.u32(e(f) + 8)) + 1)
                    f.set32(e(f) + 12, UInt64(f.u32(e(f) + 12)) + 1)
                },
                Case("\(which) block stored and raw length - 1") { f in
                    f.set32(e(f) + 8, UInt64(f.u32(e(f) + 8)) - 1)
                    f.set32(e(f) + 12, UInt64(f.u32(e(f) + 12)) - 1)
                },
                Case("\(which) block reaches the block table end", .noCrash) { f in
                    let n = UInt64(f.blockTableOffset) - f.u64(e(f))
                    f.set32(e(f) + 8, n)
                    f.set32(e(f) + 12, n)
                },
                Case("\(which) block one past the block table") { f in
                    let n = UInt64(f.blockTableOffset) - f.u64(e(f)) + 1
                    f.set32(e(f) + 8, n)
                    f.set32(e(f) + 12, n)
                },
                Case("\(which) block covers the whole file") { f in
                    f.set64(e(f), 0)
                    f.set32(e(f) + 8, UInt64(f.bytes.count))
                    f.set32(e(f) + 12, UInt64(f.bytes.count))
                },
                Case("\(which) block stored length u32 max") { f in
                    f.set32(e(f) + 8, 0xFFFF_FFFF)
                    f.set32(e(f) + 12, 0xFFFF_FFFF)
                },
                Case("\(which) block raw length differs (codec 0)") { $0.set32(e($0) + 12, UInt64($0.u32(e($0) + 12)) + 7) },
                Case("\(which) first key offset = heap length", seeked) { f in f.set32(e(f) + 24, UInt64(f.hashOffset - f.heapStart)) },
                Case("\(which) first key offset u32 max", seeked) { $0.set32(e($0) + 24, 0xFFFF_FFFF) },
                Case("\(which) first key length 0", seeked) { $0.set16(e($0) + 28, 0) },
                Case("\(which) first key length u16 max", seeked) { $0.set16(e($0) + 28, 0xFFFF) },
                Case("\(which) first key runs into the padding", .noCrash) { f in
                    f.set32(e(f) + 24, UInt64(f.hashOffset - f.heapStart - 1))
                    f.set16(e(f) + 28, 1)
                },
            ]
        }
        try run(.segment, cases)
    }

    /// Slots crafted in the layout the sample's header gives (format version 3: widths from
    /// bytes 38 and 39, 4-byte slots).
    @Test func segmentHashSlots() throws {
        func usedSlots(_ f: CraftedFile) -> [Int] { (0..<f.hashSlotCount).filter { f.slot($0) != 0 } }
        func each(_ f: inout CraftedFile, _ change: (_ slot: UInt64, _ blockMask: UInt64, _ offsetMask: UInt64) -> UInt64) {
            let offsetMask: UInt64 = (1 << UInt64(f.slotOffsetBits)) - 1
            let blockMask: UInt64 = ((1 << UInt64(f.slotBlockBits)) - 1) << UInt64(f.slotOffsetBits)
            for i in usedSlots(f) { f.setSlot(i, change(f.slot(i), blockMask, offsetMask)) }
        }
        try run(.segment, [
            Case("every slot names block blockCount") { f in
                let n = UInt64(f.blockCount), bits = UInt64(f.slotOffsetBits)
                precondition(n < 1 << UInt64(f.slotBlockBits), "the sample's widths hold block blockCount")
                each(&f) { slot, blockMask, _ in (slot & ~blockMask) | (n << bits) }
            },
            Case("every slot offset at its widths' largest (past its block)") { f in each(&f) { slot, _, offsetMask in slot | offsetMask } },
            Case("every slot offset 0 (inside its block's head)") { f in each(&f) { slot, _, offsetMask in slot & ~offsetMask } },
            // One byte off, a decode lands inside a record that the block's checksum vouches
            // for: it mostly decodes a key that is not the one probed for, and the read misses
            // the key. Only the verifier, which follows every key to its slot, can tell.
            Case("every slot offset + 1", .foundByVerify) { f in each(&f) { slot, _, offsetMask in (slot & ~offsetMask) | ((slot + 1) & offsetMask) } },
            Case("every slot offset - 1", .foundByVerify) { f in each(&f) { slot, _, offsetMask in (slot & ~offsetMask) | ((slot &- 1) & offsetMask) } },
            Case("every slot = the first used one", .noCrash) { f in
                let first = f.slot(usedSlots(f)[0])
                for i in 0..<f.hashSlotCount { f.setSlot(i, first) }
            },
            Case("every slot full of a tag no key has", .noCrash) { f in
                let top = UInt64(f.slotByteCount * 8 - f.slotBlockBits - f.slotOffsetBits)
                for i in 0..<f.hashSlotCount { f.setSlot(i, ((1 << top) - 1) << UInt64(f.slotBlockBits + f.slotOffsetBits)) }
            },
            Case("every slot empty", .noCrash) { f in
                for i in 0..<f.hashSlotCount { f.setSlot(i, 0) }
            },
            Case("slots shifted by one", .noCrash) { f in
                let slots = (0..<f.hashSlotCount).map { f.slot($0) }
                for i in 0..<slots.count { f.setSlot(i, slots[(i + 1) % slots.count]) }
            },
        ])
    }

    /// Positions in the first block of the sample's compact segment (Formats/segment.md
    /// § Compact blocks): its head's three fields, its first record, and that record's value
    /// length (when puts state theirs).
    struct FirstBlock {
        var head: Int, keyLengthAt: Int, valueLengthAt: Int, record: Int, recordValueLengthAt: Int?, end: Int
        init(_ f: CraftedFile) {
            func varintEnd(_ at: Int) -> Int { var i = at; while f.u8(i) & 0x80 != 0 { i += 1 }; return i + 1 }
            func varint(_ at: Int) -> Int {
                var (value, shift, i) = (0, 0, at)
                while true {
                    let byte = Int(f.u8(i)); i += 1
                    value |= (byte & 0x7F) << shift
                    if byte < 0x80 { return value }
                    shift += 7
                }
            }
            head = Int(f.u64(f.entry(0)))
            end = head + Int(f.u32(f.entry(0) + 8))
            keyLengthAt = varintEnd(head)
            valueLengthAt = varintEnd(keyLengthAt)
            record = varintEnd(valueLengthAt)
            let (keyLength, valueLength, prefixLength) = (varint(keyLengthAt), varint(valueLengthAt), Int(f.u16(f.entry(0) + 30)))
            // The first put that states its value length.
            var at = record
            recordValueLengthAt = nil
            while at < end {
                let isPut = varint(at) & 1 == 0
                at = varintEnd(at)
                var suffix = keyLength - prefixLength
                if keyLength == 0 { suffix = varint(at); at = varintEnd(at) }
                var value = 0
                if isPut {
                    if valueLength == 0 {
                        recordValueLengthAt = at
                        break
                    }
                    value = valueLength - 1
                }
                at += suffix + value
            }
        }
    }

    @Test func segmentRecords() throws {
        func b(_ f: CraftedFile) -> FirstBlock { FirstBlock(f) }
        try run(.segment, [
            Case("head: LSN base a varint of 10 bytes") { f in let h = b(f).head; for i in 0..<9 { f.set8(h + i, 0xFF) }; f.set8(h + 9, 0x01) },
            Case("head: LSN base 2^62 (past the segment's max)") { f in
                let h = b(f).head
                for i in 0..<8 { f.set8(h + i, 0x80) }
                f.set8(h + 8, 0x40)
            },
            Case("head: key length 1, shorter than the prefix") { f in f.set8(b(f).keyLengthAt, 1) },
            Case("head: key length 4097") { f in let at = b(f).keyLengthAt; f.set8(at, 0x81); f.set8(at + 1, 0x20) },
            Case("head: value length 16 MiB + 2") { f in
                for (i, v) in [0x82, 0x80, 0x80, 0x08].enumerated() { f.set8(b(f).valueLengthAt + i, UInt64(v)) }
            },
            Case("every byte of the first block 0xFF") { f in let fb = b(f); for i in fb.head..<fb.end { f.set8(i, 0xFF) } },
            Case("the first block all zero", .noCrash) { f in let fb = b(f); for i in fb.head..<fb.end { f.set8(i, 0) } },
            Case("record: LSN code a varint of 10 bytes") { f in let r = b(f).record; for i in 0..<9 { f.set8(r + i, 0xFF) }; f.set8(r + 9, 0x01) },
            Case("record: LSN past the segment's max") { f in
                let r = b(f).record
                for i in 0..<8 { f.set8(r + i, 0xFE) }
                f.set8(r + 8, 0x7F)
            },
            Case("record: a tombstone where a put is", .noCrash) { f in let r = b(f).record; f.set8(r, UInt64(f.u8(r) | 1)) },
            Case("record: value length 2^14 (past the block)") { f in
                let at = b(f).recordValueLengthAt!
                f.set8(at, 0x80); f.set8(at + 1, 0x80); f.set8(at + 2, 0x01)
            },
            Case("record: value length 16 MiB + 1") { f in
                for (i, v) in [0x81, 0x80, 0x80, 0x08].enumerated() { f.set8(b(f).recordValueLengthAt! + i, UInt64(v)) }
            },
            Case("record: value length u64 max") { f in
                let at = b(f).recordValueLengthAt!
                for i in 0..<9 { f.set8(at + i, 0xFF) }
                f.set8(at + 9, 0x01)
            },
            Case("record: a varint running off the block") { f in let fb = b(f); for i in fb.record..<fb.end { f.set8(i, 0x80) } },
            Case("block table: prefix longer than the first key") { f in f.set16(f.entry(0) + 30, 100) },
            Case("block table: no prefix", .noCrash) { f in f.set16(f.entry(0) + 30, 0) },
            Case("last record's value runs one past its block") { f in
                // Grow the last block's record area into the table: lengths say one byte more.
                let last = f.entry(f.blockCount - 1)
                f.set32(last + 8, UInt64(f.u32(last + 8)) + 1)
                f.set32(last + 12, UInt64(f.u32(last + 12)) + 1)
            },
        ])
    }

    // MARK: LZ4 segments

    @Test func lz4Blocks() throws {
        func e0(_ f: CraftedFile) -> Int { f.entry(0) }
        func raw(_ f: CraftedFile, _ i: Int = 0) -> [UInt8] {
            let e = f.entry(i)
            let at = Int(f.u64(e)), stored = Int(f.u32(e + 8)), rawCount = Int(f.u32(e + 12))
            var out = [UInt8](repeating: 0, count: rawCount)
            let ok = f.bytes[at..<(at + stored)].withUnsafeBytes { src in out.withUnsafeMutableBytes { LZ4Codec.decompress(src, into: $0) } }
            precondition(ok, "the sample's LZ4 block decodes")
            return out
        }
        try run(.lz4Segment, [
            Case("codec 0 on an LZ4 segment") { $0.set8(36, 0) },
            Case("raw length 0") { $0.set32(e0($0) + 12, 0) },
            Case("raw length - 1") { $0.set32(e0($0) + 12, UInt64($0.u32(e0($0) + 12)) - 1) },
            Case("raw length + 1") { $0.set32(e0($0) + 12, UInt64($0.u32(e0($0) + 12)) + 1) },
            Case("raw length at the limit") { $0.set32(e0($0) + 12, UInt64(SegmentFormat.rawBlockByteCountMax)) },
            Case("raw length past the limit") { $0.set32(e0($0) + 12, UInt64(SegmentFormat.rawBlockByteCountMax) + 1) },
            Case("raw length u32 max") { $0.set32(e0($0) + 12, 0xFFFF_FFFF) },
            Case("stored length - 1") { $0.set32(e0($0) + 8, UInt64($0.u32(e0($0) + 8)) - 1) },
            Case("stored bytes all 0xFF") { f in
                let at = Int(f.u64(e0(f)))
                for i in at..<(at + Int(f.u32(e0(f) + 8))) { f.set8(i, 0xFF) }
            },
            Case("a match reaching before the block start") { f in
                // 1 literal, then a match 65535 bytes back, then 5 literals.
                let block: [UInt8] = [0x14, 0x61, 0xFF, 0xFF, 0x50, 1, 2, 3, 4, 5]
                f.replaceBlock(0, stored: block, rawLength: 14)
            },
            Case("a literal run longer than the block") { f in f.replaceBlock(0, stored: [0xF0, 0xFF, 0xFF, 0x10, 1, 2, 3], rawLength: 600) },
            Case("the same records, re-encoded as literals", .rightValues) { f in
                f.replaceBlock(0, stored: LZ4Literals.encode(raw(f)), rawLength: UInt32(raw(f).count))
            },
            Case("re-encoded, raw length one more than decoded") { f in
                let r = raw(f)
                f.replaceBlock(0, stored: LZ4Literals.encode(r), rawLength: UInt32(r.count + 1))
            },
            Case("key length 0 inside an LZ4 block") { f in
                var r = raw(f)
                r[1] = 0
                f.replaceBlock(0, stored: LZ4Literals.encode(r), rawLength: UInt32(r.count))
            },
            Case("value length past the raw block") { f in
                var r = raw(f)
                r[2] = 0xFF
                r[3] = 0x7F
                f.replaceBlock(0, stored: LZ4Literals.encode(r), rawLength: UInt32(r.count))
            },
            Case("the last record cut short inside an LZ4 block") { f in
                let r = Array(raw(f).dropLast())
                f.replaceBlock(0, stored: LZ4Literals.encode(r), rawLength: UInt32(r.count))
            },
            Case("an LZ4 block of one zero byte") { f in f.replaceBlock(0, stored: LZ4Literals.encode([0]), rawLength: 1) },
        ])
    }

    // MARK: WAL

    @Test func walRecords() throws {
        var cases: [Case] = []
        for which in ["first", "middle"] {
            func r(_ f: CraftedFile) -> Int {
                let all = f.walRecordOffsets
                return which == "first" ? all[0] : all[all.count / 2]
            }
            func p(_ f: CraftedFile) -> UInt64 { UInt64(f.u32(r(f) + 8)) }
            cases += [
                Case("\(which) payload length 0") { $0.set32(r($0) + 8, 0) },
                Case("\(which) payload length 1") { $0.set32(r($0) + 8, 1) },
                Case("\(which) payload length - 1") { $0.set32(r($0) + 8, p($0) - 1) },
                Case("\(which) payload length + 1") { $0.set32(r($0) + 8, p($0) + 1) },
                Case("\(which) payload length + 8") { $0.set32(r($0) + 8, p($0) + 8) },
                Case("\(which) payload length 64 MiB") { $0.set32(r($0) + 8, 64 << 20) },
                Case("\(which) payload length 64 MiB + 1") { $0.set32(r($0) + 8, (64 << 20) + 1) },
                Case("\(which) payload length u32 max") { $0.set32(r($0) + 8, 0xFFFF_FFFF) },
                Case("\(which) payload up to the file end") { $0.set32(r($0) + 8, UInt64($0.bytes.count - r($0) - 32)) },
                Case("\(which) payload one past the file end") { $0.set32(r($0) + 8, UInt64($0.bytes.count - r($0) - 31)) },
                Case("\(which) operation count 0") { $0.set32(r($0) + 24, 0) },
                Case("\(which) operation count + 1") { $0.set32(r($0) + 24, UInt64($0.u32(r($0) + 24)) + 1) },
                Case("\(which) operation count 2^20 + 1") { $0.set32(r($0) + 24, (1 << 20) + 1) },
                Case("\(which) operation count u32 max") { $0.set32(r($0) + 24, 0xFFFF_FFFF) },
                Case("\(which) first LSN 0") { $0.set64(r($0) + 16, 0) },
                Case("\(which) first LSN 2^62 + 1") { $0.set64(r($0) + 16, (1 << 62) + 1) },
                Case("\(which) first LSN u64 max") { $0.set64(r($0) + 16, .max) },
                Case("\(which) synced delta 0") { $0.set32(r($0) + 28, 0) },
                Case("\(which) synced delta > first LSN") { $0.set32(r($0) + 28, $0.u64(r($0) + 16) + 1) },
                Case("\(which) kind 2") { $0.set8(r($0) + 12, 2) },
                Case("\(which) reserved 1") { $0.set8(r($0) + 14, 1) },
                Case("\(which) op kind 0") { $0.set8(r($0) + 32, 0) },
                Case("\(which) op kind 3") { $0.set8(r($0) + 32, 3) },
                Case("\(which) op name length 0") { $0.set8(r($0) + 33, 0) },
                Case("\(which) op name length 65") { $0.set8(r($0) + 33, 65) },
                Case("\(which) op name length 255") { $0.set8(r($0) + 33, 255) },
                Case("\(which) op key length 0") { $0.set16(r($0) + 34, 0) },
                Case("\(which) op key length 4097") { $0.set16(r($0) + 34, 4097) },
                Case("\(which) op key length u16 max") { $0.set16(r($0) + 34, 0xFFFF) },
                Case("\(which) op value length + 1") { $0.set32(r($0) + 36, UInt64($0.u32(r($0) + 36)) + 1) },
                Case("\(which) op value length 16 MiB + 1") { $0.set32(r($0) + 36, (16 << 20) + 1) },
                Case("\(which) op value length u32 max") { $0.set32(r($0) + 36, 0xFFFF_FFFF) },
            ]
        }
        cases += [
            Case("header base LSN 0") { $0.set64(32, 0) },
            Case("header base LSN u64 max") { $0.set64(32, .max) },
            Case("header length 65") { $0.set32(12, 65) },
        ]
        try run(.wal, cases)
    }

    // MARK: Manifests

    @Test func manifests() throws {
        func d0(_ f: CraftedFile) -> (at: Int, name: String, count: Int, entries: Int) { f.manifestDimensions[0] }
        func e0(_ f: CraftedFile) -> Int { d0(f).entries }
        try run(.manifests, [
            Case("dimension count 0", .noCrash) { $0.set32(48, 0) },
            Case("dimension count 1") { $0.set32(48, 1) },
            Case("dimension count + 1") { $0.set32(48, UInt64($0.u32(48)) + 1) },
            Case("dimension count 4096") { $0.set32(48, 4096) },
            Case("dimension count 4097") { $0.set32(48, 4097) },
            Case("dimension count u32 max") { $0.set32(48, 0xFFFF_FFFF) },
            Case("body length - 1") { $0.set32(52, UInt64($0.u32(52)) - 1) },
            Case("body length u32 max") { $0.set32(52, 0xFFFF_FFFF) },
            Case("checkpoint 0", .noCrash) { $0.set64(32, 0) },
            Case("checkpoint 2^62 + 1") { $0.set64(32, (1 << 62) + 1) },
            Case("checkpoint u64 max") { $0.set64(32, .max) },
            Case("next segment id 0") { $0.set64(40, 0) },
            Case("next segment id u64 max") { $0.set64(40, .max) },
            Case("name length 0") { $0.set8(d0($0).at, 0) },
            Case("name length 65") { $0.set8(d0($0).at, 65) },
            Case("name length 255") { $0.set8(d0($0).at, 255) },
            Case("name length + 1") { $0.set8(d0($0).at, UInt64(d0($0).name.utf8.count + 1)) },
            Case("segment count 0", .noCrash) { $0.set32(d0($0).entries - 4, 0) },
            Case("segment count - 1") { $0.set32(d0($0).entries - 4, UInt64(d0($0).count - 1)) },
            Case("segment count + 1") { $0.set32(d0($0).entries - 4, UInt64(d0($0).count + 1)) },
            Case("segment count 65536") { $0.set32(d0($0).entries - 4, 65536) },
            Case("segment count 65537") { $0.set32(d0($0).entries - 4, 65537) },
            Case("segment count u32 max") { $0.set32(d0($0).entries - 4, 0xFFFF_FFFF) },
            Case("segment id u64 max") { $0.set64(e0($0), .max) },
            Case("segment id 0", .noCrash) { $0.set64(e0($0), 0) },
            Case("segment id of the next entry") { $0.set64(e0($0), $0.u64(e0($0) + 48)) },
            Case("segment version 0") { $0.set32(e0($0) + 8, 0) },
            Case("segment version u32 max") { $0.set32(e0($0) + 8, 0xFFFF_FFFF) },
            Case("segment codec 1") { $0.set8(e0($0) + 12, 1) },
            Case("segment codec 2") { $0.set8(e0($0) + 12, 2) },
            Case("segment codec 255") { $0.set8(e0($0) + 12, 255) },
            Case("segment reserved 1") { $0.set8(e0($0) + 13, 1) },
            Case("segment min LSN 0") { $0.set64(e0($0) + 16, 0) },
            Case("segment min LSN > max LSN") { $0.set64(e0($0) + 16, $0.u64(e0($0) + 24) + 1) },
            Case("segment max LSN u64 max") { $0.set64(e0($0) + 24, .max) },
            Case("segment record count 0") { $0.set64(e0($0) + 32, 0) },
            Case("segment record count u64 max") { $0.set64(e0($0) + 32, .max) },
            Case("segment file length 0") { $0.set64(e0($0) + 40, 0) },
            Case("segment file length + 1") { $0.set64(e0($0) + 40, $0.u64(e0($0) + 40) + 1) },
            Case("segment file length u64 max") { $0.set64(e0($0) + 40, .max) },
        ])
    }

    // MARK: Running cases

    /// Crafts each case's file(s) in a fresh copy of the sample store, recomputes every checksum
    /// (and, for a segment, makes both manifests agree with its header and length, so that the
    /// crafted values get past the open's comparisons), then reads the store every way.
    func run(_ target: Target, _ cases: [Case]) throws {
        let dir = TemporaryDirectory("crafted")
        let sample = try SampleStore.make(at: dir.child("s"))
        let manifests = sample.pristine.filter { $0.name.hasPrefix("MANIFEST-") }
        let file: String? = switch target {
        case .segment: sample.pristine.last { $0.name.hasPrefix("dims/d/") }?.name
        case .lz4Segment: sample.pristine.last { $0.name.hasPrefix("dims/z/") }?.name
        case .wal: sample.pristine.last { $0.name.hasPrefix("wal/") && $0.name.hasSuffix(".wal") }?.name
        case .manifests: nil
        }
        var typed = 0, right = 0, other = 0
        for c in cases {
            sample.restore()
            if let file {
                var f = CraftedFile(bytes: sample.pristine.first { $0.name == file }!.bytes)
                c.craft(&f)
                if target == .wal { f.fixWALChecksums() } else { f.fixSegmentChecksums() }
                ByteSurgery.write(sample.path + "/" + file, f.bytes)
                if target != .wal { Self.agree(manifests, withSegment: f, in: sample) }
            } else {
                for m in manifests {
                    var f = CraftedFile(bytes: m.bytes)
                    c.craft(&f)
                    f.fixManifestChecksum()
                    ByteSurgery.write(sample.path + "/" + m.name, f.bytes)
                }
            }
            let label = "\(target): \(c.name)"
            let result = StoreSweep.check(sample, allowed: [sample.expected], label: label, strict: false)
            _ = try? Recoverer.run(path: sample.path, dryRun: true, salvage: false, options: testOptions())
            _ = try? Inspector.inspect(store: sample.path)
            if let file, target != .wal { _ = try? Inspector.inspectSegment(store: sample.path, file: file) }
            switch c.expect {
            case .typedError: #expect(result.typedError, "\(label): no read failed")
            case .rightValues: #expect(!result.typedError && result.wrongValues == 0, "\(label): the reads are not right")
            case .noCrash: break
            case .foundByVerify: #expect(result.typedError || result.verifyFoundDamage, "\(label): neither a read nor verify found it")
            }
            if result.typedError { typed += 1 } else if result.wrongValues == 0 { right += 1 } else { other += 1 }
        }
        print("crafted stores: \(target): \(cases.count) cases: \(typed) typed errors, \(right) right values, \(other) other values")
    }

    /// Rewrites both manifests' entries for the segment so they agree with its crafted header
    /// and length (codec, LSNs, record count, file length), checksums recomputed.
    static func agree(_ manifests: [(name: String, bytes: [UInt8])], withSegment s: CraftedFile, in sample: SampleStore) {
        for m in manifests {
            var f = CraftedFile(bytes: m.bytes)
            guard let at = f.manifestEntry(id: s.u64(24)) else { continue }
            f.set8(at + 12, UInt64(s.u8(36)))
            f.set64(at + 16, s.u64(40))
            f.set64(at + 24, s.u64(48))
            f.set64(at + 32, s.u64(56))
            f.set64(at + 40, UInt64(s.bytes.count))
            f.fixManifestChecksum()
            ByteSurgery.write(sample.path + "/" + m.name, f.bytes)
        }
    }
}
