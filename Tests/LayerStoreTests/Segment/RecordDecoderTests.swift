import Testing
@testable import LayerStore

/// The forward walk's fast record decoder agrees with `Segment.record` on every record it
/// accepts, leaves every record that `Segment.record` rejects to it, and a malformed record in
/// the middle of a block (checksums recomputed, so only the decoders stand in the way) gives a
/// typed `corrupted` error through the cursor and a scan.
@Suite struct RecordDecoderTests {
    /// A segment of small and large records, tombstones, and LSN deltas of one to four bytes.
    static func sample(_ dir: TemporaryDirectory, blockSize: Int = 4096, hashIndex: Bool = true) throws -> (Segment, [UInt8]) {
        var model: [[UInt8]: [SegmentTests.Version]] = [:]
        var rng = SeededRandom(seed: 99)
        var lsn: LSN = 1
        for i in 0..<600 {
            let key = Array("key-\(1000 + i)".utf8)
            for _ in 0..<Int.random(in: 1...2, using: &rng) {
                let size = i % 50 == 0 ? Int.random(in: 128...20_000, using: &rng) : Int.random(in: 0...120, using: &rng)
                let isDelete = Int.random(in: 0..<10, using: &rng) == 0
                model[key, default: []].append(SegmentTests.Version(lsn: lsn, value: isDelete ? nil : (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
                // Deltas from one byte to four (2^21 and more).
                lsn += LSN(Int.random(in: 1...9000, using: &rng))
            }
        }
        // Versions 1 and 2: the compact records of version 3 have their own tests.
        let bytes = try SegmentTests.build(model, blockSize: blockSize, hashIndex: hashIndex, compact: false)
        let path = dir.child(SegmentName.fileName(id: 7, version: 1))
        ByteSurgery.write(path, bytes)
        return (try SegmentTests.open(path), bytes)
    }

    /// `Segment.record` and `RecordDecoder.decode` on `block` at every offset: the fast one
    /// returns nothing or exactly what the slow one returns, and nothing where it throws.
    /// - Parameter previousLSN: the LSN before each offset (version 2 codes LSNs against it);
    ///   `nil`: the segment's `minLSN`.
    static func expectAgreement(_ segment: Segment, _ block: [UInt8], label: String, previousLSN: LSN? = nil) -> (fast: Int, slow: Int) {
        let decoder = RecordDecoder(segment.layout)
        let previous = previousLSN ?? segment.layout.minLSN
        var fast = 0, slow = 0
        block.withUnsafeBytes { b in
            for offset in 0..<b.count {
                let reference = Result { () throws(StoreError) in try segment.record(in: b, at: offset, blockIndex: 0, previousLSN: previous, head: .plain(minLSN: segment.layout.minLSN)) }
                guard let (record, next) = decoder.decode(b, at: offset, previousLSN: previous) else {
                    if case .success = reference { slow += 1 }
                    continue
                }
                fast += 1
                expectSame((record, next), as: reference, "\(label) @\(offset)")
            }
        }
        return (fast, slow)
    }

    /// What the fast decoder returned is exactly the generic decoder's `reference`: the same
    /// bytes of the block (key parts and value), fields and next offset; and never a record
    /// the generic decoder rejects.
    static func expectSame(_ decoded: (record: SegmentRecord, next: Int), as reference: Result<(SegmentRecord, Int), StoreError>, _ label: String) {
        let (record, next) = decoded
        switch reference {
        case .success(let (expected, expectedNext)):
            #expect(record.key.suffix.baseAddress == expected.key.suffix.baseAddress && record.key.suffix.count == expected.key.suffix.count
                    && record.key.sharesPrefix(with: expected.key), "\(label): key")
            #expect(record.value.baseAddress == expected.value.baseAddress && record.value.count == expected.value.count, "\(label): value")
            #expect(record.lsn == expected.lsn && record.isDelete == expected.isDelete && next == expectedNext, "\(label): fields")
        case .failure(let error):
            Issue.record("\(label): the fast decoder accepted a record Segment.record rejects (\(error))")
        }
    }

    @Test func agreesWithTheGenericDecoderOnEveryOffsetOfEveryBlock() throws {
        let dir = TemporaryDirectory()
        let (segment, _) = try Self.sample(dir)
        var fast = 0
        for i in 0..<Int(segment.layout.blockCount) {
            let block = [UInt8](try segment.block(i).bytes)
            fast += Self.expectAgreement(segment, block, label: "block \(i)").fast
        }
        // Most record starts (and some offsets inside keys and values) decode on the fast path.
        #expect(fast >= Int(segment.layout.recordCount) / 2)
    }

    /// Version 2 (no hash index): LSNs coded against the record before. At every offset, with
    /// the LSN before taken at the segment's bounds and between them, the two decoders agree,
    /// and an LSN the code would carry outside [minLSN, maxLSN] is refused by both.
    @Test func agreesOnChainedLSNs() throws {
        let dir = TemporaryDirectory()
        let (segment, _) = try Self.sample(dir, hashIndex: false)
        #expect(segment.layout.chainsLSNs)
        let (low, high) = (segment.layout.minLSN, segment.layout.maxLSN)
        var fast = 0
        for i in 0..<Int(segment.layout.blockCount) {
            let block = [UInt8](try segment.block(i).bytes)
            for previous in [low, low + (high - low) / 2, high] {
                fast += Self.expectAgreement(segment, block, label: "block \(i) after \(previous)", previousLSN: previous).fast
            }
        }
        #expect(fast >= Int(segment.layout.recordCount) / 2)
        // Codes that step outside the segment's LSNs, from either end.
        let tail = [UInt8](repeating: 0xAB, count: 40)
        func record(code: UInt64) -> [UInt8] {
            var out: [UInt8] = [1, 3, 2], v = code
            repeat { out.append(UInt8(v & 0x7F) | (v >= 0x80 ? 0x80 : 0)); v >>= 7 } while v > 0
            return out + tail
        }
        let decoder = RecordDecoder(segment.layout)
        for (code, previous, valid) in [(RecordDecoder.chainedCode(high, previous: low), low, true),
                                        (RecordDecoder.chainedCode(high + 1, previous: low), low, false),
                                        (RecordDecoder.chainedCode(low, previous: high), high, true),
                                        (RecordDecoder.chainedCode(low - 1, previous: high), high, false),
                                        (UInt64.max >> 1, low, false), (UInt64.max >> 1 - 1, high, false)] {
            let bytes = record(code: code)
            let fastLSN = bytes.withUnsafeBytes { decoder.decode($0, at: 0, previousLSN: previous)?.record.lsn }
            let slowLSN = try? bytes.withUnsafeBytes { (b) throws(StoreError) in try segment.record(in: b, at: 0, blockIndex: 0, previousLSN: previous, head: .plain(minLSN: segment.layout.minLSN)).0.lsn }
            #expect(fastLSN == slowLSN, "code \(code)")
            #expect((slowLSN != nil) == valid, "code \(code) after \(previous)")
        }
    }

    @Test func agreesOnDamagedBlocks() throws {
        let dir = TemporaryDirectory()
        let (segment, _) = try Self.sample(dir)
        let pristine = [UInt8](try segment.block(0).bytes)
        var rng = SeededRandom(seed: 7)
        for round in 0..<60 {
            var block = pristine
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let at = Int.random(in: 0..<block.count, using: &rng)
                block[at] = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF, UInt8.random(in: 0...255, using: &rng)].randomElement(using: &rng)!
            }
            // Also cut blocks short: records running off the end.
            if round % 4 == 0 { block.removeLast(Int.random(in: 1...min(64, block.count - 1), using: &rng)) }
            _ = Self.expectAgreement(segment, block, label: "round \(round)")
        }
    }

