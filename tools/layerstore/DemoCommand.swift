//! `layerstore demo [DIR]`: builds a store of the standard workload's shape and shows what it
//! does: a durable load, a flush, a cold open, random point reads, full scans and group commit,
//! each measured.

import ArgumentParser
import Foundation
import LayerStore
import LayerStoreWorkload

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Create a demo store of the standard workload's shape and measure it.",
        discussion: """
            By default loads 10% of the 280 MiB workload (layer profile) into a new directory; \
            --full loads all of it. The directory must not exist (or pass --replace).
            --json prints the phases' lines on stderr and, at the end, one object on stdout: \
            directory, profile, and summary (an array of {phase, result}, as in the closing \
            table).
            Exit codes: 0 done; 2 usage error (including DIR exists without --replace); \
            3 store failure (I/O error, disk full, a record that did not read back).
            """)

    @Argument(help: "Where to create the demo store (default: a new directory under /tmp).")
    var directory: String?
    @Option(help: "Workload profile: layer (4 KiB values) or small (100-byte values).")
    var profile: String = "layer"
    @Flag(help: "Load the full 280 MiB instead of 10% of it.")
    var full = false
    @Option(help: "Random point reads to time.")
    var reads: Int = 1_000_000
    @Option(help: "Committer counts for the group-commit measurement, comma-separated.")
    var committers: String = "1,8,64"
    @Option(help: "Seconds per group-commit measurement.")
    var commitSeconds: Double = 2
    @Flag(help: "Delete DIR first if it exists.")
    var replace = false
    @Flag(help: "Skip the cold-tier phase (LZ4 compaction), leaving the store uncompressed.")
    var noCold = false
    @Flag(help: "Print the summary as JSON on stdout (the phases' lines go to stderr).")
    var json = false

    /// `--json`'s object.
    struct Output: Encodable {
        struct Row: Encodable {
            var phase: String
            var result: String
        }
        var directory: String
        var profile: String
        var summary: [Row]
    }

    func validate() throws {
        guard profile == "layer" || profile == "small" else { throw ValidationError("--profile must be layer or small") }
        guard reads >= 1 else { throw ValidationError("--reads must be positive") }
        guard committerCounts != nil else { throw ValidationError("--committers must be positive integers, e.g. 1,8,64") }
    }

    var committerCounts: [Int]? {
        let parts = committers.split(separator: ",").map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return parts.map { $0! }
    }

    func run() throws {
        let base = full ? (profile == "layer" ? WorkloadProfile.layer : .small) : (profile == "layer" ? WorkloadProfile.layer : .small).scaled(0.1)
        let path = directory ?? NSTemporaryDirectory() + "layerstore-demo-\(getpid())"
        if FileManager.default.fileExists(atPath: path) {
            guard replace else { throw ValidationError("\(path) exists; pass --replace to delete it first") }
            try FileManager.default.removeItem(atPath: path)
        }
        // With --json, stdout carries only the JSON: the running commentary goes to stderr.
        let standardOutput = json ? redirectStandardOutputToStandardError() : nil
        print("LayerStore demo: profile \(base.name), \(base.dimensionCount) dimensions x \(base.recordsPerDimension) records of \(base.valueByteCount) bytes (\(fixed(Double(base.valueBytes) / 1048576, 1)) MiB) in \(path)")
        var demo = DemoRun(path: path, profile: base)
        try demo.load()
        try demo.reopen()
        try demo.pointReads(count: reads)
        try demo.scans()
        try demo.groupCommit(committerCounts!, seconds: commitSeconds)
        let crash = try demo.crashAndRecover()
        if !noCold { try demo.coldTier(reads: reads) }
        try demo.store?.close()
        demo.summary.add("kill -9 and recover", crash)
        demo.summary.print()
        print("store left at \(path)")
        if let standardOutput {
            restoreStandardOutput(standardOutput)
            try printJSON(Output(directory: path, profile: base.name,
                                 summary: demo.summary.rows.map { Output.Row(phase: $0.phase, result: $0.result) }))
        }
    }
}

