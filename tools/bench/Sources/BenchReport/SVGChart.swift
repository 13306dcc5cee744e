//! The run as a picture: for each headline metric and profile, one bar per peer showing how
//! many times better (right of the 1× line) or worse (left) LayerStore is, on a log scale.
//! Plain SVG written by hand: no dependency, opens in any browser.

/// Renders the headline ratios of a ``RunResult`` as an SVG chart.
public enum SVGChart {
    /// One bar: LayerStore against one peer on one metric, oriented so that > 1 means better.
    public struct Bar: Equatable, Sendable {
        /// Row label (metric and profile).
        public var row: String
        /// The peer.
        public var peer: String
        /// How many times better LayerStore is (< 1: worse).
        public var advantage: Double
    }

    /// The bars the chart shows, in order.
    public static func bars(_ run: RunResult) -> [Bar] {
        var bars: [Bar] = []
        for metric in Metric.engineMetrics where metric.charted {
            for profile in run.profiles {
                guard let ours = run.median(Engines.layerStore, profile, metric.id), ours > 0 else { continue }
                for peer in run.engines where peer != Engines.layerStore {
                    guard let theirs = run.median(peer, profile, metric.id), theirs > 0 else { continue }
                    let advantage = metric.higherIsBetter ? ours / theirs : theirs / ours
                    bars.append(Bar(row: "\(metric.label) (\(profile))", peer: peer, advantage: advantage))
                }
            }
        }
        return bars
    }

    static let colors = ["lmdb": "#4e79a7", "sqlite": "#f28e2b", "rocksdb": "#59a14f"]

    /// The SVG document.
    public static func render(_ run: RunResult) -> String {
        let bars = bars(run)
        var rows: [String] = []
        for bar in bars where !rows.contains(bar.row) { rows.append(bar.row) }
        let peers = run.engines.filter { $0 != Engines.layerStore }
        let barHeight = 9.0, rowGap = 10.0
        let rowHeight = Double(max(peers.count, 1)) * barHeight + rowGap
        let left = 400.0, plotWidth = 560.0, top = 78.0
        let height = top + Double(rows.count) * rowHeight + 60
        let width = left + plotWidth + 70
        // Log scale from 1/100 to 100: a 10× win and a 10× loss are the same length.
        let decades = 2.0
        func x(_ v: Double) -> Double {
            let clamped = min(max(v, 1 / 100), 100)
            return left + plotWidth / 2 + (log10(clamped) / decades) * (plotWidth / 2)
        }
        var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Int(width / 2))" y="22" text-anchor="middle" font-size="16" font-weight="bold">\(escape("How many times better LayerStore is than each peer (seed-280\(run.quick ? ", quick run" : ""))"))</text>
        <text x="\(Int(width / 2))" y="40" text-anchor="middle" fill="#555">\(escape("\(run.date) · \(run.machine["cpu"] ?? "") · median of \(run.repeats) · right of 1× = LayerStore wins, log scale"))</text>

        """
        // Legend.
        for (i, peer) in peers.enumerated() {
            let lx = left + Double(i) * 120
            svg += "<rect x=\"\(f(lx))\" y=\"50\" width=\"12\" height=\"12\" fill=\"\(colors[peer] ?? "#999")\"/>"
            svg += "<text x=\"\(f(lx + 16))\" y=\"60\">vs \(escape(Engines.display(peer)))</text>\n"
        }
        // Grid: decades and the 1× line.
        for v in [0.01, 0.1, 1, 10, 100] {
            let gx = x(v)
            svg += "<line x1=\"\(f(gx))\" y1=\"\(f(top - 6))\" x2=\"\(f(gx))\" y2=\"\(f(top + Double(rows.count) * rowHeight))\" stroke=\"\(v == 1 ? "#000" : "#ddd")\" stroke-width=\"\(v == 1 ? 1.5 : 1)\"/>"
            svg += "<text x=\"\(f(gx))\" y=\"\(f(top + Double(rows.count) * rowHeight + 16))\" text-anchor=\"middle\" fill=\"#555\">\(v >= 1 ? "\(Int(v))×" : "1/\(Int(1 / v))×")</text>\n"
        }
        svg += "<text x=\"\(f(x(1) - 8))\" y=\"\(f(top + Double(rows.count) * rowHeight + 36))\" text-anchor=\"end\" fill=\"#b22\">◀ LayerStore slower / larger</text>"
        svg += "<text x=\"\(f(x(1) + 8))\" y=\"\(f(top + Double(rows.count) * rowHeight + 36))\" fill=\"#282\">LayerStore faster / smaller ▶</text>\n"
        for (r, row) in rows.enumerated() {
            let y0 = top + Double(r) * rowHeight
            if r % 2 == 0 {
                svg += "<rect x=\"0\" y=\"\(f(y0 - rowGap / 2))\" width=\"\(f(width))\" height=\"\(f(rowHeight))\" fill=\"#f6f6f6\"/>"
            }
            svg += "<text x=\"\(f(left - 10))\" y=\"\(f(y0 + rowHeight / 2 - 2))\" text-anchor=\"end\">\(escape(row))</text>\n"
            for (i, peer) in peers.enumerated() {
                guard let bar = bars.first(where: { $0.row == row && $0.peer == peer }) else { continue }
                let by = y0 + Double(i) * barHeight
                let x1 = x(1), x2 = x(bar.advantage)
                svg += "<rect x=\"\(f(min(x1, x2)))\" y=\"\(f(by))\" width=\"\(f(max(abs(x2 - x1), 1)))\" height=\"\(f(barHeight - 1))\" fill=\"\(colors[peer] ?? "#999")\"><title>\(escape("\(row): LayerStore \(format(bar.advantage))× vs \(Engines.display(peer))"))</title></rect>"
                let label = bar.advantage >= 1 ? "\(format(bar.advantage))×" : "1/\(format(1 / bar.advantage))×"
                // A label goes beyond the bar's end, except near the plot's left edge, where it
                // would run into the row's name: there it goes inside the bar, in white.
                let inside = bar.advantage < 1 / 30
                let tx = bar.advantage >= 1 ? x2 + 3 : (inside ? x2 + 3 : x2 - 3)
                let anchor = bar.advantage >= 1 || inside ? "start" : "end"
                svg += "<text x=\"\(f(tx))\" y=\"\(f(by + barHeight - 1.5))\" font-size=\"8.5\" text-anchor=\"\(anchor)\"\(inside ? " fill=\"white\"" : "")>\(escape(label))</text>\n"
            }
        }
        svg += "</svg>\n"
        return svg
    }

    static func f(_ v: Double) -> String { String((v * 10).rounded() / 10) }

    /// Escapes text for XML content and attributes.
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
