//! A one-line progress bar on standard error, for long work (`verify`, `recover`, `compact`,
//! `import`, `export`). With no known total it shows the bytes done and the rate, no bar.
//!
//! Invariants: it draws only when standard error is a terminal (`isatty(2)`), so pipes, files
//! and tests see nothing; it first draws after a fifth of a second (a quick run shows no bar at
//! all) and then at most ten times a second, so a caller may report progress as often as it
//! likes; `finish()` erases the line, leaving the terminal as it was.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A progress bar drawn in place on standard error.
final class ProgressBar {
    /// `false` when standard error is not a terminal: every call is then a no-op.
    let isEnabled: Bool
    private let label: String
    private let started = monotonicNanoseconds()
    private var lastDrawn: UInt64 = 0
    private var drawn = false
    /// Redraw at most this often.
    private static let intervalNanoseconds: UInt64 = 100_000_000
    /// Draw nothing before this much time has passed.
    private static let delayNanoseconds: UInt64 = 200_000_000
    private static let width = 30

    /// - Parameters:
    ///   - label: shown before the bar, e.g. `verify`.
    ///   - enabled: `false` to force it off (for example with `--json`, whose output a person
    ///     rarely watches); it is off anyway when standard error is not a terminal.
    init(label: String, enabled: Bool = true) {
        self.label = label
        self.isEnabled = enabled && isatty(2) == 1
    }

    /// Shows `done` of `total` bytes (a `total` of 0 or less: unknown), and what is being
    /// worked on.
    func update(done: Int, total: Int, item: String) {
        guard isEnabled else { return }
        let now = monotonicNanoseconds()
        guard now - started >= ProgressBar.delayNanoseconds, !drawn || now - lastDrawn >= ProgressBar.intervalNanoseconds else { return }
        lastDrawn = now
        drawn = true
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let filled = Int(fraction * Double(ProgressBar.width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: ProgressBar.width - filled)
        let seconds = Double(now - started) / 1e9
        let rate = seconds > 0 ? Double(done) / seconds / 1e9 : 0
        var line = total > 0
            ? "\(label) [\(bar)] \(fixed(fraction * 100, 0))% \(byteText(done)) of \(byteText(total)), \(fixed(rate)) GB/s  \(item)"
            : "\(label) \(byteText(done)), \(fixed(rate * 1000, 1)) MB/s  \(item)"
        if line.count > 120 { line = String(line.prefix(119)) + "…" }
        emit("\r\u{1B}[K" + line)
    }

    /// Erases the bar (call before printing results).
    func finish() {
        guard isEnabled, drawn else { return }
        emit("\r\u{1B}[K")
        drawn = false
    }

    private func emit(_ text: String) {
        Array(text.utf8).withUnsafeBytes { writeAll(2, $0) }
    }
}

/// A byte count for people: `512 B`, `17.5 MiB`, `1.20 GiB`.
func byteText(_ count: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024 && unit + 1 < units.count {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(count) B" : "\(fixed(value, value < 10 ? 2 : 1)) \(units[unit])"
}
