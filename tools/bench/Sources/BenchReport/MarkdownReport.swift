//! The run as Markdown: per profile a table of engine × metric (median, and min–max across
//! repeats), LayerStore against the best peer and against the machine's limit; then the limits,
//! the targets and the peers' configurations.

/// Renders a ``RunResult`` as Markdown.
public enum MarkdownReport {
    /// The whole report.
    public static func render(_ run: RunResult) -> String {
        var out = "## LayerStore vs LMDB, SQLite, RocksDB — seed-280\n\n"
        out += "\(run.date), \(run.machine["cpu"] ?? "unknown CPU"), \(run.machine["cores"] ?? "?") cores, \(run.machine["memory"] ?? "?") RAM, \(run.machine["kernel"] ?? "").\n"
        out += run.quick
            ? "**Quick run**: \(format(run.scale * 100))% of the data and fewer operations; figures orient, they do not settle targets.\n"
            : "Full run: all 280 MiB per profile.\n"
        out += "Ratios: for rates more than 1 is better for LayerStore; for times, latencies and sizes less than 1 is.\n"
        out += "Median of \(run.repeats) repeat\(run.repeats == 1 ? "" : "s") (min–max in brackets); engines alternated; one process; \(format(run.seconds)) s in all.\n\n"
        for profile in run.profiles {
            out += table(run, profile) + "\n"
        }
        out += limits(run) + "\n" + targets(run) + "\n" + configurations(run)
        return out
    }

    static func cell(_ f: Figure?, repeats: Int) -> String {
        guard let f else { return "–" }
        if f.values.count > 1, f.min != f.max { return "\(format(f.median)) (\(format(f.min))–\(format(f.max)))" }
        return format(f.median)
    }

    /// One profile's table.
    public static func table(_ run: RunResult, _ profile: String) -> String {
        var out = "### Profile `\(profile)`\n\n"
        out += "| metric | unit | " + run.engines.map(Engines.display).joined(separator: " | ") + " | LayerStore / best peer | LayerStore / limit |\n"
        out += "|---|---|" + run.engines.map { _ in "---:|" }.joined() + "---:|---:|\n"
        for metric in Metric.engineMetrics {
            let cells = run.engines.map { cell(run.figure($0, profile, metric.id), repeats: run.repeats) }
            guard cells.contains(where: { $0 != "–" }) else { continue }
            var vsPeer = "–"
            // A peer at (nearly) zero, e.g. LMDB's settle time, gives no meaningful ratio.
            if metric.peerComparable, let ours = run.median(Engines.layerStore, profile, metric.id),
               let best = run.bestPeer(profile, metric.id), best.value > 0, abs(ours) / best.value < 1e4 {
                vsPeer = "\(format(ours / best.value))× (\(Engines.display(best.engine)))"
            }
            var vsLimit = "–"
            if let limit = metric.limit, let ours = run.median(Engines.layerStore, profile, metric.id),
               let l = run.median(Engines.limit, profile, limit), l != 0 {
                vsLimit = "\(format(ours / l))"
            }
            out += "| \(metric.label) | \(metric.unit) | " + cells.joined(separator: " | ") + " | \(vsPeer) | \(vsLimit) |\n"
        }
        return out
    }

    static func limits(_ run: RunResult) -> String {
        var out = "### The machine's limits (same run)\n\n| limit | unit | " + run.profiles.map { "`\($0)`" }.joined(separator: " | ") + " |\n"
        out += "|---|---|" + run.profiles.map { _ in "---:|" }.joined() + "\n"
        for metric in Metric.limitMetrics {
            let cells = run.profiles.map { cell(run.figure(Engines.limit, $0, metric.id), repeats: run.repeats) }
            guard cells.contains(where: { $0 != "–" }) else { continue }
            out += "| \(metric.label) | \(metric.unit) | " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }

    static func targets(_ run: RunResult) -> String {
        var out = "### Targets\n\n| target | value | goal | holds | from |\n|---|---:|---|---|---|\n"
        for t in run.targets {
            let holds = t.holds.map { $0 ? "yes" : "**no**" } ?? "not computed"
            out += "| \(t.name) | \(t.value.map(format) ?? "–") | \(t.goal) | \(holds) | \(t.note ?? "") |\n"
        }
        let computed = run.targets.filter { $0.holds != nil }
        out += "\n\(computed.filter { $0.holds == true }.count) of \(computed.count) computed targets hold.\n"
        return out
    }

    static func configurations(_ run: RunResult) -> String {
        var out = "### Configurations\n\n"
        for engine in run.engines {
            out += "- **\(Engines.display(engine))**: \(run.configurations[engine] ?? "")\n"
        }
        for (key, value) in run.parameters.sorted(by: { $0.key < $1.key }) {
            out += "- \(key): \(value)\n"
        }
        return out
    }
}
