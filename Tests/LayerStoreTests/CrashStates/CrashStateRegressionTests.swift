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
}
