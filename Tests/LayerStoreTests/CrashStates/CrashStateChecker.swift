//! Crashes a recorded workload at every point, in every disk state the ``DiskModel`` allows
//! there (as ``CrashStateEnumerator`` picks them), recovers each state with a real writer open,
//! and checks it.
//!
//! Commits are numbered in LSN order. For a crash after entry `k` of the trace, let `a` be one
//! more than the highest commit acknowledged before it and `s` the number of commits that all
//! started before it. The recovered store must equal the workload's contents after `p` commits
//! for some `a ≤ p ≤ s`: every acknowledged commit with its exact value, then possibly some
//! commits that were written but not acknowledged, in order; never a gap, never a value not
//! written. The open must succeed: every state is one the file system may leave, so a refusal
//! (even a typed `corrupted`) is a bug. A read-only open before it must read the same
//! contents. On a sample of the distinct disks, the raw state must also pass `verify` with no
//! damage and a dry-run `recover` with nothing left to repair, and the recovered store must
//! reopen to the same contents and verify clean.
//!
//! Many states leave identical disks (a dropped write of zeros over zeros, a crash between two
//! marks): each distinct disk is recovered once (keyed by ``DiskImage/digest``) and its result
//! checked against every crash point that produced it.

import Foundation
@testable import LayerStore

struct CrashStateChecker {
    struct Summary: CustomStringConvertible {
        var workload: String
        /// Trace entries (disk operations and marks), and crash points (one after each entry
        /// from the end of the starting disk's record on).
        var traceCount = 0
        var crashPoints = 0
        /// (crash point, disk state) pairs checked.
        var statesChecked = 0
        /// Distinct disks recovered with a writer open.
        var disksRecovered = 0
        /// Distinct disks also run through verify, a dry-run recover and a second open.
        var disksVerified = 0
        /// Commits in the workload, and fdatasyncs in its trace (fewer than commits: group commit).
        var commitCount = 0
        var syncCount = 0
        var failureCount = 0
        /// Failures where the store opened with contents no allowed prefix has (lost or
        /// invented data), as opposed to an open that failed.
        var wrongContentsCount = 0
        var seconds = 0.0
        /// Of `seconds`, spent writing disks out and recovering them.
        var recoverySeconds = 0.0
        /// Of `seconds`, spent building disk images and their digests.
        var modelSeconds = 0.0
        /// The first failures, described.
        var failures: [String] = []

        var description: String {
            "\(workload): crash states checked: \(statesChecked) (crash points \(crashPoints), trace \(traceCount), commits \(commitCount), fdatasyncs \(syncCount), distinct disks recovered \(disksRecovered), verified \(disksVerified)), failures \(failureCount), \(String(format: "%.1f", seconds)) s (recovery \(String(format: "%.1f", recoverySeconds)) s, model \(String(format: "%.1f", modelSeconds)) s)"
        }
    }

    /// What a writer open made of one disk.
    private enum Outcome {
        case opened(StoreContents)
        case failed(String)
    }

    let recording: CrashWorkload.Recording
    let model: DiskModel
    let configuration: CrashStateConfiguration
    let name: String

    init(_ recording: CrashWorkload.Recording, name: String, configuration: CrashStateConfiguration = .fromEnvironment,
         brokenModelIgnoringSyncs: Bool = false) {
        self.recording = recording
        self.model = DiskModel(recording.trace, ignoringSyncs: brokenModelIgnoringSyncs)
        self.configuration = configuration
        self.name = name
    }

