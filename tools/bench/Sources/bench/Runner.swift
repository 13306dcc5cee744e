//! The run: per profile, the data set and its checks are prepared once; then each repeat
//! measures the machine's limits and every engine through every phase, the engines' order
//! rotated from repeat to repeat so no engine always runs first (or last) on a warming machine.

import BenchReport
import Foundation
import LayerStore
import LayerStoreWorkload

struct Runner {
    let params: RunParameters
    let quick: Bool
    let repeats: Int
    let profiles: [WorkloadProfile]
    let engines: [EngineKind]
    /// A directory of the run's own, removed afterwards by the caller.
    let base: String
    /// The phases to run (every one by default); the load runs whenever a later phase needs
    /// the store.
    var phases: Set<Phase> = Set(Phase.allCases)

    func run(into recorder: Recorder) throws {
        for profile in profiles {
            let t0 = now()
            let data = DataSet(profile: profile.scaled(params.scale))
            let pass = data.readPass(0, count: params.reads)
            note("profile \(profile.name): \(data.profile.recordCount) records of \(data.profile.valueByteCount) bytes, checks prepared in \(format(seconds(t0, now()))) s")
            for r in 0..<repeats {
                note("profile \(profile.name), repeat \(r + 1) of \(repeats)")
                if phases.contains(.limits) {
                    let limitsDir = base + "/limits-\(profile.name)"
                    try MachineLimits(data: data, params: params, recorder: recorder, dir: limitsDir).measure()
                    try? FileManager.default.removeItem(atPath: limitsDir)
                }
                let order = engines.indices.map { engines[($0 + r) % engines.count] }
                for kind in order {
                    let context = PhaseContext(kind: kind, data: data, params: params, recorder: recorder,
                                               path: base + "/\(profile.name)-\(kind.rawValue)-\(r)", readPass: pass)
                    try runEngine(context, repeat: r)
                }
            }
        }
    }

    /// Every phase of the workload for one engine, on a new store.
    func runEngine(_ c: PhaseContext, repeat r: Int) throws {
        let t0 = now()
        defer { try? FileManager.default.removeItem(atPath: c.path) }
        let needsStore = !phases.subtracting([.limits, .recovery]).isEmpty
        if needsStore {
            var engine = try c.open()
            try c.load(engine)
            try engine.close()
            c.closedSize()
            if phases.contains(.open) { try c.coldOpen() }
            engine = try c.open()
            if phases.contains(.reads) { try c.pointReads(engine, prefix: "read", twoThreads: true) }
            if phases.contains(.scans) {
                try c.scans(engine, metricPrefix: "scan", dimensionSeven: true)
                if c.kind == .layerstore {
                    try engine.close()
                    engine = try c.open(OpenMode(verifyEveryRead: true))
                    try c.scans(engine, metricPrefix: "scan_verify", dimensionSeven: false)
                    try engine.close()
                    engine = try c.open()
                }
            }
            if phases.contains(.commit) { try c.commitLatency(engine) }
            if phases.contains(.group) { try c.groupCommit(engine) }
            if phases.contains(.readers) { try c.readersUnderWrites(engine) }
            if phases.contains(.cold) { try c.coldTier(engine) }
            try engine.close()
            try? FileManager.default.removeItem(atPath: c.path)
        }
        if phases.contains(.recovery) { try c.recovery() }
        if phases.contains(.open), c.kind == .layerstore, c.profile.name == "layer", params.openAtTenTimes, r == 0 {
            try c.coldOpenAtTenTimes()
        }
        c.log("done in \(format(seconds(t0, now()))) s")
    }

    func note(_ message: String) {
        FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    }
}

/// The parts of a run `--phases` can pick: the machine's limits and the workload's phases.
enum Phase: String, CaseIterable, Sendable {
    case limits, load, open, reads, scans, commit, group, readers, cold, recovery
}
