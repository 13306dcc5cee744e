import Foundation
import Testing
@testable import LayerStore

/// Large WAL appends and segment files start their device write before the sync that makes
/// them durable; the hint changes no byte and no failure.
@Suite struct WriteBackTests {
    /// A store at `dir`'s `s` whose I/O records write-back hints, with a WAL file and a memtable
    /// large enough that nothing rolls or flushes unless the test asks.
    func openRecorded(_ dir: TemporaryDirectory) throws -> (store: Store, io: FaultInjectingFileIO, path: String) {
        let path = dir.child("s")
        let io = FaultInjectingFileIO()
        let store = try Store(path: path, options: testOptions { $0.walFileByteCount = 32 << 20; $0.memtableByteCountMax = 64 << 20 }, io: io)
        return (store, io, path)
    }

    /// Keys that sort in record order.
    func key(_ i: Int) -> [UInt8] { Array(String(format: "k%05d", i).utf8) }

    @Test func aLargeCommitStartsTheWriteOfItsRecordAndASmallOneDoesNot() throws {
        let dir = TemporaryDirectory()
        let (store, io, path) = try openRecorded(dir)
        try store.put(String(repeating: "s", count: 4000), forKey: "small", in: "d")
        #expect(io.writeBacks(pathContains: "/wal/").isEmpty, "a 4 KB record leaves its write to the sync")

        var batch = WriteBatch()
        for i in 0..<100 { try batch.put([UInt8](repeating: UInt8(i), count: 1000), forKey: Array("k\(i)".utf8), in: "d") }
        let recordByteCount = Int64(WALWriter.recordByteCount(payload: batch.byteCount))
        #expect(recordByteCount >= Int64(WALWriter.writeBackByteCountMin))
        try store.commit(batch)
        let hints = io.writeBacks(pathContains: "/wal/")
        #expect(hints.count == 1)
        let walFile = try #require(FileManager.default.contentsOfDirectory(atPath: path + "/wal").first { !$0.hasPrefix("spare-") })
        let fileSize = try #require(FileManager.default.attributesOfItem(atPath: path + "/wal/" + walFile)[.size] as? Int64)
        // The hint names exactly the record just written, which lies inside the file.
        #expect(hints.first?.length == recordByteCount)
        #expect((hints.first?.offset ?? -1) > 0 && (hints.first?.offset ?? 0) + recordByteCount <= fileSize)
        try store.close()

        let reopened = try Store(path: path, options: testOptions())
        for i in 0..<100 { #expect(try reopened.value(forKey: Array("k\(i)".utf8), in: "d") == [UInt8](repeating: UInt8(i), count: 1000)) }
        #expect(try reopened.string(forKey: "small", in: "d")?.count == 4000)
        try reopened.close()
    }

    @Test func aSegmentIsWrittenInPiecesEachStartedBeforeTheFsync() throws {
        let dir = TemporaryDirectory()
        let (store, io, path) = try openRecorded(dir)
        let valueCount = 2_500
        for start in stride(from: 0, to: valueCount, by: 500) {
            var batch = WriteBatch()
            for i in start..<start + 500 { try batch.put([UInt8](repeating: UInt8(i & 0xFF), count: 4096), forKey: key(i), in: "d") }
            try store.commit(batch)
        }
        try store.flush()
        let hints = io.writeBacks(pathContains: "/dims/")
        let segment = try #require(FileManager.default.subpaths(atPath: path + "/dims")?.first { $0.hasSuffix(".seg") })
        let size = try #require(FileManager.default.attributesOfItem(atPath: path + "/dims/" + segment)[.size] as? Int64)
        #expect(size > Int64(2 * SegmentWriter.writeBackChunkByteCount), "the segment spans several pieces")
        // The pieces follow one another from 0 to the file's end, none larger than a chunk.
        var next: Int64 = 0
        for hint in hints {
            #expect(hint.offset == next)
            #expect(hint.length > 0 && hint.length <= Int64(SegmentWriter.writeBackChunkByteCount))
            next = hint.offset + hint.length
        }
        #expect(next == size)
        #expect(hints.count == Int((size + Int64(SegmentWriter.writeBackChunkByteCount) - 1) / Int64(SegmentWriter.writeBackChunkByteCount)))
        try store.close()

        let reopened = try Store(path: path, options: testOptions())
        for i in stride(from: 0, to: valueCount, by: 97) {
            #expect(try reopened.value(forKey: key(i), in: "d") == [UInt8](repeating: UInt8(i & 0xFF), count: 4096))
        }
        try reopened.close()
    }

    @Test func aFailedPieceOfASegmentFailsTheFlushAndKeepsTheWrites() throws {
        let dir = TemporaryDirectory()
        let (store, io, path) = try openRecorded(dir)
        var batch = WriteBatch()
        for i in 0..<2_000 { try batch.put([UInt8](repeating: 7, count: 4096), forKey: key(i), in: "d") }
        try store.commit(batch)
        // The second piece of the segment fails, as on a full disk part-way.
        io.fail(.write, pathContains: "/dims/", after: 1, errno: ENOSPC)
        #expect(throws: StoreError.self) { try store.flush() }
        #expect(io.injected == 1)
        let leftovers = FileManager.default.subpaths(atPath: path + "/dims")?.filter { $0.hasSuffix(StoreLayout.tempSuffix) } ?? []
        #expect(leftovers.isEmpty, "the partial segment is removed")
        #expect(try store.value(forKey: key(1999), in: "d") == [UInt8](repeating: 7, count: 4096))
        try store.flush()
        try store.close()
        let reopened = try Store(path: path, options: testOptions())
        #expect(try reopened.value(forKey: key(0), in: "d") == [UInt8](repeating: 7, count: 4096))
        try reopened.close()
    }

    @Test func theSystemCallStartsAWriteAndReportsABadDescriptor() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("f")
        let fd = open(path, O_CREAT | O_RDWR, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        let bytes = [UInt8](repeating: 3, count: 1 << 16)
        #expect(bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == bytes.count)
        #expect(throws: Never.self) { try Syscalls.startWriteBack(fd, offset: 0, length: Int64(bytes.count)).get() }
        guard case .failure(let e) = Syscalls.startWriteBack(-1, offset: 0, length: 4096) else {
            Issue.record("a bad descriptor was accepted")
            return
        }
        #expect(e.rawValue == EBADF)
    }
}
