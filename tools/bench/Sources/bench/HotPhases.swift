//! The workload's phases on the hot (uncompressed) store: durable load, point reads on one
//! and two threads, scans with XXH3, one-record durable commits. Every value read is checked
//! against the generator; a wrong one stops the run.

import BenchReport
import CBenchXXHash
import Foundation
import LayerStoreWorkload
import Synchronization

extension PhaseContext {
    /// Phase 1: every record in key order, 1,000 per synced commit; then settle and size.
    func load(_ engine: any Engine) throws {
        let session = try engine.makeSession()
        defer { session.close() }
        var committing: UInt64 = 0
        for batch in RecordBatch.batches(of: 1000, records: 0..<profile.recordCount,
                                         recordsPerDimension: profile.recordsPerDimension, valueByteCount: profile.valueByteCount) {
            let t0 = now()
            try session.commit(batch)
            committing &+= now() &- t0
        }
        let t0 = now()
        try engine.settle()
        let settle = seconds(t0, now())
        let loadSeconds = Double(committing) / 1e9
        record("load.mbps", Double(profile.valueBytes) / 1e6 / loadSeconds)
        record("load.records_ps", Double(profile.recordCount) / loadSeconds)
        record("load.settle_s", settle)
        let size = allocatedBytes(under: path)
        record("load.size_ratio_open", Double(size) / Double(profile.valueBytes))
        log("load \(format(Double(profile.valueBytes) / 1e6 / loadSeconds)) MB/s, settle \(format(settle)) s, \(format(Double(size) / 1048576)) MiB on disk")
    }

    /// The store's size at rest, after the load's engine closed: an open engine may hold files
    /// for the writes to come (preallocated or recycled WAL space), which the open size counts.
    func closedSize() {
        let size = allocatedBytes(under: path)
        record("load.size_ratio", Double(size) / Double(profile.valueBytes))
        log("closed: \(format(Double(size) / 1048576)) MiB on disk")
    }

    /// Phase 3: uniform random gets, one uncounted warm pass, then timed on 1 thread (with
    /// per-read latency) and on 2 threads. `prefix` is `read` or `cold.read`.
    func pointReads(_ engine: any Engine, prefix: String, twoThreads: Bool) throws {
        let pass = readPass
        let session = try engine.makeSession()
        defer { session.close() }
        var latencies = [UInt64](repeating: 0, count: pass.count)
        var elapsed = 0.0
        var done = 0
        let deadline = UInt64(params.phaseSecondsMax * 1e9)
        for round in 0..<2 {
            let start = now()
            done = pass.count
            for i in 0..<pass.count {
                if i & 1023 == 0, now() &- start > deadline { done = i; break }
                let t0 = now()
                let touched = try session.touch(pass.keys[i], dimension: pass.dimensions[i])
                latencies[i] = now() &- t0
                guard touched == pass.expected[i] else {
                    throw BenchError.wrongAnswer(engine: self.engine, "\(prefix) round \(round)", "read \(i): got \(touched.map { String($0) } ?? "nothing"), expected \(pass.expected[i])")
                }
            }
            elapsed = seconds(start, now())
        }
        latencies.removeSubrange(done...)
        latencies.sort()
        let ops = Double(done) / elapsed
        let metric = prefix == "read" ? "read1." : "cold.read_"
        record("\(metric)ops", ops)
        record("\(metric)p50_ns", Double(Statistics.percentile(sorted: latencies, 0.5) ?? 0))
        record("\(metric)p99_ns", Double(Statistics.percentile(sorted: latencies, 0.99) ?? 0))
        log("\(prefix) 1 thread \(format(ops)) ops/s, p99 \(Statistics.percentile(sorted: latencies, 0.99) ?? 0) ns")
        guard twoThreads else { return }
        let half = pass.count / 2
        let name = self.engine
        let counts = Mutex([0, 0])
        let start = now()
        try onThreads(2) { t in
            let session = try engine.makeSession()
            defer { session.close() }
            var n = half
            defer { counts.withLock { $0[t] = n } }
            for i in (t * half)..<(t * half + half) {
                if i & 1023 == 0, now() &- start > deadline { n = i - t * half; break }
                guard try session.touch(pass.keys[i], dimension: pass.dimensions[i]) == pass.expected[i] else {
                    throw BenchError.wrongAnswer(engine: name, "reads on 2 threads", "read \(i)")
                }
            }
        }
        let ops2 = Double(counts.withLock { $0[0] + $0[1] }) / seconds(start, now())
        record("read2.ops", ops2)
        record("read2.scaling", ops2 / ops)
        log("read 2 threads \(format(ops2)) ops/s")
    }

