import Foundation
import Testing
@testable import LayerStore

/// A store open checks each segment's header at its first use, and its footer at the first use
/// of the block table or hash index: a damaged footer is still a typed error, on the read that
/// needs that segment, never a wrong value, and every other segment reads as before.
@Suite struct DeferredFooterTests {
    @Test func aDamagedFooterFailsTheReadsOfItsSegmentNotTheOpen() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        for i in 0..<50 {
            try store.put("a\(i)", forKey: "k\(i)", in: "a")
            try store.put("b\(i)", forKey: "k\(i)", in: "b")
        }
        try store.flush()
        let segment = try #require(store.currentState().segments["b"]?.first).segment()
        let footerOffset = Int(segment.layout.footerOffset)
        try store.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: path + "/dims/b").filter { $0.hasSuffix(".seg") }
        #expect(files.count == 1)
        let file = path + "/dims/b/" + files[0]
        ByteSurgery.flip(file, at: footerOffset + 20)

        let reopened = try Store(path: path, options: testOptions())
        #expect(try reopened.string(forKey: "k7", in: "a") == "a7")
        for _ in 0..<2 {  // not cached: the second read checks again
            do {
                _ = try reopened.string(forKey: "k7", in: "b")
                Issue.record("read through a damaged footer")
            } catch {
                #expect(error.code == .corrupted)
                #expect(error.offset == UInt64(footerOffset))
                #expect(error.path == file)
            }
        }
        #expect(throws: StoreError.self) { try reopened.scan("b") { _, _ in true } }
        try reopened.close()

        // Opened on its own (a flush's check, recovery), the segment still fails at once.
        do {
            _ = try Segment(io: SystemFileIO(), path: file, storeID: segment.header.storeID, id: segment.header.segmentID,
                            version: segment.header.version, listed: nil, manager: MmapManager(), verification: .firstRead)
            Issue.record("opened a segment with a damaged footer")
        } catch {
            #expect(error.code == .corrupted && error.offset == UInt64(footerOffset))
        }
        // And verify names it.
        let report = try Verifier.verify(store: path)
        #expect(!report.isClean)
    }

    @Test func anIntactFooterIsCheckedOnceAtFirstUse() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        for i in 0..<50 { try store.put("v\(i)", forKey: "k\(i)", in: "d") }
        try store.flush()
        try store.close()
        let reopened = try Store(path: path, options: testOptions())
        let segment = try #require(reopened.currentState().segments["d"]?.first).segment()
        #expect(!segment.region.isMapped)
        let sums = try segment.footerChecksums()
        #expect(segment.region.isMapped)
        #expect(try segment.footerChecksums() == sums)
        for i in 0..<50 { #expect(try reopened.string(forKey: "k\(i)", in: "d") == "v\(i)") }
        try reopened.close()
    }
}
