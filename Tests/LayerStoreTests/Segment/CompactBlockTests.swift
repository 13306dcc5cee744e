import Testing
@testable import LayerStore

/// Format version 3 (Formats/segment.md § Compact blocks): the fast and the generic decoder
/// agree at every offset of every block, a block's head is checked before any record is
/// trusted, keys in two parts compare as their bytes do, and the small profile's records take
/// what the format promises.
@Suite struct CompactBlockTests {
    /// A compact segment of keys of several lengths and shared prefixes, small and large values,
    /// tombstones, several versions of some keys, and LSN gaps of one to four varint bytes.
    static func sample(_ dir: TemporaryDirectory, blockSize: Int = 4096, codec: UInt8 = SegmentFormat.codecNone) throws -> (Segment, [[UInt8]: [SegmentTests.Version]]) {
        var model: [[UInt8]: [SegmentTests.Version]] = [:]
        var rng = SeededRandom(seed: 303)
        var lsn: LSN = 1
        for i in 0..<700 {
            let key = i % 3 == 0 ? Array("user/\(i)".utf8) : Array("user/\(String(format: "%06d", i))/name".utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let size = i % 40 == 0 ? Int.random(in: 500...9_000, using: &rng) : (i % 2 == 0 ? 100 : Int.random(in: 0...150, using: &rng))
                let isDelete = Int.random(in: 0..<8, using: &rng) == 0
                model[key, default: []].append(SegmentTests.Version(lsn: lsn, value: isDelete ? nil : (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }))
                lsn += LSN(Int.random(in: 1...9000, using: &rng))
            }
        }
        let bytes = try SegmentTests.build(model, blockSize: blockSize, codec: codec)
        let path = dir.child(SegmentName.fileName(id: 7, version: 1))
        ByteSurgery.write(path, bytes)
        return (try SegmentTests.open(path), model)
    }

    @Test func theFastDecoderAgreesWithTheGenericOneAtEveryOffset() throws {
        let dir = TemporaryDirectory()
        let (segment, _) = try Self.sample(dir)
        #expect(segment.header.formatVersion == 3 && segment.layout.isCompact)
        let decoder = RecordDecoder(segment.layout)
        var fast = 0, starts = 0
        for i in 0..<Int(segment.layout.blockCount) {
            let view = try segment.block(i)
            #expect(view.head.isCompact && view.head.recordsStart >= 3)
            for offset in view.head.recordsStart..<view.bytes.count {
                let reference = Result { () throws(StoreError) in
                    try segment.record(in: view.bytes, at: offset, blockIndex: i, previousLSN: segment.layout.minLSN, head: view.head)
                }
                guard let (record, next) = decoder.decodeCompact(view.bytes, at: offset, head: view.head) else { continue }
                fast += 1
                RecordDecoderTests.expectSame((record, next), as: reference, "block \(i) @\(offset)")
            }
            // Every record of the block, walked from its head.
            var records = BlockRecords(bytes: view.bytes, blockIndex: i, decoder: decoder, offset: 0, previousLSN: segment.layout.minLSN, head: view.head)
            while try records.next(in: segment) != nil { starts += 1 }
        }
        #expect(starts == Int(segment.layout.recordCount))
        #expect(fast >= starts / 2)
    }

