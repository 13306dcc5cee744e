//! Collects the run's raw values as they are measured, one per repeat, and turns them into
//! figures at the end.

import BenchReport
import Synchronization

/// Every value measured, keyed by engine, profile and metric, in measurement order.
final class Recorder: Sendable {
    private struct State {
        var values: [String: [Double]] = [:]
        var order: [(engine: String, profile: String, metric: String)] = []
    }
    private let state = Mutex(State())

    /// Records one value. Non-finite values are dropped: a division by a zero duration is not
    /// a measurement.
    func add(_ engine: String, _ profile: String, _ metric: String, _ value: Double) {
        guard value.isFinite else { return }
        let key = "\(engine)|\(profile)|\(metric)"
        state.withLock { s in
            if s.values[key] == nil { s.order.append((engine, profile, metric)) }
            s.values[key, default: []].append(value)
        }
    }

    /// All figures, in the order first measured.
    func figures() -> [Figure] {
        state.withLock { s in
            s.order.map { e in
                Figure(engine: e.engine, profile: e.profile, metric: e.metric,
                       unit: Metric.named(e.metric)?.unit ?? "", values: s.values["\(e.engine)|\(e.profile)|\(e.metric)"] ?? [])
            }
        }
    }
}
