import Foundation
import Testing
@testable import LayerStore

@Suite struct DeferredRegionTests {
    /// A closed store with one flushed segment in each of `dimensions`.
    func makeStore(_ path: String, dimensions: [String]) throws {
        let store = try Store(path: path, options: testOptions())
        for d in dimensions {
            for i in 0..<20 { try store.put("\(d)-value-\(i)", forKey: "key-\(i)", in: d) }
        }
        try store.flush()
        try store.close()
    }

    @Test func anOpenMapsOnlyTheSegmentsItReads() throws {
        let dir = TemporaryDirectory()
        try makeStore(dir.child("s"), dimensions: ["a", "b", "c"])
        for readOnly in [true, false] {
            let store = try Store(path: dir.child("s"), options: testOptions { $0.readOnly = readOnly })
            #expect(store.mmap.mappedRegionCount == 0, "nothing is mapped before it is read")
            #expect(try store.string(forKey: "key-7", in: "b") == "b-value-7")
            #expect(store.mmap.mappedRegionCount == 1)
            #expect(try store.string(forKey: "key-3", in: "b") == "b-value-3")
            #expect(store.mmap.mappedRegionCount == 1, "a second read uses the same mapping")
            var seen = 0
            try store.snapshot().scan("c") { _, _ in seen += 1; return true }
            #expect(seen == 20)
            #expect(store.mmap.mappedRegionCount == 2)
            #expect(try store.string(forKey: "key-1", in: "missing") == nil)
            #expect(store.mmap.mappedRegionCount == 2)
            try store.close()
        }
    }

    @Test func aSegmentUnlinkedBeforeItsFirstReadIsStillReadWhole() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        try makeStore(path, dimensions: ["a"])
        let reader = try Store(path: path, options: testOptions { $0.readOnly = true })
        let snapshot = try reader.snapshot()
        #expect(reader.mmap.mappedRegionCount == 0)
        // A writer rewrites the dimension and removes the file the reader has not mapped yet.
        let writer = try Store(path: path, options: testOptions())
        try writer.put("new", forKey: "key-0", in: "a")
        try writer.flush()
        _ = try writer.compact()
        try writer.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: path + "/dims/a")
        #expect(files.count == 1, "the old segments are gone: \(files)")
        for i in 0..<20 { #expect(try snapshot.string(forKey: "key-\(i)", in: "a") == "a-value-\(i)") }
        #expect(reader.mmap.mappedRegionCount == 1)
        try reader.close()
    }

    @Test func aBackupCopiesUnmappedSegmentsFromTheirMapping() throws {
        let dir = TemporaryDirectory()
        try makeStore(dir.child("s"), dimensions: ["a", "b"])
        let store = try Store(path: dir.child("s"), options: testOptions())
        #expect(store.mmap.mappedRegionCount == 0)
        _ = try store.backup(to: dir.child("copy"))
        try store.close()
        let copy = try Store(path: dir.child("copy"), options: testOptions { $0.readOnly = true })
        #expect(try copy.string(forKey: "key-19", in: "a") == "a-value-19")
        #expect(try copy.string(forKey: "key-0", in: "b") == "b-value-0")
        try copy.close()
    }
}