    @Test func unusualEncodingsFallBackOrAgree() throws {
        let dir = TemporaryDirectory()
        let (segment, _) = try Self.sample(dir)
        let deltaMax = segment.layout.maxLSN - segment.layout.minLSN
        func varint(_ v: UInt64, padTo n: Int = 0) -> [UInt8] {
            var out: [UInt8] = [], v = v
            repeat { out.append(UInt8(v & 0x7F) | (v >= 0x80 ? 0x80 : 0)); v >>= 7 } while v > 0
            // Non-minimal: continuation bytes of zero bits.
            while out.count < n { out[out.count - 1] |= 0x80; out.append(0) }
            return out
        }
        let tail = [UInt8](repeating: 0xAB, count: 40)
        let cases: [[UInt8]] = [
            [1] + varint(3) + varint(2) + varint(0) + tail,
            [1] + varint(3, padTo: 2) + varint(2, padTo: 4) + varint(deltaMax, padTo: 9) + tail,  // longest the fast path takes
            [1] + varint(3, padTo: 3) + varint(2) + varint(0) + tail,  // key length in 3 bytes: slow path
            [1] + varint(3) + varint(2, padTo: 5) + varint(0) + tail,  // value length in 5 bytes
            [1] + varint(3) + varint(2) + varint(1, padTo: 10) + tail,  // delta in 10 bytes
            [2] + varint(3) + varint(deltaMax) + tail,  // tombstone
            [2] + varint(3) + varint(deltaMax + 1) + tail,  // delta past the segment's range
            [1] + varint(4097) + varint(0) + varint(0) + tail,  // key too long
            [1] + varint(0) + varint(0) + varint(0) + tail,  // empty key
            [1] + varint(3) + varint(UInt64(Limits.valueByteCountMax) + 1) + varint(0) + tail,
            [1] + varint(3) + varint(38) + varint(0) + tail,  // value one byte past the end
            [1] + varint(3) + varint(37) + varint(0) + tail,  // value exactly to the end
            [3] + varint(3) + varint(2) + varint(0) + tail,  // unknown kind
        ]
        for (i, bytes) in cases.enumerated() { _ = Self.expectAgreement(segment, bytes, label: "case \(i)") }
        // The longest minimal header decodes on the fast path, and agrees (checked above).
        let longest = [1] + varint(3, padTo: 2) + varint(2, padTo: 4) + varint(deltaMax, padTo: 9) + tail
        #expect(longest.withUnsafeBytes { RecordDecoder(segment.layout).decode($0, at: 0, previousLSN: segment.layout.minLSN) } != nil)
    }

