import Foundation
import Testing
@testable import LayerStore

/// Segments without a hash index (format version 2, Formats/segment.md § Versions): point
/// lookups through the block table, the header's version bound to its layout, and the tools
/// that write and check segments keeping to the layout they found.
@Suite struct HashlessSegmentTests {
    static let storeID: UInt64 = 0x0123_4567_89AB_CDEF

    /// (key, LSN, value or nil for a tombstone), in segment order: keys with one to five
    /// versions, so that with small blocks a key's versions run across block boundaries. LSNs
    /// only descend, so each key's versions come newest first.
    static func records() -> [(key: String, lsn: LSN, value: String?)] {
        var out: [(String, LSN, String?)] = []
        var lsn: LSN = 10_000
        for k in 0..<60 {
            let key = "key-\(String(format: "%03d", k * 2))"  // odd numbers are absent keys
            for v in (0..<(1 + k % 5)).reversed() {
                lsn -= 1
                out.append((key, lsn, k % 7 == 3 && v == 0 ? nil : "\(key)-v\(v)-" + String(repeating: "x", count: k % 13)))
            }
        }
        return out
    }

    /// The segment file of `records()`, written with or without a hash index.
    static func segmentBytes(codec: UInt8, hashIndex: Bool, blockByteCountTarget: Int = 96) throws -> [UInt8] {
        let records = records()
        var builder = SegmentBuilder(storeID: storeID, segmentID: 7, version: 1, dimension: "d",
                                     baseLSN: records.map(\.lsn).min()!, blockByteCountTarget: blockByteCountTarget,
                                     codec: codec, hashIndex: hashIndex)
        for (key, lsn, value) in records {
            try Array(key.utf8).withBytes { (k) throws(StoreError) in
                try Array((value ?? "").utf8).withBytes { (v) throws(StoreError) in
                    try builder.add(key: k, lsn: lsn, isDelete: value == nil, value: v)
                }
            }
        }
        return builder.finish(newestRecordTime: 1).array
    }

    static func open(_ bytes: [UInt8], in dir: TemporaryDirectory) throws -> Segment {
        let path = dir.child(SegmentName.fileName(id: 7, version: 1))
        ByteSurgery.write(path, bytes)
        return try Segment(io: SystemFileIO(), path: path, storeID: storeID, id: 7, version: 1, listed: nil,
                           manager: MmapManager(), verification: .everyRead)
    }

    /// The little-endian `u32` at `offset` of a file's bytes.
    static func u32(_ bytes: [UInt8], at offset: Int) -> UInt32? {
        bytes.withUnsafeBytes { ByteReader.u32($0, at: offset) }
    }

    /// The code of the `StoreError` `body` throws, or nil if it throws none.
    static func code(_ body: () throws -> Void) -> StoreError.Code? {
        do { try body() } catch let e as StoreError { return e.code } catch { Issue.record("not a StoreError: \(error)") }
        return nil
    }

    /// What `find` returns: the value, `<deleted>`, or nil.
    static func find(_ segment: Segment, _ key: String, at lsn: LSN) throws -> String? {
        let found = try Array(key.utf8).withBytes { (k) throws(StoreError) in try segment.find(k, snapshotLSN: lsn) }
        return found.map { f in
            withExtendedLifetime(f.owner) { f.record.isDelete ? "<deleted>" : String(decoding: f.record.value, as: UTF8.self) }
        }
    }

    /// The model's answer: the newest version of `key` with an LSN at most `lsn`.
    static func expected(_ key: String, at lsn: LSN) -> String? {
        records().first { $0.key == key && $0.lsn <= lsn }.map { $0.value ?? "<deleted>" }
    }

