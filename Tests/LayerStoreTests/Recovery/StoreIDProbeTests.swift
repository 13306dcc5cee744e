import Foundation
import Testing
@testable import LayerStore

/// The store id a header claims counts only when the header's checksum holds with it.
@Suite struct StoreIDProbeTests {
    /// A closed store with one segment in dimension `d` and one WAL file; returns its store id.
    func makeStore(_ path: String) throws -> UInt64 {
        let store = try Store(path: path, options: testOptions())
        try store.put("v", forKey: "k", in: "d")
        try store.flush()
        try store.put("w", forKey: "k2", in: "d")
        let id = store.storeID
        try store.close()
        return id
    }

    func segment(_ layout: StoreLayout) throws -> (path: String, id: UInt64, version: UInt32) {
        let dir = layout.dimensionDirectory("d")
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { SegmentName.parse($0) != nil })
        let (id, version) = try #require(SegmentName.parse(name))
        return (dir + "/" + name, id, version)
    }

    func wal(_ layout: StoreLayout) throws -> (path: String, number: UInt64) {
        let names = try FileManager.default.contentsOfDirectory(atPath: layout.walDirectory)
        let number = try #require(names.compactMap(WALFormat.fileNumber).max())
        return (layout.walDirectory + "/" + WALFormat.fileName(number), number)
    }

    @Test func intactHeadersConfirmTheStoreID() throws {
        let dir = TemporaryDirectory("probe")
        let layout = StoreLayout(dir.child("s"))
        let storeID = try makeStore(layout.root)
        let s = try segment(layout)
        let w = try wal(layout)
        #expect(StoreIDProbe.segment(io: SystemFileIO(), path: s.path, segmentID: s.id, version: s.version) == storeID)
        #expect(StoreIDProbe.wal(io: SystemFileIO(), path: w.path, number: w.number) == storeID)
    }

    @Test func aHeaderThatDoesNotHoldConfirmsNothing() throws {
        let dir = TemporaryDirectory("probe")
        let layout = StoreLayout(dir.child("s"))
        _ = try makeStore(layout.root)
        let s = try segment(layout)
        let w = try wal(layout)
        let io = SystemFileIO()
        // A header checked as another file's (a renamed file) does not hold.
        #expect(StoreIDProbe.segment(io: io, path: s.path, segmentID: s.id + 1, version: s.version) == nil)
        #expect(StoreIDProbe.wal(io: io, path: w.path, number: w.number + 1) == nil)
        // A flipped bit in the claimed id does not hold either.
        ByteSurgery.flip(s.path, at: 16)
        ByteSurgery.flip(w.path, at: 16)
        #expect(StoreIDProbe.segment(io: io, path: s.path, segmentID: s.id, version: s.version) == nil)
        #expect(StoreIDProbe.wal(io: io, path: w.path, number: w.number) == nil)
        // Nor does a file too short to hold a header, or one that is not there.
        ByteSurgery.truncate(s.path, to: 10)
        #expect(StoreIDProbe.segment(io: io, path: s.path, segmentID: s.id, version: s.version) == nil)
        #expect(StoreIDProbe.wal(io: io, path: layout.walDirectory + "/missing.wal", number: 99) == nil)
    }
}
