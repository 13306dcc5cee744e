import Foundation
import Testing
@testable import LayerStore

/// The first lookups of a segment whose hash index is far larger than its block table search
/// the block table, and only a later one checks the hash index and probes (Formats/segment.md
/// § Point lookup): the answers never change, and damage to the index is still found.
@Suite struct HashCheckDeferralTests {
    static let storeID: UInt64 = 0x5EED_0280_0000_0001
    static let keyCount = 20_000

    static func key(_ i: Int) -> [UInt8] { Array("k\(String(format: "%06d", i))".utf8) }

    /// Keys 0, 2, 4, … (odd ones are absent), each with two versions: LSN 2i+2 (value "new")
    /// and 2i+1 (value "old").
    static func segmentBytes(blockByteCountTarget: Int) throws -> [UInt8] {
        var builder = SegmentBuilder(storeID: storeID, segmentID: 9, version: 1, dimension: "d", baseLSN: 1,
                                     blockByteCountTarget: blockByteCountTarget, codec: SegmentFormat.codecNone, hashIndex: true)
        for i in stride(from: 0, to: keyCount, by: 2) {
            for (lsn, value) in [(LSN(i + 2), "new"), (LSN(i + 1), "old")] {
                try key(i).withBytes { (k) throws(StoreError) in
                    try Array(value.utf8).withBytes { (v) throws(StoreError) in try builder.add(key: k, lsn: lsn, isDelete: false, value: v) }
                }
            }
        }
        return builder.finish(newestRecordTime: 1).array
    }

    static func open(_ bytes: [UInt8]) throws -> Segment {
        let dir = TemporaryDirectory()
        let path = dir.child(SegmentName.fileName(id: 9, version: 1))
        ByteSurgery.write(path, bytes)
        return try withExtendedLifetime(dir) {
            try Segment(io: SystemFileIO(), path: path, storeID: storeID, id: 9, version: 1, listed: nil,
                        manager: MmapManager(), verification: .everyRead)
        }
    }

    static func find(_ segment: Segment, _ i: Int, at lsn: LSN) throws -> String? {
        let found = try key(i).withBytes { (k) throws(StoreError) in try segment.find(k, snapshotLSN: lsn) }
        return found.map { f in withExtendedLifetime(f.owner) { String(decoding: f.record.value, as: UTF8.self) } }
    }

    static func expected(_ i: Int, at lsn: LSN) -> String? {
        guard i % 2 == 0, i >= 0, i < keyCount else { return nil }
        return lsn >= LSN(i + 2) ? "new" : lsn >= LSN(i + 1) ? "old" : nil
    }

    /// Lookup `n` of a sequence that mixes present and absent keys and snapshot LSNs.
    static func probe(_ n: Int) -> (key: Int, lsn: LSN) {
        let k = (n * 7_919) % (keyCount + 20) - 10
        return (k, [LSN.max, LSN(max(k, 0) + 1), LSN(max(k, 0))][n % 3])
    }

    static func hashRange(_ segment: Segment) -> (start: Int, count: Int) {
        (Int(segment.header.hashOffset), Int(segment.header.footerOffset - segment.header.hashOffset))
    }

    /// Big blocks: a few block table entries against a hash index of 10,000 slots or more.
    static let bigBlocks = 64 << 10

    @Test func answersAreTheSameBeforeAndAfterTheHashIndexIsChecked() throws {
        let segment = try Self.open(try Self.segmentBytes(blockByteCountTarget: Self.bigBlocks))
        let searches = Self.hashRange(segment).count / Segment.hashBytesPerSearch
        #expect(searches >= 3, "the index must be large enough to be deferred")
        for n in 0..<(3 * searches + 200) {
            let (k, lsn) = Self.probe(n)
            #expect(try Self.find(segment, k, at: lsn) == Self.expected(k, at: lsn), "lookup \(n): key \(k) at \(lsn)")
        }
    }

    /// The point read (`pointRead`, what stores call) answers as `find`, through the block
    /// table while the index is unchecked and through the probe after, older versions too.
    @Test func pointReadsAnswerAsFindBeforeAndAfterTheCheck() throws {
        let segment = try Self.open(try Self.segmentBytes(blockByteCountTarget: Self.bigBlocks))
        let searches = Self.hashRange(segment).count / Segment.hashBytesPerSearch
        for n in 0..<(3 * searches + 200) {
            let (k, lsn) = Self.probe(n)
            let hit = try Self.key(k).withBytes { (key) throws(StoreError) in try segment.pointRead(key, snapshotLSN: lsn) }
            let read = hit.map { h in withExtendedLifetime(h.owner) { String(decoding: h.value, as: UTF8.self) } }
            #expect(read == Self.expected(k, at: lsn) && hit?.isDelete != true, "lookup \(n): key \(k) at \(lsn)")
        }
    }

    @Test func aDamagedLargeHashIndexFailsOnceTheSearchesRunOut() throws {
        var bytes = try Self.segmentBytes(blockByteCountTarget: Self.bigBlocks)
        let (start, count) = Self.hashRange(try Self.open(bytes))
        bytes[start + count / 2] ^= 0x10
        let segment = try Self.open(bytes)
        let searches = count / Segment.hashBytesPerSearch
        #expect(searches >= 3, "the index must be large enough to be deferred")
        // The searches read only checked blocks: their answers are right.
        for n in 0..<searches {
            let (k, lsn) = Self.probe(n)
            #expect(try Self.find(segment, k, at: lsn) == Self.expected(k, at: lsn), "lookup \(n)")
        }
        // The next lookup checks the index, finds the damage, and so does every one after it.
        for n in searches..<(searches + 3) {
            let (k, lsn) = Self.probe(n)
            do {
                _ = try Self.find(segment, k, at: lsn)
                Issue.record("lookup \(n) did not check the damaged hash index")
            } catch {
                #expect((error as? StoreError)?.code == .corrupted)
            }
        }
    }

    @Test func aHashIndexAboutTheBlockTablesSizeIsCheckedAtTheFirstLookup() throws {
        // 64-byte blocks: two records each, so the block table outweighs the hash index.
        var bytes = try Self.segmentBytes(blockByteCountTarget: 64)
        let probe = try Self.open(bytes)
        let (start, count) = Self.hashRange(probe)
        let tableBytes = Int(probe.header.hashOffset - probe.header.blockTableOffset)
        #expect(count <= 2 * tableBytes)
        bytes[start + count / 2] ^= 0x10
        let segment = try Self.open(bytes)
        do {
            _ = try Self.find(segment, 0, at: .max)
            Issue.record("the first lookup did not check the hash index")
        } catch {
            #expect((error as? StoreError)?.code == .corrupted)
        }
    }
}