    @Test(arguments: [SegmentFormat.codecNone, SegmentFormat.codecLZ4])
    func pointLookupsWithoutAHashIndexAnswerAsWithOne(codec: UInt8) throws {
        let dir = TemporaryDirectory()
        let hashless = try Self.open(try Self.segmentBytes(codec: codec, hashIndex: false), in: dir)
        #expect(!hashless.header.hasHashIndex && hashless.header.formatVersion == 2)
        #expect(hashless.header.hashOffset == hashless.header.footerOffset)
        #expect(hashless.header.blockCount > 20)
        #expect(hashless.header.keyCount == 60)
        let lsns = Self.records().map(\.lsn)
        let probes = [lsns.min()! - 1, lsns.min()!, lsns.max()!] + lsns.enumerated().filter { $0.offset % 7 == 0 }.map(\.element)
        let keys = (-1..<121).map { "key-\(String(format: "%03d", max($0, 0)))" } + ["a", "key-", "key-0", "key-1190", "z"]
        for key in keys {
            for lsn in probes {
                #expect(try Self.find(hashless, key, at: lsn) == Self.expected(key, at: lsn), "\(key) at \(lsn)")
            }
        }
        // The same file with a hash index answers the same (it is the reference).
        let hashed = try Self.open(try Self.segmentBytes(codec: codec, hashIndex: true), in: TemporaryDirectory())
        #expect(hashed.header.formatVersion == 3)
        for key in keys { #expect(try Self.find(hashed, key, at: .max) == Self.find(hashless, key, at: .max)) }
    }

    @Test func theVersionMustMatchTheHashIndex() throws {
        let dir = TemporaryDirectory()
        // Rewrites the version field and re-seals the header, so only the version is wrong.
        func withVersion(_ bytes: [UInt8], _ version: UInt32) -> [UInt8] {
            var b = bytes
            withUnsafeBytes(of: version.littleEndian) { b.replaceSubrange(8..<12, with: $0) }
            let seed = SegmentFormat.fileSeed(storeID: Self.storeID, segmentID: 7, version: 1)
            let sum = b.withUnsafeBytes { Checksum.xxh3(UnsafeRawBufferPointer(rebasing: $0[0..<SegmentFormat.headerChecksumOffset]), seed: seed) }
            withUnsafeBytes(of: sum.littleEndian) { b.replaceSubrange(SegmentFormat.headerChecksumOffset..<SegmentFormat.headerByteCount, with: $0) }
            return b
        }
        let hashless = try Self.segmentBytes(codec: SegmentFormat.codecLZ4, hashIndex: false)
        let hashed = try Self.segmentBytes(codec: SegmentFormat.codecLZ4, hashIndex: true)  // version 3
        #expect(Self.code { _ = try Self.open(withVersion(hashless, 1), in: dir) } == .corrupted)
        #expect(Self.code { _ = try Self.open(withVersion(hashless, 3), in: dir) } == .corrupted)
        #expect(Self.code { _ = try Self.open(withVersion(hashed, 2), in: dir) } == .corrupted)
        #expect(Self.code { _ = try Self.open(withVersion(hashed, 1), in: dir) } == .corrupted)
        #expect(Self.code { _ = try Self.open(withVersion(hashless, 0), in: dir) } == .corrupted)
        #expect(Self.code { _ = try Self.open(withVersion(hashless, 4), in: dir) } == .unsupportedFormat)
        // Unchanged, both open.
        _ = try Self.open(withVersion(hashless, 2), in: dir)
        _ = try Self.open(withVersion(hashed, 3), in: dir)
    }

    @Test func aDamagedBlockFailsOnlyTheLookupsThatReachIt() throws {
        let dir = TemporaryDirectory()
        var bytes = try Self.segmentBytes(codec: SegmentFormat.codecNone, hashIndex: false, blockByteCountTarget: 256)
        let probe = try Self.open(bytes, in: dir)
        let damagedBlock = 5
        let entry = try probe.blockEntry(damagedBlock)
        let firstKeyAfter = String(decoding: try probe.firstKey(damagedBlock + 1), as: UTF8.self)
        bytes[entry.offset + 2] ^= 0x40
        let segment = try Self.open(bytes, in: TemporaryDirectory())
        // Keys past the damaged block are found without reading it; the first key is too.
        #expect(try Self.find(segment, "key-000", at: .max) == Self.expected("key-000", at: .max))
        let later = Self.records().map(\.key).filter { $0 > firstKeyAfter }
        for key in Set(later) { #expect(try Self.find(segment, key, at: .max) == Self.expected(key, at: .max)) }
        // A key whose records all lie inside the damaged block (its first key may continue
        // versions that start in the block before, and be found there).
        let firstKeyOfDamaged = String(decoding: try probe.firstKey(damagedBlock), as: UTF8.self)
        let inside = try #require(Self.records().map(\.key).first { $0 > firstKeyOfDamaged && $0 < firstKeyAfter })
        #expect(Self.code { _ = try Self.find(segment, inside, at: .max) } == .corrupted)
    }

    /// Compaction: LZ4 outputs get no hash index unless asked; uncompressed ones keep theirs.
    @Test(arguments: [(CompactionOptions.Compression.lz4, Bool?.none, false), (.lz4, true, true), (.none, nil, true), (.none, false, false)])
    func compactionChoosesTheIndexByCodecUnlessTold(_ compression: CompactionOptions.Compression, _ hashIndex: Bool?, _ expectIndex: Bool) throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        for round in 0..<2 {
            for k in 0..<500 { try store.put("value-\(round)-\(k)", forKey: "k\(String(format: "%04d", k))", in: "d") }
            try store.flush()
        }
        var options = CompactionOptions()
        options.compression = compression
        options.hashIndex = hashIndex
        let report = try store.compact(options)
        for file in report.dimensions[0].written {
            let bytes = ByteSurgery.read(dir.child("s/") + file)
            #expect(Self.u32(bytes, at: 8) == (expectIndex ? 3 : 2), "format version of \(file)")
            #expect((Self.u32(bytes, at: 96) ?? 0 > 0) == expectIndex, "hash slots of \(file)")
        }
        for k in 0..<500 { #expect(try store.string(forKey: "k\(String(format: "%04d", k))", in: "d") == "value-1-\(k)") }
        #expect(try store.string(forKey: "k0500", in: "d") == nil)
        #expect(try store.string(forKey: "a", in: "d") == nil)
        try store.close()
        // verify finds nothing wrong with either layout.
        let verified = try Verifier.verify(store: dir.child("s"))
        #expect(verified.isClean, "\(verified.files.filter { $0.status != .ok })")
    }

    @Test func withoutAHashIndexACold100ByteStoreIsSmaller() throws {
        var sizes: [Bool: UInt64] = [:]
        for hashIndex in [true, false] {
            let dir = TemporaryDirectory()
            let store = try Store(path: dir.child("s"), options: testOptions())
            var batch = WriteBatch()
            for k in 0..<5_000 {
                try batch.put([UInt8](repeating: UInt8(k % 251), count: 100), forKey: Array("key-\(String(format: "%08d", k))".utf8), in: "d")
            }
            try store.commit(batch)
            try store.flush()
            var options = CompactionOptions()
            options.compression = .lz4
            options.hashIndex = hashIndex
            sizes[hashIndex] = try store.compact(options).dimensions[0].bytesAfter
            try store.close()
        }
        // 5 bytes of index per key (4-byte slots, at most 80% full), the rest about the same:
        // with an index the blocks are compact, without one their LSNs chain.
        #expect(sizes[true]! - sizes[false]! >= 5_000 * 4)
    }

    @Test func salvageKeepsASegmentWithoutAHashIndexWithoutOne() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions { $0.blockByteCountTarget = 256 })
        for k in 0..<40 { try store.put("value-\(k)", forKey: "key-\(String(format: "%03d", k))", in: "d") }
        try store.flush()
        var options = CompactionOptions()
        options.compression = .lz4
        options.blockByteCountTarget = 256
        let written = try #require(try store.compact(options).dimensions[0].written.first)
        try store.close()
        let segment = dir.child("s/") + written
        #expect(Self.u32(ByteSurgery.read(segment), at: 8) == 2)
        ByteSurgery.flip(segment, at: SegmentFormat.headerByteCount + 3)  // inside the first (compressed) block
        let salvaged = try Recoverer.run(path: path, dryRun: false, salvage: true)
        #expect(salvaged.consistent)
        let rewritten = try #require(salvaged.segmentsWritten.first)
        let bytes = ByteSurgery.read(dir.child("s/") + rewritten)
        #expect(Self.u32(bytes, at: 8) == 2 && Self.u32(bytes, at: 96) == 0)
        #expect(bytes[36] == SegmentFormat.codecLZ4)
        let reopened = try Store(path: path, options: testOptions())
        #expect(try reopened.string(forKey: "key-039", in: "d") == "value-39")
    }
}
