import Testing
@testable import LayerStore

@Suite struct CodecTests {
    @Test func fixedWidthFieldsRoundTripLittleEndian() {
        var w = ByteWriter()
        w.u8(0xAB); w.u16(0x1234); w.u32(0xDEAD_BEEF); w.u64(0x0102_0304_0506_0708)
        #expect(w.bytes == [0xAB, 0x34, 0x12, 0xEF, 0xBE, 0xAD, 0xDE, 8, 7, 6, 5, 4, 3, 2, 1])
        w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.u8() == 0xAB)
            #expect(r.u16() == 0x1234)
            #expect(r.u32() == 0xDEAD_BEEF)
            #expect(r.u64() == 0x0102_0304_0506_0708)
            #expect(r.u8() == nil)
            #expect(r.remaining == 0)
        }
    }

    @Test(arguments: [UInt64(0), 1, 127, 128, 300, 16383, 16384, UInt64(UInt32.max), UInt64.max - 1, UInt64.max])
    func varintsRoundTrip(_ v: UInt64) {
        var w = ByteWriter()
        w.varint(v)
        #expect(w.count == varintByteCount(v))
        w.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.varint() == v)
            #expect(r.remaining == 0)
        }
    }

    @Test func malformedVarintsAreRejectedNotMisread() {
        // Runs past the end.
        [UInt8]([0x80, 0x80]).withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.varint() == nil)
        }
        // Eleven bytes: longer than any UInt64.
        [UInt8](repeating: 0xFF, count: 10).withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.varint() == nil)
        }
        // Ten bytes whose last carries bits beyond 64.
        ([UInt8](repeating: 0xFF, count: 9) + [0x02]).withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.varint() == nil)
        }
    }

    @Test func readerNeverReadsPastItsBuffer() {
        [UInt8]([1, 2, 3]).withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(r.u32() == nil)
            #expect(r.bytes(4) == nil)
            #expect(r.bytes(-1) == nil)
            #expect(r.skip(4) == false)
            #expect(r.bytes(3)?.count == 3)
            #expect(ByteReader.u64(raw, at: 0) == nil)
            #expect(ByteReader.u32(raw, at: -1) == nil)
        }
    }

    @Test func keysCompareBytewiseShorterFirst() {
        func cmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
            a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareKeys(x, y) } }
        }
        #expect(cmp([1], [2]) < 0)
        #expect(cmp([1, 0], [1]) > 0)
        #expect(cmp([0xFF], [0x00, 0x01]) > 0)
        #expect(cmp([5, 5], [5, 5]) == 0)
        // Every length the word-wise paths take (short, whole words, an overlapping last word,
        // over 64 bytes to memcmp), with the first difference at every position: the sign is
        // that of the byte-wise order.
        for length in [1, 7, 8, 9, 15, 16, 17, 24, 31, 64, 65, 100] {
            let base = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            for position in 0..<length {
                for delta in [1, 0x80] as [Int] {
                    var other = base
                    other[position] = UInt8(truncatingIfNeeded: Int(base[position]) + delta)
                    let expected = base.lexicographicallyPrecedes(other) ? -1 : 1
                    #expect(cmp(base, other).signum() == expected, "length \(length), position \(position)")
                    #expect(cmp(other, base).signum() == -expected)
                }
            }
            #expect(cmp(base, base) == 0)
            #expect(cmp(base, base + [0]) < 0)
            #expect(cmp(base + [0], base) > 0)
        }
    }

    @Test func xxh3MatchesTheReferenceValue() {
        // XXH3_64bits of the empty input with seed 0 is 0x2D06800538D394C2 (xxHash's test vectors).
        #expect(Checksum.xxh3([], seed: 0) == 0x2D06_8005_38D3_94C2)
        #expect(Checksum.xxh3(Array("abc".utf8), seed: 0) != Checksum.xxh3(Array("abc".utf8), seed: 1))
    }

    @Test func fileNamesSpellIdsAndVersionsInZeroPaddedLowercaseHex() {
        #expect(hex16(0) == "0000000000000000")
        #expect(hex16(0xABCDEF) == "0000000000abcdef")
        #expect(hex16(.max) == "ffffffffffffffff")
        #expect(zeroPaddedHex(0x1F, digits: 8) == "0000001f")
        #expect(SegmentName.fileName(id: 0x12, version: 0xA) == "0000000000000012-0000000a.seg")
        #expect(SegmentName.fileName(id: .max, version: .max) == "ffffffffffffffff-ffffffff.seg")
        #expect(SegmentName.path(directory: "/s/dims/é", id: 0x2A, version: 1) == "/s/dims/é/000000000000002a-00000001.seg")
        #expect(StoreLayout("/s/").segmentPath(dimension: "d", id: 1, version: 2) == "/s/dims/d/0000000000000001-00000002.seg")
        for (id, version) in [(UInt64(1), UInt32(1)), (0xDEAD_BEEF_0000_0001, 0x8000_0000), (.max, 0)] {
            let parsed = SegmentName.parse(SegmentName.fileName(id: id, version: version))
            #expect(parsed?.id == id && parsed?.version == version)
        }
    }

    @Test func fileNamesParseOnlyInTheirExactLowercaseSpelling() {
        #expect(ManifestFormat.generation("MANIFEST-00000000000000ff") == 0xFF)
        #expect(ManifestFormat.generation(ManifestFormat.fileName(.max)) == .max)
        #expect(WALFormat.fileNumber("000000000000002a.wal") == 0x2A)
        #expect(SegmentName.parse("000000000000002a-0000000b.seg")! == (0x2A, 0xB))
        for name in ["MANIFEST-00000000000000FF", "MANIFEST-00000000000000f", "MANIFEST-00000000000000fff", "manifest-00000000000000ff",
                     "MANIFEST-00000000000000f ", "MANIFEST-0000000000000é", "MANIFEST-", "MANIFEST-00000000000000ff.tmp"] {
            #expect(ManifestFormat.generation(name) == nil, "\(name)")
        }
        for name in ["000000000000002A.wal", "000000000000002a.WAL", "00000000000002a.wal", "000000000000002a.wa", "000000000000002a.walx",
                     "00000000000000é.wal", "000000000000002a.wal.tmp", "spare-1.tmp", ".wal"] {
            #expect(WALFormat.fileNumber(name) == nil, "\(name)")
        }
        for name in ["000000000000002A-0000000b.seg", "000000000000002a_0000000b.seg", "000000000000002a-0000000b.SEG",
                     "000000000000002a-000000b.seg", "000000000000002a-0000000b.seg.tmp", "00000000000000é-0000000b.seg", "x.seg"] {
            #expect(SegmentName.parse(name) == nil, "\(name)")
        }
    }
}
