import Foundation
import Testing
@testable import LayerStore

/// The files in Formats/vectors/ are the format, frozen: the code must write exactly these bytes
/// from these inputs, and read them back to these records. A format change shows up here and
/// must come with a new format version and new vectors (Formats/README.md § Versioning).
///
/// To rewrite the vectors after a deliberate format change:
/// `LAYERSTORE_WRITE_VECTORS=1 swift test --filter GoldenVectorTests`.
@Suite struct GoldenVectorTests {
    static let storeID: UInt64 = 0x0123_4567_89AB_CDEF
    static let salt: UInt64 = 0x5A5A_5A5A_A5A5_A5A5

    static var vectorsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Formats/vectors").path
    }

    /// A vector's bytes; a missing vector is a test failure, not a crash.
    static func vector(_ name: String) throws -> [UInt8] {
        [UInt8](try #require(FileManager.default.contents(atPath: vectorsDirectory + "/" + name), "missing vector \(name)"))
    }

    static func batches() throws -> [WriteBatch] {
        var first = WriteBatch()
        try first.put("hello", forKey: "greeting", in: "words")
        try first.put("v", forKey: "k", in: "d")
        var second = WriteBatch()
        try second.delete(forKey: "k", in: "d")
        try second.put([0x00, 0xFF, 0x10], forKey: [0x01, 0x02], in: "binary")
        return [first, second]
    }

    static func walBytes() throws -> [UInt8] {
        var out = ByteWriter()
        out.append(contentsOf: WALFile.encodeHeader(storeID: storeID, number: 1, baseLSN: 1, salt: salt))
        let seed = WALFormat.recordSeed(storeID: storeID, fileNumber: 1, salt: salt)
        var lsn: LSN = 1
        for batch in try batches() {
            // The first record was appended before anything was durable; the second after a sync.
            WALWriter.encodeRecord(batch, firstLSN: lsn, syncedLSN: lsn - 1, seed: seed, offset: UInt64(out.count), into: &out)
            lsn += LSN(batch.count)
        }
        return out.bytes
    }

    /// (key, lsn, value or nil for a tombstone) in segment order.
    static let segmentRecords: [(String, LSN, String?)] = [
        ("apple", 12, "red"), ("apple", 3, "green"), ("banana", 7, nil), ("cherry", 5, String(repeating: "c", count: 40)),
        ("date", 9, ""), ("elderberry", 4, "purple"),
    ]

    static func segmentBytes() throws -> [UInt8] { try segmentBytes(version: 1, codec: SegmentFormat.codecNone) }

    /// The same records as an LZ4 (codec 1) rewrite: segment 1, version 2.
    static func coldSegmentBytes() throws -> [UInt8] { try segmentBytes(version: 2, codec: SegmentFormat.codecLZ4) }

    /// The same records as an LZ4 rewrite without a hash index (format version 2): segment 1,
    /// version 3.
    static func hashlessSegmentBytes() throws -> [UInt8] {
        try segmentBytes(version: 3, codec: SegmentFormat.codecLZ4, hashIndex: false)
    }

    /// The same records in compact blocks, format version 3 (file version 4).
    static func compactSegmentBytes() throws -> [UInt8] {
        try segmentBytes(version: 4, codec: SegmentFormat.codecNone, compact: true)
    }

    static func segmentBytes(version: UInt32, codec: UInt8, hashIndex: Bool = true, compact: Bool = false) throws -> [UInt8] {
        var builder = SegmentBuilder(storeID: storeID, segmentID: 1, version: version, dimension: "words", baseLSN: 3,
                                     blockByteCountTarget: 64, codec: codec, hashIndex: hashIndex, compact: compact)
        for (key, lsn, value) in segmentRecords {
            try Array(key.utf8).withBytes { (k) throws(StoreError) in
                try Array((value ?? "").utf8).withBytes { (v) throws(StoreError) in
                    try builder.add(key: k, lsn: lsn, isDelete: value == nil, value: v)
                }
            }
        }
        return builder.finish(newestRecordTime: 1_764_000_000_000_000_000).array
    }

    static let manifest = Manifest(
        storeID: storeID, generation: 2, checkpointLSN: 12, nextSegmentID: 3,
        dimensions: [
            ManifestDimension(name: "d", segments: [SegmentDescriptor(id: 2, version: 1, codec: 0, minLSN: 2, maxLSN: 2, recordCount: 1, fileLength: 400)]),
            ManifestDimension(name: "words", segments: [SegmentDescriptor(id: 1, version: 1, codec: 0, minLSN: 3, maxLSN: 12, recordCount: 6, fileLength: 0)]),
        ])

    static func manifestBytes() throws -> [UInt8] {
        var m = manifest
        m.dimensions[1].segments[0].fileLength = UInt64(try segmentBytes().count)
        return ManifestCodec.encode(m)
    }

    static let files: [(String, @Sendable () throws -> [UInt8])] = [
        ("0000000000000001.wal", walBytes),
        (SegmentName.fileName(id: 1, version: 1), segmentBytes),
        (SegmentName.fileName(id: 1, version: 2), coldSegmentBytes),
        (SegmentName.fileName(id: 1, version: 3), hashlessSegmentBytes),
        (SegmentName.fileName(id: 1, version: 4), compactSegmentBytes),
        (ManifestFormat.fileName(2), manifestBytes),
    ]

    @Test func theCodeWritesExactlyTheFrozenBytes() throws {
        let write = ProcessInfo.processInfo.environment["LAYERSTORE_WRITE_VECTORS"] == "1"
        for (name, make) in Self.files {
            let path = Self.vectorsDirectory + "/" + name
            let bytes = try make()
            if write { ByteSurgery.write(path, bytes) }
            let frozen = try #require(FileManager.default.contents(atPath: path), "missing vector \(path)")
            #expect([UInt8](frozen) == bytes, "\(name) differs from the frozen vector: the on-disk format changed")
        }
    }

    @Test func theWALVectorReadsBack() throws {
        let bytes = try Self.vector("0000000000000001.wal")
        var ops: [String] = []
        let end = try bytes.withBytes { (raw) throws(StoreError) -> WALEnd in
            let header = try WALReader.header(raw, number: 1, storeID: Self.storeID, path: "vector")
            #expect(header == WALHeader(storeID: Self.storeID, number: 1, baseLSN: 1, salt: Self.salt))
            return WALReader.records(raw, header: header) { record in
                _ = decodeBatchPayload(record.payload, count: record.operationCount) { i, op in
                    let name = String(decoding: op.dimension, as: UTF8.self)
                    ops.append("\(record.firstLSN + LSN(i)) \(op.isDelete ? "del" : "put") \(name) \(Array(op.key)) \(Array(op.value))")
                }
            }
        }
        #expect(end == .clean(offset: bytes.count))
        #expect(ops == [
            "1 put words \(Array("greeting".utf8)) \(Array("hello".utf8))",
            "2 put d \(Array("k".utf8)) \(Array("v".utf8))",
            "3 del d \(Array("k".utf8)) []",
            "4 put binary [1, 2] [0, 255, 16]",
        ])
    }

    @Test(arguments: [UInt32(1), 2, 3, 4])
    func theSegmentVectorsReadBack(version: UInt32) throws {
        let dir = TemporaryDirectory()
        let path = dir.child(SegmentName.fileName(id: 1, version: version))
        ByteSurgery.write(path, try Self.vector(SegmentName.fileName(id: 1, version: version)))
        let segment = try Segment(io: SystemFileIO(), path: path, storeID: Self.storeID, id: 1, version: version, listed: nil,
                                  manager: MmapManager(), verification: .everyRead)
        #expect(segment.header.codec == (version == 1 || version == 4 ? SegmentFormat.codecNone : SegmentFormat.codecLZ4))
        #expect(segment.header.dimension == "words")
        #expect(segment.header.blockCount > 1)
        // Versions 1 and 2 of the file carry a hash index (format version 1); 3 has none
        // (format version 2); 4 is in compact blocks (format version 3).
        #expect(segment.header.hasHashIndex == (version != 3))
        #expect(segment.header.formatVersion == [1: 1, 2: 1, 3: 2, 4: 3][version])
        var cursor = try [UInt8]().withBytes { (empty) throws(StoreError) in try SegmentCursor(segment: segment, from: empty) }
        var seen: [(String, LSN, String?)] = []
        while let r = try cursor.next() {
            seen.append((String(decoding: r.key.array, as: UTF8.self), r.lsn, r.isDelete ? nil : String(decoding: r.value, as: UTF8.self)))
        }
        #expect(seen.map(\.0) == Self.segmentRecords.map(\.0))
        #expect(seen.map(\.1) == Self.segmentRecords.map(\.1))
        #expect(seen.map(\.2) == Self.segmentRecords.map(\.2))
        // Every key, newest version and an older one, and keys between, before and after them.
        func find(_ key: String, at lsn: LSN) throws -> String? {
            let found = try Array(key.utf8).withBytes { (k) throws(StoreError) in try segment.find(k, snapshotLSN: lsn) }
            return found.map { f in withExtendedLifetime(f.owner) { f.record.isDelete ? "<deleted>" : String(decoding: f.record.value, as: UTF8.self) } }
        }
        #expect(try find("apple", at: 10) == "green")
        #expect(try find("apple", at: 12) == "red")
        #expect(try find("apple", at: 2) == nil)
        #expect(try find("banana", at: 12) == "<deleted>")
        #expect(try find("cherry", at: 12) == String(repeating: "c", count: 40))
        #expect(try find("date", at: 12) == "")
        #expect(try find("elderberry", at: 12) == "purple")
        for absent in ["a", "apples", "b", "blueberry", "d", "fig", "zzz"] { #expect(try find(absent, at: 12) == nil, "\(absent)") }
    }

    @Test func theManifestVectorReadsBack() throws {
        let bytes = try Self.vector(ManifestFormat.fileName(2))
        let decoded = try ManifestCodec.decode(bytes, generation: 2, path: "vector")
        var expected = Self.manifest
        expected.dimensions[1].segments[0].fileLength = UInt64(try Self.segmentBytes().count)
        #expect(decoded == expected)
    }
}