    /// Phase 4: dimension 7, then all 16, XXH3 of every value, sums checked. One uncounted warm
    /// scan first. `metricPrefix` is `scan`, `scan_verify` or `cold.scan`.
    func scans(_ engine: any Engine, metricPrefix: String, dimensionSeven: Bool) throws {
        let session = try engine.makeSession()
        defer { session.close() }
        let all = 0..<profile.dimensionCount
        _ = try scanSeconds(session, all, phase: metricPrefix + " (warm)")
        if dimensionSeven, profile.dimensionCount > 7 {
            let s7 = try scanSeconds(session, 7..<8, phase: metricPrefix)
            record("\(metricPrefix)7.gbps", Double(profile.recordsPerDimension * profile.valueByteCount) / s7 / 1e9)
        }
        let s = try scanSeconds(session, all, phase: metricPrefix)
        let gbps = Double(profile.valueBytes) / s / 1e9
        switch metricPrefix {
        case "scan":
            record("scan16.gbps", gbps)
            record("scan16.ms", s * 1000)
        case "scan_verify": record("scan16_verify.gbps", gbps)
        default: record("cold.scan16_gbps", gbps)
        }
        log("\(metricPrefix) all \(format(s * 1000)) ms, \(format(gbps)) GB/s")
    }

    private func scanSeconds(_ session: any EngineSession, _ dims: Range<Int>, phase: String) throws -> Double {
        var sums = [UInt64](repeating: 0, count: dims.count)
        var counts = [Int](repeating: 0, count: dims.count)
        let start = now()
        for (i, dim) in dims.enumerated() {
            var sum: UInt64 = 0
            counts[i] = try session.scan(dimension: dim) { value in sum &+= bench_xxh3(value.baseAddress, value.count) }
            sums[i] = sum
        }
        let elapsed = seconds(start, now())
        for (i, dim) in dims.enumerated() where sums[i] != data.hashSums[dim] || counts[i] != profile.recordsPerDimension {
            throw BenchError.wrongAnswer(engine: engine, phase, "dimension \(dim): \(counts[i]) records, XXH3 sum \(sums[i]); expected \(profile.recordsPerDimension), \(data.hashSums[dim])")
        }
        return elapsed
    }

    /// Phase 5: one-record synced commits, each timed.
    func commitLatency(_ engine: any Engine) throws {
        let session = try engine.makeSession()
        defer { session.close() }
        let dim = RunParameters.commitDimension(profile.dimensionCount)
        var batches: [RecordBatch] = []
        batches.reserveCapacity(params.commits)
        for i in 0..<params.commits {
            var batch = RecordBatch()
            batch.append(dimension: dim, record: i, valueByteCount: profile.valueByteCount)
            batches.append(batch)
        }
        var latencies: [UInt64] = []
        latencies.reserveCapacity(params.commits)
        let start = now()
        for i in 0..<params.commits where now() &- start < UInt64(params.phaseSecondsMax * 1e9) {
            let t0 = now()
            try session.commit(batches[i])
            latencies.append(now() &- t0)
        }
        // Read the last one back: the commits really happened.
        let last = latencies.count - 1
        let check = Workload.value(dimension: dim, record: last, count: profile.valueByteCount).withUnsafeBytes(Workload.touch)
        guard try session.touch(batches[last].keys[0], dimension: dim) == check else {
            throw BenchError.wrongAnswer(engine: self.engine, "commit latency", "the last committed record does not read back")
        }
        latencies.sort()
        let p50 = Double(Statistics.percentile(sorted: latencies, 0.5) ?? 0) / 1000
        record("commit.p50_us", p50)
        record("commit.p99_us", Double(Statistics.percentile(sorted: latencies, 0.99) ?? 0) / 1000)
        log("commit p50 \(format(p50)) µs (\(latencies.count) commits)")
    }
}

extension BenchError {
    static func wrongAnswer(engine: String, _ phase: String, _ detail: String) -> BenchError {
        wrongAnswer(engine, phase, detail)
    }
}
