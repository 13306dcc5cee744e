//! The phases with many threads: group commit (1 against 64 committers, synced one-record
//! commits) and readers under writes (128 readers doing random gets while one writer loads
//! more data in synced 1,000-record commits and the engine publishes it).

import BenchReport
import Foundation
import LayerStoreWorkload
import Synchronization

extension PhaseContext {
    /// Phase "group commit": commits/s of `n` threads each committing one record at a time.
    func groupCommit(_ engine: any Engine) throws {
        var rates: [Int: Double] = [:]
        let dim = RunParameters.groupDimension(profile.dimensionCount)
        let valueBytes = profile.valueByteCount
        for committers in [1, 64] {
            let stop = StopFlag()
            let done = Atomic<Int>(0)
            let duration = params.groupSeconds
            let start = now()
            try onThreads(committers + 1) { t in
                if t == committers {  // the timer
                    usleep(UInt32(duration * 1e6))
                    stop.stop()
                    return
                }
                let session = try engine.makeSession()
                defer { session.close() }
                var i = 0
                // The value is generated once: this phase measures commits, not the generator.
                var batch = RecordBatch()
                batch.append(dimension: dim, record: committers * 10_000_000 + t * 100_000, valueByteCount: valueBytes)
                while !stop.isSet {
                    batch.keys[0] = Workload.key(dimension: dim, record: committers * 10_000_000 + t * 100_000 + i)
                    try session.commit(batch)
                    done.add(1, ordering: .relaxed)
                    i += 1
                }
            }
            rates[committers] = Double(done.load(ordering: .relaxed)) / seconds(start, now())
        }
        record("group.c1_ps", rates[1] ?? 0)
        record("group.c64_ps", rates[64] ?? 0)
        record("group.ratio", (rates[64] ?? 0) / max(rates[1] ?? 1, 1e-9))
        log("group commit 1: \(format(rates[1] ?? 0))/s, 64: \(format(rates[64] ?? 0))/s")
    }

    /// Phase 6: readers under writes. The readers first run alone for a baseline, then beside
    /// the writer; publications (flush + swap, checkpoint, or each commit for LMDB) are
    /// time-stamped, and reads that start within a millisecond of one count as "around it".
    func readersUnderWrites(_ engine: any Engine) throws {
        let baseline = try readers(engine, writer: nil)
        let run = try readers(engine, writer: { try self.loadMore(engine) })
        record("ruw.p99_base_ns", baseline.p99)
        record("ruw.reads_ps", run.readsPerSecond)
        record("ruw.p99_ns", run.p99)
        if let p = run.p99AroundPublications { record("ruw.p99_swap_ns", p) }
        log("readers under writes \(format(run.readsPerSecond)) reads/s, p99 \(format(baseline.p99)) ns alone, \(format(run.p99)) ns during writes, \(run.p99AroundPublications.map(format) ?? "–") ns around \(run.publications) publications")
    }

    struct ReaderResult {
        var readsPerSecond: Double
        var p99: Double
        var p99AroundPublications: Double?
        var publications: Int
    }

    /// Runs the reader threads until the writer (or the baseline time) is done.
    private func readers(_ engine: any Engine, writer: (@Sendable () throws -> [ClosedRange<UInt64>])?) throws -> ReaderResult {
        let pass = readPass
        let stop = StopFlag()
        let threads = params.readerThreads
        let samples = Mutex<[(starts: [UInt64], durations: [UInt64])]>([])
        let publications = Mutex<[ClosedRange<UInt64>]>([])
        let baselineSeconds = params.readersBaselineSeconds
        let name = self.engine
        let start = now()
        try onThreads(threads + 1) { t in
            if t == threads {
                defer { stop.stop() }
                if let writer {
                    let p = try writer()
                    publications.withLock { $0 = p }
                } else {
                    usleep(UInt32(baselineSeconds * 1e6))
                }
                return
            }
            let session = try engine.makeSession()
            defer { session.close() }
            var starts: [UInt64] = [], durations: [UInt64] = []
            starts.reserveCapacity(1 << 16)
            durations.reserveCapacity(1 << 16)
            var i = (t &* 7919) % pass.count
            while !stop.isSet {
                let t0 = now()
                let touched = try session.touch(pass.keys[i], dimension: pass.dimensions[i])
                let t1 = now()
                guard touched == pass.expected[i] else {
                    throw BenchError.wrongAnswer(engine: name, "readers under writes", "read of record \(i) by reader \(t)")
                }
                starts.append(t0)
                durations.append(t1 &- t0)
                i += 1
                if i == pass.count { i = 0 }
            }
            samples.withLock { $0.append((starts, durations)) }
        }
        let elapsed = seconds(start, now())
        let all = samples.withLock { $0 }
        var durations = all.flatMap(\.durations)
        durations.sort()
        let windows = publications.withLock { $0 }.map { ($0.lowerBound &- 1_000_000)...($0.upperBound &+ 1_000_000) }
        var around: [UInt64] = []
        if !windows.isEmpty {
            for thread in all {
                for (s, d) in zip(thread.starts, thread.durations) where windows.contains(where: { $0.contains(s) }) {
                    around.append(d)
                }
            }
            around.sort()
        }
        return ReaderResult(readsPerSecond: Double(durations.count) / elapsed,
                            p99: Double(Statistics.percentile(sorted: durations, 0.99) ?? 0),
                            p99AroundPublications: around.isEmpty ? nil : Double(Statistics.percentile(sorted: around, 0.99) ?? 0),
                            publications: windows.count)
    }

    /// The writer: more records into their own dimension in synced 1,000-record commits, with
    /// about eight publications spread over the load. Returns the publications' time spans.
    private func loadMore(_ engine: any Engine) throws -> [ClosedRange<UInt64>] {
        let session = try engine.makeSession()
        defer { session.close() }
        let dim = RunParameters.loadDimension(profile.dimensionCount)
        let records = max(1, params.readersUnderWritesBytes / profile.valueByteCount)
        let commits = (records + 999) / 1000
        let every = max(1, commits / 8)
        var spans: [ClosedRange<UInt64>] = []
        var n = 0
        var next = 0
        let start = now()
        // Past the time limit the writer stops after its next commit, publishing it.
        var lastCommit = false
        while next < records && !lastCommit {
            var batch = RecordBatch()
            for r in next..<min(records, next + 1000) { batch.append(dimension: dim, record: r, valueByteCount: profile.valueByteCount) }
            next += batch.count
            let t0 = now()
            try session.commit(batch)
            let t1 = now()
            n += 1
            lastCommit = seconds(start, t1) > params.readersWriterSecondsMax
            if kind.type.publishesOnCommit {
                spans.append(t0...t1)
            } else if n % every == 0 || next >= records || lastCommit {
                let p0 = now()
                try engine.publish()
                spans.append(p0...now())
            }
        }
        return spans
    }
}