    /// A record in the middle of a block made malformed, every checksum recomputed: the cursor,
    /// a scan and compaction's merge give `corrupted`, and nothing crashes.
    @Test(arguments: ["kind", "keyLength", "valueLength", "delta", "cut"])
    func malformedRecordMidBlockIsATypedError(field: String) throws {
        let dir = TemporaryDirectory()
        let (segment, pristine) = try Self.sample(dir, blockSize: 16 << 10)
        // The fifth record of block 0, found by walking it with the generic decoder.
        let entry = try segment.blockEntry(0)
        var offset = 0
        let block = try segment.block(0).bytes
        var previousLSN = segment.layout.minLSN
        for _ in 0..<4 {
            let (record, next) = try segment.record(in: block, at: offset, blockIndex: 0, previousLSN: previousLSN, head: .plain(minLSN: segment.layout.minLSN))
            (offset, previousLSN) = (next, record.lsn)
        }
        let (record, _) = try segment.record(in: block, at: offset, blockIndex: 0, previousLSN: previousLSN, head: .plain(minLSN: segment.layout.minLSN))
        #expect(!record.isDelete && record.value.count > 0, "the sample's fifth record is a put with a value")
        #expect(record.lsn > segment.layout.minLSN)
        var bytes = pristine
        let at = entry.offset + offset
        switch field {
        case "kind": bytes[at] = 9
        case "keyLength": bytes[at + 1] = 0
        case "valueLength": bytes[at + 2] = 0xFF; bytes[at + 3] = 0xFF; bytes[at + 4] = 0x7F  // ~2 MiB: past the block
        case "delta":
            // The header's maxLSN lowered below this record's LSN: its delta is out of range.
            let maxLSN = record.lsn - 1
            for k in 0..<8 { bytes[48 + k] = UInt8(truncatingIfNeeded: maxLSN >> (8 * UInt64(k))) }
        default:
            // The block table says the block ends inside this record's value.
            let table = Int(FuzzChecksums.u64(bytes, at: 104)!)
            let cut = UInt64(offset + 6)
            for (o, v) in [(8, cut), (12, cut)] {
                for k in 0..<4 { bytes[table + o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            }
        }
        bytes = FuzzChecksums.fixingSegment(bytes)
        // The same name (the header names its segment id) in another directory.
        let craftedDir = TemporaryDirectory()
        let path = craftedDir.child(SegmentName.fileName(id: 7, version: 1))
        ByteSurgery.write(path, bytes)
        let crafted = try SegmentTests.open(path)
        var cursor = try [UInt8]().withUnsafeBytes { try SegmentCursor(segment: crafted, from: $0) }
        var seen = 0
        do {
            while try cursor.next() != nil { seen += 1 }
            Issue.record("\(field): the cursor read \(seen) records and no error")
        } catch {
            #expect(error.code == .corrupted, "\(field): \(error)")
            // Records before the damaged one read (a lowered maxLSN may stop an earlier one).
            #expect(seen >= 4 || field == "delta", "\(field): failed before the damaged record (\(seen))")
        }
        #expect(throws: StoreError.self) { var merge = try MergeIterator([crafted]); while try merge.next() != nil {} }
    }
}
