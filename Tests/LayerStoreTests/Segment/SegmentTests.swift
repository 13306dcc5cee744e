import Foundation
import Testing
@testable import LayerStore

@Suite struct SegmentTests {
    static let storeID: UInt64 = 42

    struct Version { var lsn: LSN; var value: [UInt8]?; }

    /// Random keys, each with 1-3 versions (some tombstones), values from empty to 5 KiB.
    static func model(seed: UInt64, keys: Int) -> [[UInt8]: [Version]] {
        var rng = SeededRandom(seed: seed)
        var model: [[UInt8]: [Version]] = [:]
        var lsn: LSN = 100
        for _ in 0..<(keys * 2) {
            let key = (0..<Int.random(in: 1...12, using: &rng)).map { _ in UInt8.random(in: 0...5, using: &rng) }
            let isDelete = Int.random(in: 0..<8, using: &rng) == 0
            let size = Int.random(in: 0..<8, using: &rng) == 0 ? Int.random(in: 0...5000, using: &rng) : Int.random(in: 0...40, using: &rng)
            model[key, default: []].append(Version(lsn: lsn, value: isDelete ? nil : (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }))
            lsn += 1
        }
        return model
    }

    static func build(_ model: [[UInt8]: [Version]], id: UInt64 = 7, blockSize: Int = 512, codec: UInt8 = SegmentFormat.codecNone,
                      hashIndex: Bool = true, compact: Bool = true) throws -> [UInt8] {
        let keys = model.keys.sorted { a, b in a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareKeys(x, y) < 0 } } }
        let minLSN = model.values.flatMap { $0 }.map(\.lsn).min()!
        var builder = SegmentBuilder(storeID: storeID, segmentID: id, version: 1, dimension: "dim", baseLSN: minLSN, blockByteCountTarget: blockSize,
                                     codec: codec, hashIndex: hashIndex, compact: compact)
        for key in keys {
            for v in model[key]!.sorted(by: { $0.lsn > $1.lsn }) {
                try key.withUnsafeBytes { k in
                    try (v.value ?? []).withUnsafeBytes { val in
                        try builder.add(key: k, lsn: v.lsn, isDelete: v.value == nil, value: val)
                    }
                }
            }
        }
        return builder.finish(newestRecordTime: 1).array
    }

    static func open(_ path: String, id: UInt64 = 7, verification: BlockVerification = .firstRead, cache: BlockCache? = nil) throws -> Segment {
        try Segment(io: SystemFileIO(), path: path, storeID: storeID, id: id, version: 1, listed: nil,
                    manager: MmapManager(), verification: verification, cache: cache)
    }

    /// What a point read returns: `.some(nil)` for a tombstone, `nil` for no visible version.
    static func find(_ s: Segment, _ key: [UInt8], lsn: LSN = .max) throws -> [UInt8]?? {
        try key.withUnsafeBytes { k in
            guard let (r, owner) = try s.find(k, snapshotLSN: lsn) else { return nil }
            // The record's bytes live as long as their owner (a decoded LZ4 block may be evicted).
            return withExtendedLifetime(owner) { .some(r.isDelete ? nil : [UInt8](r.value)) }
        }
    }

    /// (seed, codec, hash index, compact): seeds 1–5 are format version 3 (compact blocks),
    /// 11–13 version 1, 6–8 version 2 (no hash index, chained LSNs).
    static let modelCases: [(UInt64, UInt8, Bool, Bool)] = [
        (1, SegmentFormat.codecNone, true, true), (2, SegmentFormat.codecNone, true, true), (3, SegmentFormat.codecNone, true, true),
        (4, SegmentFormat.codecLZ4, true, true), (5, SegmentFormat.codecLZ4, true, true),
        (11, SegmentFormat.codecNone, true, false), (12, SegmentFormat.codecNone, true, false), (13, SegmentFormat.codecLZ4, true, false),
        (6, SegmentFormat.codecNone, false, false), (7, SegmentFormat.codecLZ4, false, false), (8, SegmentFormat.codecLZ4, false, false),
    ]

    @Test(arguments: modelCases)
    func pointReadsAndScansMatchTheModel(seed: UInt64, codec: UInt8, hashIndex: Bool, compact: Bool) throws {
        let dir = TemporaryDirectory()
        let model = Self.model(seed: seed, keys: 400)
        let path = dir.child(SegmentName.fileName(id: 7, version: 1))
        ByteSurgery.write(path, try Self.build(model, codec: codec, hashIndex: hashIndex, compact: compact))
        let segment = try Self.open(path, cache: seed == 5 || seed == 8 ? BlockCache(byteCountMax: 4096) : nil)
        #expect(segment.header.codec == codec)
        #expect(segment.header.hasHashIndex == hashIndex)
        #expect(segment.header.formatVersion == (!hashIndex ? 2 : compact ? 3 : 1))
        #expect(Int(segment.header.keyCount) == model.count)
        #expect(Int(segment.header.recordCount) == model.values.map(\.count).reduce(0, +))
        for (key, versions) in model {
            let newest = versions.max(by: { $0.lsn < $1.lsn })!
            #expect(try Self.find(segment, key) == .some(newest.value))
            // As of an LSN between versions, the older version is visible.
            let sorted = versions.sorted { $0.lsn < $1.lsn }
            if sorted.count >= 2 {
                #expect(try Self.find(segment, key, lsn: sorted[1].lsn - 1) == .some(sorted[0].value))
            }
            #expect(try Self.find(segment, key, lsn: sorted[0].lsn - 1) == nil)
        }
        #expect(try Self.find(segment, [9, 9, 9, 9]) == nil)
        // A full scan sees every record in order, newest first per key.
        var cursor = try [UInt8]().withUnsafeBytes { try SegmentCursor(segment: segment, from: $0) }
        var seen: [([UInt8], LSN)] = []
        while let r = try cursor.next() { seen.append((r.key.array, r.lsn)) }
        #expect(seen.count == Int(segment.header.recordCount))
        for (a, b) in zip(seen, seen.dropFirst()) {
            let order = a.0.withUnsafeBytes { x in b.0.withUnsafeBytes { y in compareKeys(x, y) } }
            #expect(order < 0 || (order == 0 && a.1 > b.1))
        }
        // Exactly the model's records: every LSN decoded, whatever its coding.
        let expected = seen.map(\.0).reduce(into: [[UInt8]]()) { keys, k in if keys.last != k { keys.append(k) } }
            .flatMap { k in model[k]!.map(\.lsn).sorted(by: >).map { (k, $0) } }
        #expect(seen.map(\.0) == expected.map(\.0) && seen.map(\.1) == expected.map(\.1))
        #expect(Set(seen.map(\.0)) == Set(model.keys))
        // Seek lands on the first key >= the target, mid-block too, and walks on from there with
        // the right LSNs (a version 2 seek carries the LSN before its record).
        for (i, key) in model.keys.prefix(50).enumerated() {
            var c = try key.withUnsafeBytes { try SegmentCursor(segment: segment, from: $0) }
            let start = try #require(seen.firstIndex { $0.0 == key })
            var rest: [([UInt8], LSN)] = []
            while rest.count < (i % 5 == 0 ? 40 : 3), let r = try c.next() { rest.append((r.key.array, r.lsn)) }
            let want = seen[start..<min(seen.count, start + rest.count)]
            #expect(rest.first?.0 == key)
            #expect(rest.map(\.0) == want.map(\.0) && rest.map(\.1) == want.map(\.1), "seek to a key of seed \(seed)")
        }
    }

    @Test func damageInEveryPartIsATypedErrorNeverAWrongValue() throws {
        let dir = TemporaryDirectory()
        let model = Self.model(seed: 9, keys: 60)
        let bytes = try Self.build(model)
        let path = dir.child(SegmentName.fileName(id: 7, version: 1))
        ByteSurgery.write(path, bytes)
        let header = try Self.open(path).header
        // One offset in each part: header fields, first block, a middle block, block table,
        // key heap, hash index, footer.
        let offsets = [0, 9, 20, 40, 60, 90, 130, 250, 256, 300, Int(header.blockTableOffset) / 2,
                       Int(header.blockTableOffset) + 3, Int(header.hashOffset) - 2, Int(header.hashOffset) + 5,
                       Int(header.footerOffset) + 1, Int(header.footerOffset) + 60]
        for offset in offsets {
            var damaged = bytes
            damaged[offset] ^= 0x40
            ByteSurgery.write(path, damaged)
            let segment: Segment
            do { segment = try Self.open(path, verification: .everyRead) } catch let e as StoreError {
                #expect(e.code == .corrupted, "offset \(offset)"); continue
            }
            var errors = 0
            for (key, versions) in model {
                do {
                    let got = try Self.find(segment, key)
                    #expect(got == .some(versions.max(by: { $0.lsn < $1.lsn })!.value), "wrong value with damage at \(offset)")
                } catch let e as StoreError {
                    #expect(e.code == .corrupted)
                    #expect(e.path == path)
                    #expect(e.offset != nil)
                    errors += 1
                }
            }
            #expect(errors > 0, "damage at \(offset) went unnoticed")
        }
    }

    @Test func lz4BlocksAreSmallerAndDamageIsCaughtBeforeDecompression() throws {
        var model: [[UInt8]: [Version]] = [:]
        for i in 0..<200 { model[Array("key-\(i)".utf8)] = [Version(lsn: LSN(10 + i), value: Array(String(repeating: "abc\(i % 7)", count: 50).utf8))] }
        let raw = try Self.build(model, blockSize: 4096)
        let cold = try Self.build(model, blockSize: 4096, codec: SegmentFormat.codecLZ4)
        #expect(cold.count * 3 < raw.count)
        let dir = TemporaryDirectory()
        let path = dir.child("c.seg")
        ByteSurgery.write(path, cold)
        let cache = BlockCache(byteCountMax: 1 << 20)
        let segment = try Self.open(path, verification: .everyRead, cache: cache)
        for (key, versions) in model { #expect(try Self.find(segment, key) == .some(versions[0].value)) }
        #expect(cache.statistics.hits > 0)
        // Damage inside a compressed block: a checksum error naming the block's stored offset.
        var damaged = cold
        damaged[SegmentFormat.headerByteCount + 20] ^= 0x08
        ByteSurgery.write(path, damaged)
        let broken = try Self.open(path, verification: .everyRead)
        do { _ = try broken.block(0); Issue.record("damaged LZ4 block accepted") } catch let e {
            #expect(e.code == .corrupted)
            #expect(e.offset == UInt64(SegmentFormat.headerByteCount))
        }
        // A crafted block whose checksum holds but whose LZ4 is malformed: a typed error too.
        var crafted = cold
        let entry = try segment.blockEntry(0)
        for i in entry.offset..<(entry.offset + entry.length) { crafted[i] = 0xFF }
        let seed = SegmentFormat.fileSeed(storeID: Self.storeID, segmentID: 7, version: 1)
        let tableSum = crafted.withUnsafeBytes { Checksum.xxh3(UnsafeRawBufferPointer(rebasing: $0[entry.offset..<(entry.offset + entry.length)]), seed: seed ^ UInt64(entry.offset)) }
        func put(_ v: UInt64, at offset: Int) { withUnsafeBytes(of: v.littleEndian) { for k in 0..<8 { crafted[offset + k] = $0[k] } } }
        let h = segment.header
        put(tableSum, at: Int(h.blockTableOffset) + 16)
        // Re-seal the block table's section checksum and the footer, as a crafter would.
        let indexSum = crafted.withUnsafeBytes { Checksum.xxh3(UnsafeRawBufferPointer(rebasing: $0[Int(h.blockTableOffset)..<Int(h.hashOffset)]), seed: seed ^ h.blockTableOffset) }
        put(indexSum, at: Int(h.footerOffset) + 24)
        let footerSum = crafted.withUnsafeBytes { Checksum.xxh3(UnsafeRawBufferPointer(rebasing: $0[Int(h.footerOffset)..<(Int(h.footerOffset) + 56)]), seed: seed ^ h.footerOffset) }
        put(footerSum, at: Int(h.footerOffset) + 56)
        ByteSurgery.write(path, crafted)
        let craftedSegment = try Self.open(path, verification: .everyRead)
        do { _ = try craftedSegment.block(0); Issue.record("malformed LZ4 accepted") } catch let e {
            #expect(e.message.contains("decompress"), "\(e)")
        }
    }

    @Test func aSegmentUnderAnotherNameOrStoreFailsItsHeaderCheck() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("x.seg")
        ByteSurgery.write(path, try Self.build(Self.model(seed: 4, keys: 10), id: 7))
        #expect(throws: StoreError.self) { _ = try Self.open(path, id: 8) }
        #expect(throws: StoreError.self) {
            _ = try Segment(io: SystemFileIO(), path: path, storeID: 43, id: 7, version: 1, listed: nil,
                            manager: MmapManager(), verification: .firstRead)
        }
        // Truncated or extended files are refused at open.
        let full = ByteSurgery.read(path)
        ByteSurgery.write(path, Array(full.dropLast(1)))
        #expect(throws: StoreError.self) { _ = try Self.open(path) }
        ByteSurgery.write(path, full + [0])
        #expect(throws: StoreError.self) { _ = try Self.open(path) }
        ByteSurgery.write(path, Array(full.prefix(100)))
        #expect(throws: StoreError.self) { _ = try Self.open(path) }
    }

    @Test func aBlockMovedToAnotherOffsetFailsItsChecksum() throws {
        // Two blocks of equal size swapped: each block's bytes are intact but at the other's offset.
        var model: [[UInt8]: [Version]] = [:]
        for i in 0..<4 { model[[UInt8(i)]] = [Version(lsn: LSN(10 + i), value: [UInt8](repeating: UInt8(i), count: 600))] }
        let dir = TemporaryDirectory()
        var bytes = try Self.build(model, blockSize: 700)
        let path = dir.child("s.seg")
        ByteSurgery.write(path, bytes)
        let size = (try Self.open(path).block(0)).bytes.count
        let a = SegmentFormat.headerByteCount, b = a + size
        let first = Array(bytes[a..<b])
        bytes.replaceSubrange(a..<b, with: bytes[b..<(b + size)])
        bytes.replaceSubrange(b..<(b + size), with: first)
        ByteSurgery.write(path, bytes)
        let segment = try Self.open(path)
        #expect(throws: StoreError.self) { _ = try segment.block(0) }
        #expect(throws: StoreError.self) { _ = try segment.block(1) }
        #expect(try Self.find(segment, [3]) == .some([UInt8](repeating: 3, count: 600)))
    }

    @Test func seekFindsTheNewestVersionWhenVersionsStraddleBlocks() throws {
        // "b" has five 300-byte versions in 512-byte blocks: its newest versions end the block
        // that starts with "a", and later blocks start with "b" itself.
        var model: [[UInt8]: [Version]] = [[UInt8(ascii: "a")]: [Version(lsn: 1, value: [1])]]
        model[[UInt8(ascii: "b")]] = (2...6).map { Version(lsn: LSN($0), value: [UInt8](repeating: UInt8($0), count: 300)) }
        model[[UInt8(ascii: "c")]] = [Version(lsn: 7, value: [7])]
        let dir = TemporaryDirectory()
        let path = dir.child("s.seg")
        ByteSurgery.write(path, try Self.build(model, blockSize: 512))
        let segment = try Self.open(path)
        #expect(segment.header.blockCount >= 3)
        var cursor = try [UInt8(ascii: "b")].withUnsafeBytes { try SegmentCursor(segment: segment, from: $0) }
        let first = try #require(try cursor.next())
        #expect(first.lsn == 6)
        #expect(first.key.array == [UInt8(ascii: "b")])
        // Through the store's scan too: the newest version wins.
        let store = try Store(path: dir.child("store"), options: testOptions { $0.blockByteCountTarget = 512 })
        for v in 2...6 { try store.put([UInt8](repeating: UInt8(v), count: 300), forKey: [UInt8(ascii: "b")], in: "d") }
        try store.put([1], forKey: [UInt8(ascii: "a")], in: "d")
        try store.flush()
        #expect(try store.snapshot().records(in: "d", prefix: [UInt8(ascii: "b")]).map(\.value) == [[UInt8](repeating: 6, count: 300)])
    }

    @Test func segmentNamesRoundTrip() {
        let name = SegmentName.fileName(id: 0x2A, version: 3)
        #expect(name == "000000000000002a-00000003.seg")
        #expect(SegmentName.parse(name)! == (0x2A, 3))
        #expect(SegmentName.parse("000000000000002a-00000003.seg.tmp") == nil)
        #expect(SegmentName.parse("zz00000000000000-00000003.seg") == nil)
        #expect(SegmentName.parse("000000000000002A-00000003.seg") == nil)
    }
}