/// The demo's measurements, one method a phase.
struct DemoRun {
    let path: String
    let profile: WorkloadProfile
    var store: Store?
    /// The headline figure of each phase, for the table at the end.
    let summary = DemoSummary()

    init(path: String, profile: WorkloadProfile) {
        self.path = path
        self.profile = profile
    }

    mutating func load() throws {
        let store = try Store(path: path)
        let start = monotonicNanoseconds()
        var batch = WriteBatch()
        for dim in 0..<profile.dimensionCount {
            let name = Workload.dimensionName(dim)
            for rec in 0..<profile.recordsPerDimension {
                try batch.put(Workload.value(dimension: dim, record: rec, count: profile.valueByteCount),
                              forKey: Workload.key(dimension: dim, record: rec), in: name)
                if batch.count == 1000 { try store.commit(batch); batch.removeAll() }
            }
        }
        try store.commit(batch)
        let loaded = monotonicNanoseconds()
        try store.flush()
        let settled = monotonicNanoseconds()
        try store.close()
        let seconds = Double(loaded - start) / 1e9
        let size = directorySize(path)
        print("load      \(fixed(Double(profile.valueBytes) / 1e6 / seconds, 1)) MB/s, \(Int(Double(profile.recordCount) / seconds)) records/s (1000 records per synced commit, \(fixed(seconds, 2)) s)")
        summary.add("durable load", "\(fixed(Double(profile.valueBytes) / 1e6 / seconds, 1)) MB/s")
        print("flush     \(fixed(Double(settled - loaded) / 1e6, 1)) ms to settle; \(fixed(Double(size) / 1048576, 1)) MiB on disk (\(fixed(Double(size) / Double(profile.valueBytes), 3))x the values)")
    }

    mutating func reopen() throws {
        var readOnly = StoreOptions()
        readOnly.readOnly = true
        let key = Workload.key(dimension: 0, record: 0)
        var ro: [Double] = [], rw: [Double] = []
        for _ in 0..<5 {
            let t0 = monotonicNanoseconds()
            let s = try Store(path: path, options: readOnly)
            _ = try s.withValue(forKey: key, in: Workload.dimensionName(0)) { $0.byteCount }
            ro.append(Double(monotonicNanoseconds() - t0) / 1e6)
            try s.close()
        }
        for _ in 0..<5 {
            let t0 = monotonicNanoseconds()
            let s = try Store(path: path)
            _ = try s.withValue(forKey: key, in: Workload.dimensionName(0)) { $0.byteCount }
            rw.append(Double(monotonicNanoseconds() - t0) / 1e6)
            try s.close()
        }
        print("open      \(fixed(ro.sorted()[2], 3)) ms read-only, \(fixed(rw.sorted()[2], 3)) ms as writer, to the first value (median of 5, in process)")
        summary.add("open to first value", "\(fixed(ro.sorted()[2], 3)) ms")
        store = try Store(path: path)
    }

