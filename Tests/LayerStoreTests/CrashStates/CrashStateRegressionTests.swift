import Foundation
import Testing
@testable import LayerStore

/// Bugs the crash-state enumeration found, each reduced to the smallest workload that shows it.
@Suite struct CrashStateRegressionTests {
    /// Store creation made `wal/` and `dims/` and then published the first manifest, whose
    /// store-directory fsync made all three names durable at once. Before that fsync, the file
    /// system may keep the manifest's rename and lose a `mkdir`: the store then had a manifest
    /// and no `wal/`, and every open failed (`opendir … wal: ENOENT`). Creation now fsyncs the
    /// store directory after making them, before the manifest is written.
    @Test func creationNeverLeavesAManifestWithoutItsDirectories() throws {
        let workload = CrashWorkload(name: "creation", options: CrashStateTests.options(), steps: [])
        let recording = try workload.record()
        let summary = CrashStateChecker(recording, name: workload.name, configuration: .standard).run()
        print("crash states checked: \(summary.statesChecked) [\(summary)]")
        #expect(summary.failureCount == 0, "\(summary.failures.joined(separator: "\n"))")
        #expect(summary.crashPoints > 5)
    }

    /// A crash while a WAL file was being created leaves a newest file whose header was never
    /// written. The next writer open removed it without a directory fsync; if every other WAL
    /// file had been checkpointed away, the first commit then created file number 1 again. A
    /// crash could keep that creation and lose the removal: `wal/` then held an empty
    /// `0000000000000001.wal` that was not the newest file, and every open failed ("WAL file
    /// shorter than its header"). The open (and `layerstore recover`) now fsyncs `wal/` after
    /// removing such a file.
    @Test(arguments: [false, true])
    func aDroppedUnwrittenWALFileStaysDroppedWhenItsNumberIsReused(recoverFirst: Bool) throws {
        let first = try CrashWorkload(name: "flushed", options: CrashStateTests.options(), steps: [
            .commit([.put("a", "1")]), .flush,
        ]).record()
        var image = DiskModel(first.trace).image(at: first.trace.count, fates: [:])
        #expect(image.walk().allSatisfy { !$0.path.hasSuffix(".wal") }, "the flush dropped every WAL file")
        let used = first.trace.compactMap { (entry) -> UInt64? in
            if case .createFile(_, let name, _) = entry { return WALFormat.fileNumber(name) }
            return nil
        }.max() ?? 0
        image.addFile(at: "s/wal/" + WALFormat.fileName(used + 1), bytes: [])  // its creation was cut short
        let second = CrashWorkload(name: "unwritten-newest-wal", options: CrashStateTests.options(), steps: [
            .commit([.put("b", "2")]),
        ])
        let summary = CrashStateChecker(try second.record(startingFrom: image, recoverFirst: recoverFirst),
                                        name: second.name, configuration: .standard).run()
        print("crash states checked: \(summary.statesChecked) [\(summary)]")
        #expect(summary.failureCount == 0, "\(summary.failures.joined(separator: "\n"))")
    }

    /// A creation cut short after `mkdir wal/` and before `mkdir dims/` leaves `LOCK` and an
    /// empty `wal/`. `layerstore recover` rebuilt a manifest for it but made no `dims/`: the
    /// store opened, took commits, and then every flush failed (`mkdir dims/<name>`: ENOENT).
    /// (With `dims/` and no `wal/`, every open failed.) Recovery now makes whichever is missing,
    /// durably, before it publishes.
    @Test(arguments: ["wal", "dims"])
    func recoverOfAnInterruptedCreationLeavesAWorkingStore(made: String) throws {
        var image = DiskImage()
        image.addDirectory(at: "s")
        image.addFile(at: "s/LOCK", bytes: [])
        image.addDirectory(at: "s/" + made)
        let workload = CrashWorkload(name: "recover-half-created-\(made)", options: CrashStateTests.options(), steps: [
            .commit([.put("a", "1")]), .flush, .commit([.put("b", "2")]),
        ])
        let summary = CrashStateChecker(try workload.record(startingFrom: image, recoverFirst: true),
                                        name: workload.name, configuration: .standard).run()
        print("crash states checked: \(summary.statesChecked) [\(summary)]")
        #expect(summary.failureCount == 0, "\(summary.failures.joined(separator: "\n"))")
    }
}
