//! The issue's targets, computed from one run's medians. A target whose figures the run does
//! not have (an engine left out, a phase skipped in a quick run) is reported as not computed,
//! never guessed.

import Foundation

/// Computes the targets of the benchmark issue from a run's figures.
public enum Targets {
    /// Every target, for every profile the run has.
    public static func compute(_ run: RunResult) -> [Target] {
        var targets: [Target] = []
        for profile in run.profiles {
            targets += perProfile(run, profile)
        }
        if run.profiles.contains("layer") { targets += layerOnly(run) }
        if run.profiles.contains("small") {
            targets.append(ratio(run, "small: full scan GB/s vs LMDB's", "small", "scan16.gbps", against: "lmdb", goal: ">= 2", atLeast: 2))
        }
        // A quick run's figures come from a fraction of the data: they indicate, they do not settle.
        if run.quick {
            for i in targets.indices where targets[i].holds != nil {
                targets[i].note = "quick run, \(format(run.scale * 100))% of the data: indicative only" + (targets[i].note.map { "; " + $0 } ?? "")
            }
        }
        return targets
    }

    static func perProfile(_ run: RunResult, _ p: String) -> [Target] {
        var t: [Target] = []
        t.append(ratio(run, "\(p): point reads/s, 1 thread, vs LMDB", p, "read1.ops", against: "lmdb", goal: ">= 1.5", atLeast: 1.5))
        t.append(ratio(run, "\(p): point read p99, 1 thread, vs LMDB's", p, "read1.p99_ns", against: "lmdb", goal: "<= 1", atMost: 1))
        t.append(absolute(run, "\(p): point reads, 2 threads / 1 thread", p, "read2.scaling", goal: ">= 1.8") { $0 >= 1.8 })
        t.append(Target(name: "\(p): heap allocations per point read", value: nil, goal: "0", holds: nil,
                        note: "counted by the microbenchmarks (swift package benchmark: \"point read, hot tier\"), not by this run"))
        t.append(absolute(run, "\(p): cold open to first value, ms", p, "open.ms", goal: "<= 0.5") { $0 <= 0.5 })
        t.append(ratio(run, "\(p): durable load MB/s vs best peer", p, "load.mbps", against: nil, goal: ">= 1.5", atLeast: 1.5))
        t.append(ratio(run, "\(p): durable load records/s vs best peer", p, "load.records_ps", against: nil, goal: ">= 1.5", atLeast: 1.5))
        t.append(absolute(run, "\(p): size on disk / data (hot, closed)", p, "load.size_ratio", goal: "<= 1.1") { $0 <= 1.1 })
        t.append(ratio(run, "\(p): cold-tier size on disk vs RocksDB's (LZ4)", p, "cold.size_ratio", against: "rocksdb", goal: "<= 1", atMost: 1))
        t.append(ratio(run, "\(p): one-record commit p50 vs best peer's", p, "commit.p50_us", against: nil, goal: "<= 1", atMost: 1))
        t.append(limitRatio(run, "\(p): one-record commit p50 / fdatasync of an in-place overwrite", p, "commit.p50_us",
                            limit: "limit.fdatasync_overwrite_us", goal: "<= 1.2") { $0 <= 1.2 })
        t.append(absolute(run, "\(p): group commit, 64 committers / 1", p, "group.ratio", goal: ">= 10") { $0 >= 10 })
        t.append(twoFigures(run, "\(p): reader p99 around publications / p99 without writes", p, "ruw.p99_swap_ns", "ruw.p99_base_ns", goal: "<= 2") { $0 <= 2 })
        t.append(limitRatio(run, "\(p): cold scan / LZ4 decompression (16 KiB blocks)", p, "cold.scan16_gbps",
                            limit: "limit.lz4_decompress_16k_gbps", goal: ">= 0.5") { $0 >= 0.5 })
        t.append(ratio(run, "\(p): cold scan GB/s vs RocksDB's (LZ4)", p, "cold.scan16_gbps", against: "rocksdb", goal: ">= 3", atLeast: 3))
        t.append(absolute(run, "\(p): cold point read p99, µs", p, "cold.read_p99_ns", scale: 1e-3, goal: "< 20") { $0 < 20 })
        t.append(absolute(run, "\(p): WAL replay, GB/s", p, "recovery.gbps", goal: ">= 1") { $0 >= 1 })
        return t
    }