    /// Compacts everything into LZ4 segments, then reads and scans again from the cold tier.
    func coldTier(reads: Int) throws {
        let store = store!
        // The workload's dimensions only (the group-commit phase wrote a "commits" dimension of
        // its own, compacted too but not counted).
        let workload = Set((0..<profile.dimensionCount).map(Workload.dimensionName))
        let size = { workload.reduce(0) { $0 + directorySize(path + "/dims/" + $1) } }
        let before = size()
        var options = CompactionOptions()
        options.compression = .lz4
        var report = try store.compact(options)
        let rate = report.megabytesPerSecond  // of everything compacted
        report.dimensions = report.dimensions.filter { workload.contains($0.dimension) }
        let after = size()
        let segmentsBefore = report.dimensions.reduce(0) { $0 + $1.segmentsBefore }
        let segmentsAfter = report.dimensions.reduce(0) { $0 + $1.segmentsAfter }
        summary.add("LZ4 compaction", "\(fixed(Double(before) / 1048576, 1)) -> \(fixed(Double(after) / 1048576, 1)) MiB")
        print("compact   \(segmentsBefore) -> \(segmentsAfter) segments, LZ4: \(fixed(Double(before) / 1048576, 1)) -> \(fixed(Double(after) / 1048576, 1)) MiB (ratio \(fixed(Double(before) / Double(max(after, 1)), 2))), \(fixed(rate, 1)) MB/s (all dimensions), \(fixed(report.seconds, 2)) s")
        try pointReads(count: reads, label: "cold reads")
        try scans(label: "cold scan")
        // The limit: LZ4's own decompression of the same values, in 64 KiB blocks, in memory.
        var raw: [UInt8] = []
        for rec in 0..<min(profile.recordsPerDimension, 4096) {
            raw += Workload.value(dimension: 7, record: rec, count: profile.valueByteCount)
        }
        for blockSize in [CompactionOptions.coldBlockByteCountTarget, 64 << 10] {
            let limit = try LZ4Limit.measure(raw, blockSize: blockSize)
            print("lz4 limit \(fixed(limit.ratio, 2))x on these values in \(blockSize >> 10) KiB blocks, decompression \(fixed(limit.gigabytesPerSecond, 2)) GB/s (one thread, in memory)")
        }
    }

    func pointReads(count: Int, label: String = "reads") throws {
        let store = store!
        let total = profile.recordCount
        let names = (0..<profile.dimensionCount).map(Workload.dimensionName)
        var expected: UInt64 = 0
        let records = Workload.randomRecords(pass: 0, count: count, total: total)
        var keys = [[UInt8]](); keys.reserveCapacity(count)
        for r in records {
            let dim = r / profile.recordsPerDimension, rec = r % profile.recordsPerDimension
            keys.append(Workload.key(dimension: dim, record: rec))
            expected ^= Workload.value(dimension: dim, record: rec, count: profile.valueByteCount).withUnsafeBytes(Workload.touch)
        }
        var latencies = [UInt64](repeating: 0, count: count)
        for pass in 0..<2 {  // one uncounted warm pass, then the timed one
            var sum: UInt64 = 0
            let start = monotonicNanoseconds()
            for i in 0..<count {
                let t0 = monotonicNanoseconds()
                let dim = records[i] / profile.recordsPerDimension
                sum ^= try store.withValue(forKey: keys[i], in: names[dim]) { span in span.withUnsafeBytes(Workload.touch) } ?? 0
                latencies[i] = monotonicNanoseconds() - t0
            }
            let elapsed = Double(monotonicNanoseconds() - start) / 1e9
            guard sum == expected else { throw StoreError(.corrupted, "point-read checksum mismatch") }
            if pass == 1 {
                latencies.sort()
                summary.add(label == "reads" ? "point reads" : "cold point reads", "\(fixed(Double(count) / elapsed / 1e6, 2)) M/s, p99 \(percentile(latencies, 0.99)) ns")
                print("\(label.padding(toLength: 10, withPad: " ", startingAt: 0)) \(count) random gets, 1 thread: \(fixed(Double(count) / elapsed / 1e6, 3)) M/s, p50 \(percentile(latencies, 0.5)) ns, p99 \(percentile(latencies, 0.99)) ns (values checked)")
            }
        }
    }

