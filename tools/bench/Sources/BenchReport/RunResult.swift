//! Everything one benchmark run measured, as it is written to JSON: figures with every
//! repeat's value, the peers' configurations, the machine, and the targets computed from them.

import Foundation

/// The values one metric took for one engine and profile, one per repeat.
public struct Figure: Codable, Sendable, Equatable {
    /// The engine (``Engines``), or ``Engines/limit``.
    public var engine: String
    /// The workload profile (`layer` or `small`).
    public var profile: String
    /// The ``Metric/id``.
    public var metric: String
    /// The unit (copied from the metric, so the JSON reads on its own).
    public var unit: String
    /// One value per repeat, in the order measured.
    public var values: [Double]
    /// The median of ``values``.
    public var median: Double
    /// The smallest value.
    public var min: Double
    /// The largest value.
    public var max: Double

    /// A figure from its repeats.
    /// - Precondition: `values` is not empty.
    public init(engine: String, profile: String, metric: String, unit: String, values: [Double]) {
        self.engine = engine
        self.profile = profile
        self.metric = metric
        self.unit = unit
        self.values = values
        self.median = Statistics.median(values) ?? .nan
        self.min = values.min() ?? .nan
        self.max = values.max() ?? .nan
    }
}

/// One target of the issue, computed from the run's figures.
public struct Target: Codable, Sendable, Equatable {
    /// What is measured, e.g. `point reads 1 thread vs LMDB (layer)`.
    public var name: String
    /// The measured value (a ratio or an absolute figure); `nil` if the run could not compute it.
    public var value: Double?
    /// The goal, stated with its comparison, e.g. `>= 1.5`.
    public var goal: String
    /// Whether the value meets the goal; `nil` if not computed.
    public var holds: Bool?
    /// Why it was not computed, or how it was computed.
    public var note: String?

    /// A target.
    public init(name: String, value: Double?, goal: String, holds: Bool?, note: String? = nil) {
        self.name = name
        self.value = value
        self.goal = goal
        self.holds = holds
        self.note = note
    }
}

/// A whole run.
public struct RunResult: Codable, Sendable {
    /// When the run started (ISO 8601, UTC).
    public var date: String
    /// The machine: CPU model, cores, memory, kernel, file system of the data directory.
    public var machine: [String: String]
    /// `true` for a `--quick` run (scaled data, fewer operations).
    public var quick: Bool
    /// The fraction of the workload's records loaded (1 for a full run).
    public var scale: Double
    /// Repeats per phase.
    public var repeats: Int
    /// Profiles run.
    public var profiles: [String]
    /// Engines run, in table order.
    public var engines: [String]
    /// Each engine's configuration, in words.
    public var configurations: [String: String]
    /// Operation counts and other parameters of the run (reads per pass, commits, …).
    public var parameters: [String: String]
    /// Every figure.
    public var figures: [Figure]
    /// The targets.
    public var targets: [Target]
    /// Wall time of the run, seconds.
    public var seconds: Double

    /// An empty result for a run about to start.
    public init(date: String, machine: [String: String], quick: Bool, scale: Double, repeats: Int,
                profiles: [String], engines: [String], configurations: [String: String], parameters: [String: String]) {
        self.date = date
        self.machine = machine
        self.quick = quick
        self.scale = scale
        self.repeats = repeats
        self.profiles = profiles
        self.engines = engines
        self.configurations = configurations
        self.parameters = parameters
        self.figures = []
        self.targets = []
        self.seconds = 0
    }

    /// The figure for `metric` of `engine` in `profile`, if measured.
    public func figure(_ engine: String, _ profile: String, _ metric: String) -> Figure? {
        figures.first { $0.engine == engine && $0.profile == profile && $0.metric == metric }
    }

    /// The median of a figure, if measured.
    public func median(_ engine: String, _ profile: String, _ metric: String) -> Double? {
        figure(engine, profile, metric)?.median
    }

    /// The peer with the best median for `metric` in `profile` (by the metric's direction).
    public func bestPeer(_ profile: String, _ metric: String) -> (engine: String, value: Double)? {
        let higher = Metric.named(metric)?.higherIsBetter ?? true
        let candidates = engines.filter { $0 != Engines.layerStore }.compactMap { e in median(e, profile, metric).map { (e, $0) } }
        return candidates.max { higher ? $0.1 < $1.1 : $0.1 > $1.1 }
    }

    /// The JSON encoding (sorted keys, pretty): non-finite numbers become `null`.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }
}
