import Foundation
import Testing
@testable import LayerStore

/// Crash-state enumeration: each workload runs once through a ``RecordingFileIO``; then, for a
/// crash after every recorded operation and every disk state the POSIX model allows there
/// (extremes plus a seeded sample), the files are rebuilt, the store is recovered by a writer
/// open, and its contents must be an in-order prefix of the commits holding every acknowledged
/// one. `LAYERSTORE_CRASH_STATES=exhaustive` (tools/crash-states.sh --long) looks at more states.
@Suite struct CrashStateTests {
    static func options(_ adjust: (inout StoreOptions) -> Void = { _ in }) -> StoreOptions {
        testOptions {
            $0.walFileByteCount = 64 << 10
            $0.flushInBackground = false
            adjust(&$0)
        }
    }

    typealias W = CrashWorkload.Write

    /// Runs the checker over `workload` and expects no failure.
    @discardableResult
    func check(_ workload: CrashWorkload, minimumStates: Int) throws -> CrashStateChecker.Summary {
        let recording = try workload.record()
        let summary = CrashStateChecker(recording, name: workload.name).run()
        print("crash states checked: \(summary.statesChecked) [\(summary)] (\(CrashStateConfiguration.fromEnvironment))")
        #expect(summary.failureCount == 0, "\(summary.failures.joined(separator: "\n"))")
        #expect(summary.statesChecked >= minimumStates, "too few crash states: \(summary)")
        return summary
    }

    /// (a) Synced commits of several sizes: small, one spanning several sectors, a batch.
    static let syncedCommits = CrashWorkload(name: "synced-commits", options: options(), steps: [
        .commit([.put("a", "1")]),
        .commit([.put("big", byteCount: 1500, seed: 1)]),
        .commit((0..<8).map { W.put("k\($0)", "batch-\($0)", in: $0 % 2 == 0 ? "d" : "e") }),
        .commit([.put("a", "2")]),
        .commit([.put("big", byteCount: 700, seed: 2), .put("c", "3", in: "e")]),
    ])

    /// (b) Commits, a flush (segments, two manifests, WAL checkpoint), a commit after it.
    static let flush = CrashWorkload(name: "flush", options: options(), steps: [
        .commit([.put("a", "1"), .put("b", "1", in: "e")]),
        .commit([.put("c", byteCount: 900, seed: 3)]),
        .flush,
        .commit([.put("a", "2")]),
    ])

    /// (c) Commits, flushes, more commits, a compaction, then an LZ4 compaction.
    static let compaction = CrashWorkload(name: "compaction", options: options(), steps: [
        .commit([.put("a", "1"), .put("b", "1"), .put("x", "1", in: "e")]),
        .flush,
        .commit([.put("a", "2"), .put("c", byteCount: 600, seed: 4), .put("x", "2", in: "e")]),
        .flush,
        .compact(CompactionOptions()),
        .commit([.put("d", "4")]),
        .flush,
        .compact({ var o = CompactionOptions(); o.compression = .lz4; return o }()),
        .commit([.put("b", "5")]),
    ])

    /// (d) WAL rolls: 64 KiB WAL files and commits of about 9 KiB, one of 100 KB; then a flush, which drops
    /// several WAL files at once (their removals may reach the disk in any order).
    static let walRoll = CrashWorkload(name: "wal-roll", options: options(), steps:
        (0..<16).map { .commit([.put("k\($0 % 5)", byteCount: 9000 + $0, seed: UInt8($0))]) }
        + [.commit([.put("huge", byteCount: 100_000, seed: 7)]),  // larger than a WAL file: a file of its own size
           .flush, .commit([.put("k0", "small")])])

    /// Concurrent committers: group commit writes several records with one write and syncs
    /// them with one fdatasync; a roll and a flush happen between the groups.
    static let groupCommit: CrashWorkload = {
        var w = CrashWorkload(name: "group-commit", options: options(), steps: [
            .concurrentCommits((0..<6).map { [.put("g\($0)", byteCount: 200 + 150 * $0, seed: UInt8($0))] }),
            .concurrentCommits((0..<4).map { [.put("g\($0)", "second \($0)"), .put("h\($0)", byteCount: 5000, seed: 9, in: "e")] }),
            .flush,
            .concurrentCommits((0..<6).map { [.put("g\($0 % 3)", byteCount: 9000, seed: UInt8($0)), .delete("h\($0 % 4)", in: "e")] }),
        ])
        w.syncDataDelayMicroseconds = 20_000  // a slow disk: the leader's sync lets the others gather
        return w
    }()

    /// Flushes the commits trigger: a 4 KiB memtable freezes every few commits, and each
    /// freeze rolls the WAL and flushes in the committing thread.
    static let autoFlush = CrashWorkload(name: "auto-flush", options: options { $0.memtableByteCountMax = 4 << 10 }, steps:
        (0..<12).map { .commit([.put("k\($0 % 4)", byteCount: 1100 + $0, seed: UInt8($0)), .put("e\($0)", "\($0)", in: "e")]) })

    /// (e) Deletes and overwrites across a flush and a compaction (tombstones dropped), and a
    /// reopen: the open's own recovery writes are in the trace, then commits to a new WAL file.
    static let deletes = CrashWorkload(name: "deletes", options: options(), steps: [
        .commit([.put("a", "1"), .put("b", "1"), .put("c", "1")]),
        .commit([.put("a", "2"), .delete("b")]),
        .flush,
        .commit([.delete("a"), .put("c", "3")]),
        .compact(CompactionOptions()),
        .reopen,
        .commit([.delete("c"), .put("b", "4")]),
        .commit([.delete("b")]),
        .flush,
    ])