    func scans(label: String = "scan") throws {
        let store = store!
        func expectedSum(_ dims: Range<Int>) -> UInt64 {
            var sum: UInt64 = 0
            for dim in dims {
                for rec in 0..<profile.recordsPerDimension {
                    sum &+= Workload.value(dimension: dim, record: rec, count: profile.valueByteCount).withUnsafeBytes { Checksum.xxh3($0, seed: 0) }
                }
            }
            return sum
        }
        for (what, dims) in [("dimension 7", 7..<8), ("all 16", 0..<profile.dimensionCount)] {
            let expected = expectedSum(dims)
            var best = Double.infinity
            for _ in 0..<3 {
                var sum: UInt64 = 0
                let start = monotonicNanoseconds()
                let snapshot = try store.snapshot()
                for dim in dims {
                    try snapshot.scan(Workload.dimensionName(dim)) { _, value in
                        sum &+= value.withUnsafeBytes { Checksum.xxh3($0, seed: 0) }
                        return true
                    }
                }
                best = min(best, Double(monotonicNanoseconds() - start) / 1e9)
                guard sum == expected else { throw StoreError(.corrupted, "scan hash sum mismatch") }
            }
            let bytes = Double(dims.count * profile.recordsPerDimension * profile.valueByteCount)
            if dims.count > 1 { summary.add(label == "scan" ? "full scan" : "cold full scan", "\(fixed(best * 1000, 1)) ms, \(fixed(bytes / best / 1e9, 1)) GB/s") }
            print("\(label.padding(toLength: 10, withPad: " ", startingAt: 0)) \(what): \(fixed(bytes / 1048576, 1)) MiB in \(fixed(best * 1000, 2)) ms, \(fixed(bytes / best / 1e9, 2)) GB/s (XXH3 of every value, sum checked; best of 3)")
        }
    }

    func groupCommit(_ counts: [Int], seconds: Double) throws {
        let store = store!
        var baseline = 0.0
        var line = "commit    synced one-record commits/s:"
        for committers in counts {
            let stop = Atomic(false)
            let done = Atomic(0)
            let failures = Atomic(0)
            let value = [UInt8](repeating: 7, count: profile.valueByteCount)
            let group = DispatchGroup()
            let syncsBefore = store.walSyncCount
            let start = monotonicNanoseconds()
            for t in 0..<committers {
                group.enter()
                let thread = Thread {
                    var i = 0
                    while !stop.value {
                        do {
                            try store.put(value, forKey: Array("c\(committers)-\(t)-\(i)".utf8), in: "commits")
                            done.add(1)
                        } catch { failures.add(1); break }
                        i += 1
                    }
                    group.leave()
                }
                thread.start()
            }
            Thread.sleep(forTimeInterval: seconds)
            stop.value = true
            group.wait()
            let elapsed = Double(monotonicNanoseconds() - start) / 1e9
            guard failures.value == 0 else { throw StoreError(.ioFailure, "\(failures.value) commits failed") }
            let rate = Double(done.value) / elapsed
            if baseline == 0 { baseline = rate }
            let perSync = Double(done.value) / Double(max(1, store.walSyncCount - syncsBefore))
            line += " \(committers): \(Int(rate)) (\(fixed(rate / baseline, 1))x, \(fixed(perSync, 1)) per sync)"
        }
        print(line)
        summary.add("group commit", line.split(separator: ":", maxSplits: 1).last.map { String($0.dropFirst()) } ?? line)
    }
}

/// A tiny lock-based box for the demo's threads.
final class Atomic<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ v: T) { stored = v }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

extension Atomic where T == Int {
    func add(_ n: Int) { lock.lock(); stored += n; lock.unlock() }
}

/// Bytes of all regular files below `path` (allocated size).
func directorySize(_ path: String) -> Int {
    guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total = 0
    while let name = e.nextObject() as? String {
        var info = stat()
        if stat(path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { total += Int(info.st_blocks) * 512 }
    }
    return total
}

/// The demo's closing table: one headline figure per phase.
final class DemoSummary {
    private(set) var rows: [(phase: String, result: String)] = []

    func add(_ phase: String, _ result: String) { rows.append((phase, result)) }

    func print() {
        let width = rows.map(\.phase.count).max() ?? 0
        Swift.print("\nsummary")
        for row in rows { Swift.print("  " + row.phase.padding(toLength: width + 2, withPad: " ", startingAt: 0) + row.result) }
    }
}