    static func layerOnly(_ run: RunResult) -> [Target] {
        [
            limitRatio(run, "layer: full scan / XXH3 limit, verification on first read only", "layer", "scan16.gbps",
                       limit: "limit.xxh3_values_gbps", goal: ">= 0.8") { $0 >= 0.8 },
            limitRatio(run, "layer: full scan / XXH3 limit, every block verified", "layer", "scan16_verify.gbps",
                       limit: "limit.xxh3_values_gbps", goal: ">= 0.5") { $0 >= 0.5 },
            run.quick
                ? Target(name: "layer: cold open at 10x the data / at 1x", value: nil, goal: "<= 2", holds: nil,
                         note: "a quick run builds no 10x store; see a full run")
                : twoFigures(run, "layer: cold open at 10x the data / at 1x", "layer", "open10x.ms", "open.ms", goal: "<= 2") { $0 <= 2 },
        ]
    }

    /// LayerStore's median over a peer's (`against`), or over the best peer's when `against` is nil.
    static func ratio(_ run: RunResult, _ name: String, _ p: String, _ metric: String, against: String?,
                      goal: String, atLeast: Double? = nil, atMost: Double? = nil) -> Target {
        guard let ours = run.median(Engines.layerStore, p, metric) else {
            return Target(name: name, value: nil, goal: goal, holds: nil, note: "LayerStore's \(metric) not measured in this run")
        }
        let peer: (engine: String, value: Double)?
        if let against { peer = run.median(against, p, metric).map { (against, $0) } } else { peer = run.bestPeer(p, metric) }
        guard let peer, peer.value != 0 else {
            return Target(name: name, value: nil, goal: goal, holds: nil, note: "\(against ?? "no peer")'s \(metric) not measured in this run")
        }
        let r = ours / peer.value
        let holds = atLeast.map { r >= $0 } ?? atMost.map { r <= $0 } ?? false
        return Target(name: name, value: r, goal: goal, holds: holds,
                      note: "LayerStore \(format(ours)) / \(Engines.display(peer.engine)) \(format(peer.value))")
    }

    /// LayerStore's median over the machine's limit.
    static func limitRatio(_ run: RunResult, _ name: String, _ p: String, _ metric: String, limit: String,
                           goal: String, _ test: (Double) -> Bool) -> Target {
        guard let ours = run.median(Engines.layerStore, p, metric), let l = run.median(Engines.limit, p, limit), l != 0 else {
            return Target(name: name, value: nil, goal: goal, holds: nil, note: "\(metric) or \(limit) not measured in this run")
        }
        return Target(name: name, value: ours / l, goal: goal, holds: test(ours / l), note: "LayerStore \(format(ours)) / limit \(format(l))")
    }

    /// One of LayerStore's figures over another of its own.
    static func twoFigures(_ run: RunResult, _ name: String, _ p: String, _ a: String, _ b: String,
                           goal: String, _ test: (Double) -> Bool) -> Target {
        guard let x = run.median(Engines.layerStore, p, a), let y = run.median(Engines.layerStore, p, b), y != 0 else {
            return Target(name: name, value: nil, goal: goal, holds: nil, note: "\(a) or \(b) not measured in this run")
        }
        return Target(name: name, value: x / y, goal: goal, holds: test(x / y), note: "\(format(x)) / \(format(y))")
    }

    /// One of LayerStore's figures on its own (times `scale`).
    static func absolute(_ run: RunResult, _ name: String, _ p: String, _ metric: String, scale: Double = 1,
                         goal: String, _ test: (Double) -> Bool) -> Target {
        guard let v = run.median(Engines.layerStore, p, metric) else {
            return Target(name: name, value: nil, goal: goal, holds: nil, note: "\(metric) not measured in this run")
        }
        return Target(name: name, value: v * scale, goal: goal, holds: test(v * scale))
    }
}

/// A number with about four significant digits, for notes and tables.
public func format(_ v: Double) -> String {
    guard v.isFinite else { return v.isNaN ? "–" : (v > 0 ? "inf" : "-inf") }
    let a = abs(v)
    let decimals: Int
    switch a {
    case 1000...: decimals = 0
    case 100..<1000: decimals = 1
    case 10..<100: decimals = 2
    case 1..<10: decimals = 2
    case 0.01..<1: decimals = 3
    case 0: decimals = 0
    default: return String(format: "%.2g", v)
    }
    if a >= 1_000_000 { return withSeparators(Int(v.rounded())) }
    if decimals == 0 { return withSeparators(Int(v.rounded())) }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (v * scale).rounded() / scale
    var s = String(r)
    if s.contains("e") { return String(v) }
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < decimals { s += String(repeating: "0", count: decimals - have) }
    }
    return s
}

/// An integer with thin thousands separators (`1,350,000`).
func withSeparators(_ n: Int) -> String {
    let digits = String(abs(n))
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return n < 0 ? "-" + out : out
}