    /// `bufferedUnsynced`: commits count only once `Store.sync()` returned.
    static let buffered = CrashWorkload(name: "buffered", options: options { $0.durability = .bufferedUnsynced }, steps: [
        .commit([.put("a", "1")]),
        .commit([.put("b", byteCount: 1200, seed: 5)]),
        .sync,
        .commit([.put("a", "2")]),
        .commit([.delete("b")]),
        .sync,
        .commit([.put("c", "3")]),
    ])

    @Test func syncedCommitsSurviveEveryCrashState() throws { try check(Self.syncedCommits, minimumStates: 200) }
    @Test func flushSurvivesEveryCrashState() throws { try check(Self.flush, minimumStates: 600) }
    @Test func compactionSurvivesEveryCrashState() throws { try check(Self.compaction, minimumStates: 3000) }
    @Test func walRollSurvivesEveryCrashState() throws { try check(Self.walRoll, minimumStates: 1500) }
    @Test func deletesAndReopenSurviveEveryCrashState() throws { try check(Self.deletes, minimumStates: 1200) }
    @Test func bufferedCommitsSurviveEveryCrashState() throws { try check(Self.buffered, minimumStates: 200) }
    @Test func automaticFlushesSurviveEveryCrashState() throws { try check(Self.autoFlush, minimumStates: 2000) }
    @Test func groupCommitsSurviveEveryCrashState() throws { try check(Self.groupCommit, minimumStates: 500) }

    /// A crash during recovery: crash states of the workloads above (sampled, seeded) are each
    /// recovered through the recorder (by a writer open, or every other time by `layerstore
    /// recover` first), then written to and flushed; that run, recovery included, is crashed at
    /// every point. What the first recovery found counts as acknowledged.
    @Test func recoveryItselfSurvivesEveryCrashState() throws {
        let configuration = CrashStateConfiguration.fromEnvironment
        let firsts = try [Self.walRoll, Self.flush, Self.compaction, Self.deletes, Self.buffered, Self.autoFlush].map { ($0.name, try $0.record()) }
        var random = SeededRandom(seed: configuration.seed ^ 0xC4A5)
        var total = CrashStateChecker.Summary(workload: "recovery-crashes")
        for n in 0..<configuration.recoveryCrashes {
            let (name, first) = firsts[n % firsts.count]
            let model = DiskModel(first.trace)
            // Prefer crash points where something is still volatile: their states are the odd ones.
            let points = (0...first.trace.count).filter { !model.volatileOperations(before: $0).isEmpty }
            let crashPoint = points.isEmpty ? first.trace.count : points[Int(random.next() % UInt64(points.count))]
            let choices = CrashStateEnumerator(model: model, configuration: configuration)
                .choices(volatile: model.volatileOperations(before: crashPoint), random: &random)
            let image = model.image(at: crashPoint, fates: choices[Int(random.next() % UInt64(choices.count))])
            let second = CrashWorkload(name: "\(name)@\(crashPoint)", options: Self.options(), steps: [
                .commit([.put("r\(n)", byteCount: 300, seed: UInt8(n & 0xFF)), .delete("a")]),
                .flush,
                .commit([.put("a", "after recovery \(n)")]),
            ])
            // Every other one begins with `layerstore recover` instead of an open's recovery.
            let recording = try second.record(startingFrom: image, recoverFirst: n % 2 == 1)
            let summary = CrashStateChecker(recording, name: second.name + (n % 2 == 1 ? " (recover)" : ""), configuration: configuration).run()
            #expect(summary.failureCount == 0, "\(summary.failures.joined(separator: "\n"))")
            total.traceCount += summary.traceCount
            total.crashPoints += summary.crashPoints
            total.statesChecked += summary.statesChecked
            total.disksRecovered += summary.disksRecovered
            total.disksVerified += summary.disksVerified
            total.failureCount += summary.failureCount
            total.seconds += summary.seconds
            total.recoverySeconds += summary.recoverySeconds
            total.modelSeconds += summary.modelSeconds
        }
        print("crash states checked: \(total.statesChecked) [\(total)] (\(configuration))")
        #expect(total.statesChecked >= configuration.recoveryCrashes * 200, "too few crash states: \(total)")
    }

    // MARK: The checker catches what it must

    /// A file system that ignores fsync may lose acknowledged commits: the checker must say so.
    @Test func aModelThatDropsSyncedWritesIsCaught() throws {
        let recording = try Self.syncedCommits.record()
        let summary = CrashStateChecker(recording, name: "broken-model", configuration: .standard, brokenModelIgnoringSyncs: true).run()
        print("crash states checked: \(summary.statesChecked) [\(summary)] (planted: syncs ignored)")
        #expect(summary.failureCount > 0, "dropping fsync'd writes went unnoticed")
        #expect(summary.wrongContentsCount > 0, "no state lost an acknowledged commit: \(summary.failures)")
    }

    /// An engine that acknowledges commits before they are synced is caught.
    @Test func acknowledgingUnsyncedCommitsIsCaught() throws {
        var workload = Self.buffered
        workload.name = "acknowledged-unsynced"
        workload.acknowledgeUnsynced = true
        let summary = CrashStateChecker(try workload.record(), name: workload.name, configuration: .standard).run()
        print("crash states checked: \(summary.statesChecked) [\(summary)] (planted: unsynced acknowledgements)")
        #expect(summary.failureCount > 0, "commits acknowledged before their sync went unnoticed")
    }
}