    @Test(arguments: [SegmentFormat.codecNone, SegmentFormat.codecLZ4])
    func everyVersionIsFoundByProbeAndEveryKeyInOrderByScan(codec: UInt8) throws {
        let dir = TemporaryDirectory()
        let (segment, model) = try Self.sample(dir, blockSize: 1024, codec: codec)
        #expect(segment.header.blockCount > 50)
        for (key, versions) in model {
            for v in versions {
                let found = try key.withUnsafeBytes { try segment.find($0, snapshotLSN: v.lsn) }
                let f = try #require(found, "\(key) at \(v.lsn)")
                withExtendedLifetime(f.owner) {
                    #expect(f.record.lsn == v.lsn && f.record.isDelete == (v.value == nil))
                    if let value = v.value { #expect([UInt8](f.record.value) == value) }
                    #expect(f.record.key.array == key)
                }
                // The point read's answer is find's, by the search (first lookups) or the probe.
                let hit = try #require(try key.withUnsafeBytes { try segment.pointRead($0, snapshotLSN: v.lsn) })
                withExtendedLifetime(hit.owner) {
                    #expect(hit.isDelete == (v.value == nil) && (v.value == nil || [UInt8](hit.value) == v.value!))
                }
            }
            #expect(try key.withUnsafeBytes { try segment.find($0, snapshotLSN: versions.map(\.lsn).min()! - 1) } == nil)
            #expect(try key.withUnsafeBytes { try segment.pointRead($0, snapshotLSN: versions.map(\.lsn).min()! - 1) } == nil)
        }
        for absent in ["user/", "user/1x", "user/000001/nam", "user/000001/namf", "zzz", "a"] {
            #expect(try Array(absent.utf8).withUnsafeBytes { try segment.find($0, snapshotLSN: .max) } == nil, "\(absent)")
        }
        // Seeks land on the first key at or after the target, mid-block too.
        let sorted = model.keys.sorted { a, b in a.lexicographicallyPrecedes(b) }
        for (i, key) in sorted.enumerated() where i % 17 == 0 {
            var probe = key
            probe[probe.count - 1] &+= 1
            var cursor = try probe.withUnsafeBytes { try SegmentCursor(segment: segment, from: $0) }
            let next = try cursor.next()
            let want = sorted.first { !$0.lexicographicallyPrecedes(probe) }
            #expect(next?.key.array == want, "seek \(probe)")
        }
    }

    /// The block head's bounds, each violated alone (the generic reader: `BlockHead.decode`).
    @Test func aMalformedHeadIsRefused() {
        let prefix: [UInt8] = Array("user/".utf8)
        func head(_ bytes: [UInt8], lsnDeltaMax: UInt64 = 1000) -> BlockHead? {
            prefix.withUnsafeBytes { p in bytes.withUnsafeBytes { BlockHead.decode($0, prefix: p, minLSN: 10, lsnDeltaMax: lsnDeltaMax) } }
        }
        let good = head([5, 16, 101])
        #expect(good?.baseLSN == 15 && good?.keyLength == 16 && good?.valueLength == 100 && good?.recordsStart == 3)
        #expect(head([0, 0, 0])?.valueLength == -1)
        #expect(head([0xE8, 0x07, 0, 0])?.baseLSN == 1010)  // lsnBase 1000 = lsnDeltaMax
        #expect(head([0xE9, 0x07, 0, 0]) == nil)  // 1001: past maxLSN
        #expect(head([0, 4, 0]) == nil)  // keys shorter than the prefix
        #expect(head([0, 5, 0]) != nil)  // keys that are the prefix
        #expect(head([0, 0x81, 0x20, 0]) == nil)  // 4097
        #expect(head([0, 0, 0x82, 0x80, 0x80, 0x08]) == nil)  // a value of 16 MiB + 1
        #expect(head([0, 0, 0x81, 0x80, 0x80, 0x08]) != nil)  // 16 MiB
        #expect(head([0, 16]) == nil)  // runs off the block
        #expect(head([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0, 0], lsnDeltaMax: .max) == nil)  // an 11-byte varint
    }

    @Test func keysInTwoPartsCompareAsTheirBytes() {
        var rng = SeededRandom(seed: 5)
        let alphabet: [UInt8] = [0, 1, 0x61, 0x62, 0xFF]
        for _ in 0..<3_000 {
            let a = (0..<Int.random(in: 1...20, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let b = Int.random(in: 0..<4, using: &rng) == 0 ? a : (0..<Int.random(in: 1...20, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let split = (Int.random(in: 0...a.count, using: &rng), Int.random(in: 0...b.count, using: &rng))
            let byteOrder = a.lexicographicallyPrecedes(b) ? -1 : (a == b ? 0 : 1)
            a.withUnsafeBytes { x in
                b.withUnsafeBytes { y in
                    let ka = SegmentKey(prefix: UnsafeRawBufferPointer(rebasing: x[..<split.0]), suffix: UnsafeRawBufferPointer(rebasing: x[split.0...]))
                    let kb = SegmentKey(prefix: UnsafeRawBufferPointer(rebasing: y[..<split.1]), suffix: UnsafeRawBufferPointer(rebasing: y[split.1...]))
                    #expect(compareKeys(ka, kb).signum() == byteOrder, "\(a) \(b) \(split)")
                    #expect(compareKeys(ka, y).signum() == byteOrder)
                    #expect(keysEqual(ka, kb) == (byteOrder == 0) && keysEqual(ka, y) == (byteOrder == 0))
                    let p = Int.random(in: 0...b.count, using: &rng)
                    #expect(keyHasPrefix(ka, UnsafeRawBufferPointer(rebasing: y[..<p])) == a.starts(with: b[..<p]))
                    KeyScratch.with { scratch in
                        #expect(Array(ka.joined(in: scratch)) == a)
                        // A joiner made with the key's prefix (the general join: no head).
                        let joiner = KeyJoiner(prefix: ka.prefix, scratch: scratch, head: .plain(minLSN: 1))
                        #expect(Array(joiner.join(ka)) == a)
                    }
                    #expect(ka.array == a)
                }
            }
        }
    }

    /// A block's head comes back from the span table as it was stored, and only once stored
    /// and the table built; a head whose fields do not fit the table's bits is not stored (it
    /// is decoded at each read).
    @Test func blockHeadsAreKeptAsDecoded() throws {
        let table = BlockSpanTable(count: 3)
        let prefix: [UInt8] = Array("user/0001".utf8)
        try prefix.withUnsafeBytes { p in
            let head = BlockHead(prefix: p, baseLSN: 100 + (1 << 40), keyLength: 16, valueLength: 100, recordsStart: 9, isCompact: true)
            table.storeHead(1, head, minLSN: 100)
            #expect(table.head(1, minLSN: 100) == nil, "not built: nothing kept")
            table.build { i in (256 + i * 1000, 1000) }
            #expect(table.span(2)! == (2256, 1000))
            #expect(table.head(0, minLSN: 100) == nil && table.head(3, minLSN: 100) == nil && table.head(-1, minLSN: 100) == nil)
            table.storeHead(1, head, minLSN: 100)
            let back = try #require(table.head(1, minLSN: 100))
            #expect(back.prefix.baseAddress == p.baseAddress && back.prefix.count == p.count && back.baseLSN == head.baseLSN)
            #expect(back.keyLength == 16 && back.valueLength == 100 && back.recordsStart == 9 && back.isCompact)
            #expect(table.span(1)! == (1256, 1000), "the span beside it is untouched")
            table.storeHead(2, BlockHead(prefix: p, baseLSN: 100, keyLength: 0, valueLength: -1, recordsStart: 3, isCompact: true), minLSN: 100)
            #expect(table.head(2, minLSN: 100)?.valueLength == -1 && table.head(2, minLSN: 100)?.keyLength == 0)
            // A value length of 16 MiB needs 25 bits with the +1: it fits; a head below minLSN does not.
            table.storeHead(0, BlockHead(prefix: p, baseLSN: 99, keyLength: 16, valueLength: 1 << 24, recordsStart: 3, isCompact: true), minLSN: 100)
            #expect(table.head(0, minLSN: 100) == nil)
            table.storeHead(0, BlockHead(prefix: p, baseLSN: 100, keyLength: 16, valueLength: 1 << 24, recordsStart: 3, isCompact: true), minLSN: 100)
            #expect(table.head(0, minLSN: 100)?.valueLength == 1 << 24)
            // A head is stored once: a later store (another thread's decode) changes nothing.
            table.storeHead(1, BlockHead(prefix: p, baseLSN: 200, keyLength: 12, valueLength: 7, recordsStart: 4, isCompact: true), minLSN: 100)
            #expect(table.head(1, minLSN: 100)?.baseLSN == head.baseLSN && table.head(1, minLSN: 100)?.keyLength == 16)
        }
        // Entries lie on 32-byte boundaries: a head and its span never straddle two cache lines.
        let aligned = BlockSpanTable(count: 5)
        aligned.build { i in (256 + i * 1000, 1000) }
        prefix.withUnsafeBytes { p in
            for i in 0..<5 {
                aligned.storeHead(i, BlockHead(prefix: p, baseLSN: 5, keyLength: 16, valueLength: 1, recordsStart: 3, isCompact: true), minLSN: 1)
                #expect(aligned.head(i, minLSN: 1)?.baseLSN == 5 && aligned.span(i)! == (256 + i * 1000, 1000))
            }
        }
        #expect(aligned.entryAddress(0).map { $0 % 32 } == 0)
    }

    @Test func slotLayoutsHoldTheirFields() {
        let narrow = HashSlotLayout(compactBlockBits: 11, offsetBits: 14)!
        #expect(narrow.byteCount == 4 && narrow.tagBits == 7)
        let wide = HashSlotLayout(compactBlockBits: 20, offsetBits: 20)!
        #expect(wide.byteCount == 8 && wide.tagBits == 24)
        #expect(HashSlotLayout(compactBlockBits: 14, offsetBits: 14)!.byteCount == 4)  // a 4-bit tag, the fewest
        #expect(HashSlotLayout(compactBlockBits: 14, offsetBits: 15)!.byteCount == 8)
        #expect(HashSlotLayout(compactBlockBits: 21, offsetBits: 1) == nil && HashSlotLayout(compactBlockBits: 0, offsetBits: 0) == nil
                && HashSlotLayout(compactBlockBits: 0, offsetBits: 21) == nil)
        for layout in [narrow, wide, HashSlotLayout(compactBlockBits: 0, offsetBits: 1)!, HashSlotLayout.wide] {
            for hash: UInt64 in [0, 1, .max, 0xA921_E370_4FDA_881D] {
                let block = (1 << layout.blockBits) - 1, offset = (1 << layout.offsetBits) - 1
                let slot = layout.slot(hash: hash, block: block, offset: offset)
                #expect(slot >> UInt64(layout.byteCount * 8 - 1) == 1, "a used slot's top bit is set")
                #expect(layout.block(ofSlot: slot) == block && layout.offset(ofSlot: slot) == offset && layout.tag(ofSlot: slot) == layout.tag(hash))
            }
        }
        // Version 1's layout is the one its spec gives: tag << 40 | block << 20 | offset.
        #expect(HashSlotLayout.wide.slot(hash: 0xA921_E370_4FDA_881D, block: 0, offset: 0) == 0xDA88_1D00_0000_0000)
    }

    /// A block of one key length and values of 8 bytes or more joins each put's key as one
    /// word (`KeyJoiner.joinPut`); a block of varied lengths joins them in general. Both give
    /// every key of every block, tombstones aside.
    @Test func scansJoinEveryKeyOfABlock() throws {
        for fixed in [true, false] {
            var model: [[UInt8]: [SegmentTests.Version]] = [:]
            for i in 0..<600 {
                let key = fixed ? Array(String(format: "row/%08d", i * 7).utf8) : Array("row/\(i * 7)".utf8)
                model[key] = [SegmentTests.Version(lsn: LSN(i + 1), value: i % 9 == 4 ? nil : [UInt8](repeating: UInt8(i % 251), count: fixed ? 12 : 8 + i % 5))]
            }
            let dir = TemporaryDirectory()
            let path = dir.child(SegmentName.fileName(id: 7, version: 1))
            ByteSurgery.write(path, try SegmentTests.build(model, blockSize: 1024))
            let segment = try SegmentTests.open(path)
            var joined: [[UInt8]] = []
            var cursor = try [UInt8]().withUnsafeBytes { try SegmentCursor(segment: segment, from: $0) }
            try KeyScratch.with { (scratch) throws(StoreError) in
                while var records = try cursor.nextBlock() {
                    #expect(records.head.isCompact && (records.head.keyLength > 0) == fixed)
                    let joiner = KeyJoiner(prefix: records.head.prefix, scratch: scratch, head: records.head)
                    while let record = try records.next(in: segment) {
                        if !record.isDelete { joined.append(Array(joiner.joinPut(record.key))) }
                    }
                }
            }
            let puts = model.filter { $0.value[0].value != nil }.keys.sorted { $0.lexicographicallyPrecedes($1) }
            #expect(joined == puts, "fixed: \(fixed)")
        }
    }

    /// The workload's small profile (16-byte keys: a dimension id, 4 zero bytes, a record
    /// number; 100-byte values; loaded in key order): what the format promises, about 1.09
    /// bytes on disk per byte of value.
    @Test func smallRecordsTakeAboutTheirValue() throws {
        var builder = SegmentBuilder(storeID: 1, segmentID: 1, version: 1, dimension: "d", baseLSN: 1, blockByteCountTarget: 16 << 10)
        let count = 50_000
        var value = [UInt8](repeating: 0, count: 100)
        for n in 0..<count {
            var key = [UInt8](repeating: 0, count: 16)
            key[3] = 7
            for i in 0..<8 { key[8 + i] = UInt8(truncatingIfNeeded: UInt64(n) >> (56 - 8 * UInt64(i))) }
            value[0] = UInt8(truncatingIfNeeded: n)
            try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try builder.add(key: k, lsn: LSN(n + 1), isDelete: false, value: v) } }
        }
        let file = builder.finish(newestRecordTime: 0)
        let ratio = Double(file.count) / Double(count * 100)
        #expect(ratio < 1.1 && ratio > 1.0, "\(ratio)")
    }
}
