import Foundation
import Testing
@testable import LayerStore

/// A store open opens every listed segment file but reads none: each segment's header is read
/// and checked at the first use of its slot (Formats/segment.md § Reading and damage). The
/// answers never change, a file removed after the open stays readable, and damage is a typed
/// error on the reads that need it.
@Suite struct SegmentSlotTests {
    /// A closed store of three dimensions, two flushes each (six segments).
    func closedStore(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        for round in 0..<2 {
            for dimension in ["a", "b", "c"] {
                for i in 0..<40 { try store.put("\(dimension)\(round)-\(i)", forKey: "k\(round)-\(i)", in: dimension) }
            }
            try store.flush()
        }
        try store.close()
        return path
    }

    @Test func anOpenMakesNoSegmentAndAReadMakesOnlyTheOnesItVisits() throws {
        let dir = TemporaryDirectory()
        let path = try closedStore(dir)
        for readOnly in [false, true] {
            var options = testOptions()
            options.readOnly = readOnly
            let store = try Store(path: path, options: options)
            let segments = store.currentState().segments
            #expect(segments.names == ["a", "b", "c"])
            for name in segments.names { #expect(try #require(segments[name]).allSatisfy { $0.madeSegment == nil }) }
            // The newest segment of "b" holds round 1: the older one is not needed.
            #expect(try store.string(forKey: "k1-5", in: "b") == "b1-5")
            let b = try #require(segments["b"])
            #expect(b[0].madeSegment != nil && b[1].madeSegment == nil)
            // Round 0 is in the older one: the read walks past the newest.
            #expect(try store.string(forKey: "k0-5", in: "b") == "b0-5")
            #expect(b[1].madeSegment != nil)
            #expect(try #require(segments["a"]).allSatisfy { $0.madeSegment == nil })
            // A slot hands out the same segment every time.
            #expect(try b[0].segment() === b[0].segment())
            #expect(try store.string(forKey: "k9", in: "c") == nil)
            try store.close()
        }
    }

    @Test func aSegmentRemovedAfterTheOpenStillReads() throws {
        let dir = TemporaryDirectory()
        let path = try closedStore(dir)
        var options = testOptions()
        options.readOnly = true
        let reader = try Store(path: path, options: options)
        // A writer (a second store beside the reader, as another process would be) compacts
        // "a": its two segments become one, and the files the reader opened are removed.
        let before = try FileManager.default.contentsOfDirectory(atPath: path + "/dims/a")
        let writer = try Store(path: path, options: testOptions())
        _ = try writer.compact(CompactionOptions())
        try writer.close()
        let after = try FileManager.default.contentsOfDirectory(atPath: path + "/dims/a")
        #expect(Set(before).isDisjoint(with: after))
        for round in 0..<2 {
            for i in 0..<40 { #expect(try reader.string(forKey: "k\(round)-\(i)", in: "a") == "a\(round)-\(i)") }
        }
        var count = 0
        try reader.scan("a") { _, _ in count += 1; return true }
        #expect(count == 80)
        try reader.close()
    }

    @Test func aSegmentThatDisagreesWithItsManifestEntryFailsAtFirstUse() throws {
        let dir = TemporaryDirectory()
        let path = try closedStore(dir)
        // Another valid segment put in its place: the header names another id.
        let files = try FileManager.default.contentsOfDirectory(atPath: path + "/dims/c").sorted()
        #expect(files.count == 2)
        let (older, newer) = (path + "/dims/c/" + files[0], path + "/dims/c/" + files[1])
        try FileManager.default.removeItem(atPath: newer)
        try FileManager.default.copyItem(atPath: older, toPath: newer)
        let store = try Store(path: path, options: testOptions())
        do {
            _ = try store.string(forKey: "k1-1", in: "c")
            Issue.record("read a segment under another segment's name")
        } catch {
            #expect(error.code == .corrupted && error.path == newer)
        }
        #expect(try store.string(forKey: "k1-1", in: "a") == "a1-1")
        // Stats and compaction need every segment of the dimension, and fail the same way.
        var onlyC = CompactionOptions()
        onlyC.dimension = "c"
        #expect(throws: StoreError.self) { _ = try store.compact(onlyC) }
        #expect(throws: StoreError.self) { _ = try store.stats() }
        try store.close()
    }

    @Test func aFailedFirstUseIsTriedAgainFromTheSameOpenFile() throws {
        let dir = TemporaryDirectory()
        let path = try closedStore(dir)
        let io = FaultInjectingFileIO()
        var options = testOptions()
        options.readOnly = true
        let store = try Store(path: path, options: options, io: io)
        // The header read of "b"'s newest segment fails once: that read fails, typed.
        io.fail(.read, pathContains: "/dims/b/")
        do {
            _ = try store.string(forKey: "k1-5", in: "b")
            Issue.record("read through a failed header read")
        } catch {
            #expect(error.code == .ioFailure)
        }
        #expect(try #require(store.currentState().segments["b"]).allSatisfy { $0.madeSegment == nil })
        // The slot kept its file open: the next read makes the segment from it, even with
        // the directory's files gone.
        for name in try FileManager.default.contentsOfDirectory(atPath: path + "/dims/b") {
            try FileManager.default.removeItem(atPath: path + "/dims/b/" + name)
        }
        #expect(try store.string(forKey: "k1-5", in: "b") == "b1-5")
        #expect(try store.string(forKey: "k0-5", in: "b") == "b0-5")
        try store.close()
    }

    @Test func aCompactionAndAFlushCarryUnmadeSlotsOver() throws {
        let dir = TemporaryDirectory()
        let path = try closedStore(dir)
        let store = try Store(path: path, options: testOptions())
        let slotsOfA = try #require(store.currentState().segments["a"])
        try store.put("new", forKey: "k2", in: "b")
        try store.flush()
        var onlyC = CompactionOptions()
        onlyC.dimension = "c"
        _ = try store.compact(onlyC)
        // "a" was neither flushed nor compacted: the new states hold its very slots, unmade.
        let now = try #require(store.currentState().segments["a"])
        #expect(now.map(ObjectIdentifier.init) == slotsOfA.map(ObjectIdentifier.init))
        #expect(now.allSatisfy { $0.madeSegment == nil })
        #expect(try store.string(forKey: "k0-3", in: "a") == "a0-3")
        #expect(try store.string(forKey: "k2", in: "b") == "new")
        #expect(try store.string(forKey: "k0-3", in: "c") == "c0-3")
        try store.close()
    }
}
