import Foundation
import Testing
@testable import LayerStore

/// The crash model's rules, one at a time, on hand-written traces; and the recorder, whose trace
/// must rebuild the real files exactly.
@Suite struct CrashStateDiskModelTests {
    // Inodes: 0 root, 1 directory "d", 2 file "d/f".
    static let setup: [RecordedOperation] = [
        .makeDirectory(directory: 0, name: "d", inode: 1), .sync(inode: 0),
        .createFile(directory: 1, name: "f", inode: 2),
    ]

    @Test func dataIsDurableOnlyAfterASyncOfItsFile() {
        let trace = Self.setup + [.write(inode: 2, offset: 0, bytes: [1, 2, 3]), .syncData(inode: 2), .write(inode: 2, offset: 3, bytes: [4])]
        let model = DiskModel(trace)
        #expect(model.volatileOperations(before: 4) == [2, 3])  // the name and the write
        #expect(model.volatileOperations(before: 6) == [2, 5])  // the synced write is durable
        let bare = model.image(at: 6, fates: [2: .kept, 5: .dropped])
        #expect(bare.bytes(of: 2) == [1, 2, 3])
    }

    @Test func aNameIsDurableOnlyAfterAnFsyncOfItsDirectory() {
        let trace = Self.setup + [.sync(inode: 2), .syncData(inode: 2), .sync(inode: 1)]
        let model = DiskModel(trace)
        #expect(model.volatileOperations(before: 5) == [2], "fsync and fdatasync of the file do not make its name durable")
        #expect(model.volatileOperations(before: 6) == [])
        #expect(model.image(at: 5, fates: [2: .dropped]).walk().map(\.path) == ["d"])
    }

    @Test func shrinkingNeedsAFullSyncGrowingDoesNot() {
        let trace = Self.setup + [.sync(inode: 1), .allocate(inode: 2, offset: 0, length: 4096), .truncate(inode: 2, length: 100),
                                  .syncData(inode: 2), .truncate(inode: 2, length: 8192), .syncData(inode: 2)]
        let model = DiskModel(trace)
        #expect(model.volatileOperations(before: trace.count) == [5], "only the shrink is left")
        #expect(model.image(at: trace.count, fates: [5: .dropped]).bytes(of: 2)?.count == 8192)
        #expect(DiskModel(trace + [.sync(inode: 2)]).volatileOperations(before: trace.count + 1) == [])
    }

    @Test func aRenameAcrossDirectoriesNeedsBoth() {
        let trace = Self.setup + [.sync(inode: 1), .makeDirectory(directory: 0, name: "e", inode: 3), .sync(inode: 0),
                                  .rename(fromDirectory: 1, fromName: "f", toDirectory: 3, toName: "g", inode: 2), .sync(inode: 3)]
        let model = DiskModel(trace)
        #expect(model.volatileOperations(before: trace.count) == [6])
        #expect(DiskModel(trace + [.sync(inode: 1)]).volatileOperations(before: trace.count + 1) == [])
        // Not durable: the old name or the new one, atomically.
        #expect(model.image(at: trace.count, fates: [6: .dropped]).walk().map(\.path) == ["d", "d/f", "e"])
        #expect(model.image(at: trace.count, fates: [6: .kept]).walk().map(\.path) == ["d", "e", "e/g"])
    }

    @Test func writesTearAtSectorBoundariesAndReorder() {
        #expect(DiskModel.pieces(offset: 500, count: 600) == [0..<12, 12..<524, 524..<600])
        #expect(DiskModel.pieces(offset: 1024, count: 512) == [0..<512])
        let first = [UInt8](repeating: 1, count: 1024), second = [UInt8](repeating: 2, count: 8)
        let trace = Self.setup + [.sync(inode: 1), .write(inode: 2, offset: 0, bytes: first), .write(inode: 2, offset: 2000, bytes: second)]
        let model = DiskModel(trace)
        let torn = model.image(at: trace.count, fates: [4: .torn([false, true]), 5: .kept]).bytes(of: 2)!
        #expect(torn.count == 2008)
        #expect(torn[0..<512].allSatisfy { $0 == 0 } && torn[512..<1024].allSatisfy { $0 == 1 } && torn[2000...].allSatisfy { $0 == 2 })
        // The later write kept, the earlier lost: the file reaches the later one, zeros before it.
        let reordered = model.image(at: trace.count, fates: [4: .dropped, 5: .kept]).bytes(of: 2)!
        #expect(reordered.count == 2008 && reordered[0..<2000].allSatisfy { $0 == 0 })
    }

    @Test func aModelIgnoringSyncsKeepsNothingDurable() {
        let trace = Self.setup + [.write(inode: 2, offset: 0, bytes: [1]), .sync(inode: 2), .sync(inode: 1)]
        #expect(DiskModel(trace, ignoringSyncs: true).volatileOperations(before: trace.count) == [0, 2, 3])
    }

    @Test func theRecordedTraceRebuildsTheRealFilesExactly() throws {
        for workload in [CrashStateTests.compaction, CrashStateTests.walRoll, CrashStateTests.deletes] {
            let recording = try workload.record()
            let image = DiskModel(recording.trace).image(at: recording.trace.count, fates: [:])
            var rebuilt: [String: [UInt8]?] = [:]
            for (path, file) in image.walk() { rebuilt.updateValue(file.map { image.bytes(of: $0) ?? [] }, forKey: path) }
            #expect(rebuilt.keys.sorted() == recording.finalTree.keys.sorted(), "\(workload.name)")
            for (path, bytes) in recording.finalTree { #expect(rebuilt[path] == bytes, "\(workload.name): \(path)") }
        }
    }
}
