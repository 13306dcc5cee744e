//! Targets are computed from medians, honestly: a ratio against the named or best peer, a
//! fraction of a limit, and "not computed" when a figure is missing.

import BenchReport
import Foundation
import Testing

func run(_ figures: [(String, String, String, [Double])], profiles: [String] = ["layer"]) -> RunResult {
    var r = RunResult(date: "2026-11-25T00:00:00Z", machine: [:], quick: false, scale: 1, repeats: 1, profiles: profiles,
                      engines: ["layerstore", "lmdb", "sqlite", "rocksdb"], configurations: [:], parameters: [:])
    r.figures = figures.map { Figure(engine: $0.0, profile: $0.1, metric: $0.2, unit: "", values: $0.3) }
    r.targets = Targets.compute(r)
    return r
}

func target(_ r: RunResult, _ prefix: String) -> Target? { r.targets.first { $0.name.hasPrefix(prefix) } }

@Test func readTargetAgainstLMDB() throws {
    let r = run([("layerstore", "layer", "read1.ops", [2_000_000, 2_100_000, 1_900_000]), ("lmdb", "layer", "read1.ops", [1_000_000])])
    let t = try #require(target(r, "layer: point reads/s, 1 thread"))
    #expect(t.value == 2.0)
    #expect(t.holds == true)
}

@Test func bestPeerFollowsTheMetricsDirection() throws {
    // Latency: lower is better, so the best peer is the one with the smallest p50.
    let r = run([("layerstore", "layer", "commit.p50_us", [300]), ("lmdb", "layer", "commit.p50_us", [600]),
                 ("sqlite", "layer", "commit.p50_us", [250]), ("rocksdb", "layer", "commit.p50_us", [400])])
    #expect(r.bestPeer("layer", "commit.p50_us")?.engine == "sqlite")
    let t = try #require(target(r, "layer: one-record commit p50 vs best peer"))
    #expect(t.value == 1.2)
    #expect(t.holds == false)
}

@Test func limitRatioAndMissingFigures() throws {
    let r = run([("layerstore", "layer", "scan16.gbps", [8]), ("limit", "layer", "limit.xxh3_values_gbps", [10])])
    let scan = try #require(target(r, "layer: full scan / XXH3 limit, verification on first read only"))
    #expect(scan.value == 0.8)
    #expect(scan.holds == true)
    let open10x = try #require(target(r, "layer: cold open at 10x"))
    #expect(open10x.value == nil)
    #expect(open10x.holds == nil)
    #expect(open10x.note?.contains("not measured") == true)
}

@Test func jsonCarriesFiguresAndTargets() throws {
    let r = run([("layerstore", "layer", "group.ratio", [12])])
    let object = try #require(try JSONSerialization.jsonObject(with: r.jsonData()) as? [String: Any])
    let targets = try #require(object["targets"] as? [[String: Any]])
    let group = try #require(targets.first { ($0["name"] as? String)?.hasPrefix("layer: group commit") == true })
    #expect(group["value"] as? Double == 12)
    #expect(group["holds"] as? Bool == true)
    #expect(group["goal"] as? String == ">= 10")
    #expect((object["figures"] as? [[String: Any]])?.count == 1)
}

@Test func markdownHasATableRowPerMeasuredMetric() {
    let r = run([("layerstore", "layer", "read1.ops", [2e6]), ("lmdb", "layer", "read1.ops", [1e6])])
    let md = MarkdownReport.render(r)
    #expect(md.contains("| point reads, 1 thread | ops/s | 2,000,000 | 1,000,000 | – | – | 2.00× (LMDB) | – |"))
    #expect(md.contains("### Targets"))
}

@Test func numbersReadWell() {
    #expect(format(1_350_000) == "1,350,000")
    #expect(format(244.04) == "244.0")
    #expect(format(0.5) == "0.500")
    #expect(format(0.000012) == "1.2e-05")
    #expect(format(0) == "0")
    #expect(format(.nan) == "–")
}
