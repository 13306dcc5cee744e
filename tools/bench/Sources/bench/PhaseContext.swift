//! What every phase of one engine's run shares: the engine kind, the data set and its checks,
//! the run's parameters, where the store lives and where figures go.

import Foundation
import LayerStoreWorkload

/// One engine, one profile, one repeat.
struct PhaseContext: Sendable {
    let kind: EngineKind
    let data: DataSet
    let params: RunParameters
    let recorder: Recorder
    /// The store's directory (created by the engine).
    let path: String
    /// Random read pass 0, prepared once per profile.
    let readPass: ReadPass

    var engine: String { kind.rawValue }
    var profile: WorkloadProfile { data.profile }
    /// Dimensions the engine opens: the workload's and the phases' own.
    var dimensionCount: Int { profile.dimensionCount + RunParameters.extraDimensions }

    func record(_ metric: String, _ value: Double) {
        recorder.add(engine, profile.name, metric, value)
    }

    func open(_ mode: OpenMode = OpenMode(), at path: String? = nil) throws -> any Engine {
        try kind.open(path: path ?? self.path, dimensionCount: dimensionCount, mode: mode)
    }

    /// Prints a progress line to stderr (stdout carries the report).
    func log(_ message: String) {
        FileHandle.standardError.write(Data("  [\(profile.name) \(engine)] \(message)\n".utf8))
    }
}