    func run() -> Summary {
        var summary = Summary(workload: name, traceCount: recording.trace.count)
        summary.commitCount = recording.expected.count - 1
        summary.syncCount = recording.trace.filter { if case .syncData = $0 { true } else { false } }.count
        let scratch = MemoryBackedDirectory("crash-states")
        let clock = ContinuousClock(), start = clock.now
        var outcomes: [DiskImage.Digest: Outcome] = [:]
        var random = SeededRandom(seed: configuration.seed)
        let enumerator = CrashStateEnumerator(model: model, configuration: configuration)
        // Commits are numbered in LSN order. Concurrent ones may start and be acknowledged out
        // of that order: the recovered prefix must reach past every acknowledged commit, and
        // may only hold commits that all started.
        var startedSet = Set<Int>()
        var started = 0, acknowledged = 0
        // The disk states of the last crash point whose disk prefix changed (marks change none).
        var digests: [(digest: DiskImage.Digest, fates: [Int: DiskModel.Fate])] = []
        for crashPoint in recording.firstCrashPoint...recording.trace.count {
            if crashPoint > 0 {
                switch recording.trace[crashPoint - 1] {
                case .commitStarted(let c):
                    startedSet.insert(c)
                    while startedSet.contains(started) { started += 1 }
                case .commitAcknowledged(let c): acknowledged = max(acknowledged, c + 1)
                default: break
                }
            }
            if crashPoint == recording.firstCrashPoint || recording.trace[crashPoint - 1].isDiskOperation {
                digests = []
                let volatile = model.volatileOperations(before: crashPoint)
                for fates in enumerator.choices(volatile: volatile, random: &random) {
                    let building = clock.now
                    let image = model.image(at: crashPoint, fates: fates)
                    let digest = image.digest
                    summary.modelSeconds += Self.seconds(clock.now - building)
                    if outcomes[digest] == nil {
                        let verify = summary.disksRecovered % configuration.verifyEvery == 0
                        let before = clock.now
                        outcomes[digest] = recover(image, in: scratch, number: summary.disksRecovered, verify: verify)
                        summary.recoverySeconds += Self.seconds(clock.now - before)
                        summary.disksRecovered += 1
                        if verify { summary.disksVerified += 1 }
                    }
                    digests.append((digest, fates))
                }
            }
            summary.crashPoints += 1
            for (digest, fates) in digests {
                summary.statesChecked += 1
                if let problem = check(outcomes[digest]!, acknowledged: acknowledged, started: started) {
                    summary.failureCount += 1
                    if case .opened = outcomes[digest]! { summary.wrongContentsCount += 1 }
                    if summary.failures.count < 10 {
                        summary.failures.append(describe(crashPoint: crashPoint, fates: fates, problem: problem))
                    }
                }
            }
        }
        summary.seconds = Self.seconds(clock.now - start)
        return summary
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Nil if `outcome` is a state the crash may leave: the contents after `p` commits, `acknowledged ≤ p ≤ started`.
    private func check(_ outcome: Outcome, acknowledged: Int, started: Int) -> String? {
        switch outcome {
        case .failed(let message):
            return "recovery failed: \(message)"
        case .opened(let contents):
            if (acknowledged...started).contains(where: { recording.expected[$0] == contents }) { return nil }
            let matches = recording.expected.indices.filter { recording.expected[$0] == contents }
            return "recovered contents are not those after \(acknowledged)...\(started) commits"
                + (matches.isEmpty ? " nor after any number of commits" : " but those after \(matches) commits")
                + difference(contents, recording.expected[acknowledged])
        }
    }

    private func difference(_ contents: StoreContents, _ expected: StoreContents) -> String {
        var lines: [String] = []
        for dimension in Set(contents.keys).union(expected.keys).sorted() {
            let have = contents[dimension] ?? [:], want = expected[dimension] ?? [:]
            for key in Set(have.keys).union(want.keys).sorted() where have[key] != want[key] {
                lines.append("\(dimension)/\(key): \(have[key].map { "\($0.count) bytes" } ?? "missing") vs acknowledged \(want[key].map { "\($0.count) bytes" } ?? "absent")")
                if lines.count == 4 { break }
            }
        }
        return lines.isEmpty ? "" : " (" + lines.joined(separator: "; ") + ")"
    }

    private func describe(crashPoint: Int, fates: [Int: DiskModel.Fate], problem: String) -> String {
        let last = crashPoint > 0 ? "after #\(crashPoint - 1) \(recording.trace[crashPoint - 1])" : "before anything"
        let fateText = fates.sorted { $0.key < $1.key }.map { "#\($0.key) \(recording.trace[$0.key]) \($0.value)" }
        let volatile = model.volatileOperations(before: crashPoint).count
        return "\(name): crash \(last), \(volatile) volatile, fates [\(fateText.joined(separator: ", "))]: \(problem)"
    }

    /// Writes `image` out, runs the sampled read-only checks on the raw state, opens it as a
    /// writer (recovery), and reads every dimension.
    private func recover(_ image: DiskImage, in scratch: MemoryBackedDirectory, number: Int, verify: Bool) -> Outcome {
        let root = scratch.child("\(number)")
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
            try image.materialize(into: root)
        } catch {
            return .failed("could not write the state out: \(error)")
        }
        let path = root + "/" + recording.storePath
        var options = recording.options
        options.flushInBackground = false
        let hasManifest = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).contains { ManifestFormat.generation($0) != nil }
        if verify && hasManifest {
            do throws(StoreError) {
                let report = try Verifier.verify(store: path)
                if report.hasDamage {
                    let problems = report.files.filter { $0.status == .damaged || $0.status == .missing }
                        .map { "\($0.path): \($0.problems.map(\.message).joined(separator: "; "))" }
                    return .failed("verify found damage in the crash state: \(problems.joined(separator: " | "))")
                }
                let dryRun = try Recoverer.run(path: path, dryRun: true, salvage: false, options: options)
                if !dryRun.damageRemaining.isEmpty {
                    return .failed("recover --dry-run found damage: \(dryRun.damageRemaining.map(\.message))")
                }
            } catch {
                return .failed("verify or recover --dry-run threw \(error.code): \(error.message)")
            }
        }
        // A read-only open first (it changes nothing): it must see what the writer's recovery
        // then makes durable. It reads the WAL with pread, the writer through a mapping.
        var readOnlyContents: StoreContents?
        if hasManifest {
            do throws(StoreError) {
                var readOnly = options
                readOnly.readOnly = true
                let store = try Store(path: path, options: readOnly)
                readOnlyContents = try Self.contents(of: store)
                try store.close()
            } catch {
                return .failed("read-only open threw \(error)")
            }
        }
        let contents: StoreContents
        do throws(StoreError) {
            let store = try Store(path: path, options: options)
            contents = try Self.contents(of: store)
            try store.close()
        } catch {
            return .failed("open threw \(error)")
        }
        if let readOnlyContents, readOnlyContents != contents {
            return .failed("a read-only open read other contents than the writer's recovery")
        }
        if verify {
            do throws(StoreError) {
                let store = try Store(path: path, options: options)
                let again = try Self.contents(of: store)
                try store.close()
                if again != contents { return .failed("a second open after recovery read different contents") }
                let report = try Verifier.verify(store: path)
                if report.hasDamage { return .failed("verify found damage after recovery") }
            } catch {
                return .failed("the second open or verify after recovery threw \(error.code): \(error.message)")
            }
        }
        return .opened(contents)
    }

    static func contents(of store: Store) throws(StoreError) -> StoreContents {
        let snapshot = try store.snapshot()
        var out: StoreContents = [:]
        for dimension in snapshot.dimensionNames {
            var records: [String: [UInt8]] = [:]
            for record in try snapshot.records(in: dimension) {
                records[String(decoding: record.key, as: UTF8.self)] = record.value
            }
            if !records.isEmpty { out[dimension] = records }
        }
        return out
    }
}
