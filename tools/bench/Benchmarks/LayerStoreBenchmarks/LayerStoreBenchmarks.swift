//! Hot-path microbenchmarks with malloc counts: a point read of the hot tier, a buffered
//! append, a scan of 1 MiB, and group commit (64 threads each making one synced one-record
//! commit per iteration). Malloc counts are measured on their own (other metrics add
//! allocations of their own, shared/swift-notes.md §7).

import Benchmark
import Foundation
import LayerStore
import Synchronization

/// A store of 1,024 records of 4 KiB in one flushed dimension, made once per process.
final class Fixture: @unchecked Sendable {
    static let shared = Fixture()
    let path: String
    let store: Store
    let keys: [[UInt8]]
    /// A one-record batch, built once: the benchmark measures the commit, not the batch.
    let appendBatch: WriteBatch

    init() {
        path = NSTemporaryDirectory() + "layerstore-bench-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        var options = StoreOptions()
        options.durability = .bufferedUnsynced
        store = try! Store(path: path, options: options)
        let keys = (0..<1024).map { i in Array("key-\(String(format: "%06d", i))".utf8) }
        self.keys = keys
        try! store.write { batch in
            for key in keys { try batch.put([UInt8](repeating: UInt8(key.count), count: 4096), forKey: key, in: "bench") }
        }
        var batch = WriteBatch()
        try! batch.put([UInt8](repeating: 1, count: 100), forKey: Array("append".utf8), in: "appends")
        appendBatch = batch
        try! store.flush()
    }
}

let benchmarks: @Sendable () -> Void = {
    let mallocOnly: [BenchmarkMetric] = [.mallocCountTotal, .throughput]
    Benchmark("point read, hot tier", configuration: .init(metrics: mallocOnly, scalingFactor: .kilo)) { benchmark in
        let f = Fixture.shared
        var sum = 0
        for i in benchmark.scaledIterations {
            sum &+= (try? f.store.withValue(forKey: f.keys[i & 1023], in: "bench") { $0.byteCount }) ?? 0
        }
        blackHole(sum)
    }
    Benchmark("append, buffered, one 100-byte record", configuration: .init(metrics: mallocOnly)) { benchmark in
        let f = Fixture.shared
        for _ in benchmark.scaledIterations {
            blackHole(try? f.store.commit(f.appendBatch))
        }
    }
    Benchmark("group commit, 64 threads x 1 synced one-record commit", configuration: .init(metrics: mallocOnly, maxDuration: .seconds(3))) { benchmark in
        let pool = CommitterPool.shared
        for _ in benchmark.scaledIterations {
            pool.commitOnce()
        }
        blackHole(pool.failures.load(ordering: .relaxed))
    }
    Benchmark("scan 1 MiB (256 values of 4 KiB)", configuration: .init(metrics: mallocOnly)) { benchmark in
        let f = Fixture.shared
        for _ in benchmark.scaledIterations {
            var n = 0
            try? f.store.scan("bench") { _, value in
                n &+= value.byteCount
                return n < 1 << 20
            }
            blackHole(n)
        }
    }
}

/// 64 committer threads on a synced store, started once; each iteration releases every thread
/// for one synced one-record commit and waits for all of them (what group commit batches).
final class CommitterPool: @unchecked Sendable {
    static let shared = CommitterPool(threads: 64)
    let store: Store
    let failures = Atomic<Int>(0)
    private let go: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)

    init(threads: Int) {
        let path = NSTemporaryDirectory() + "layerstore-bench-group-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        store = try! Store(path: path)  // durability .sync: every commit waits for fdatasync
        go = (0..<threads).map { _ in DispatchSemaphore(value: 0) }
        for t in 0..<threads {
            // Each thread's batch is built once and committed again and again (new versions of
            // one key): the benchmark measures the commit path, not batch building.
            var batch = WriteBatch()
            try! batch.put([UInt8](repeating: UInt8(t), count: 100), forKey: Array("committer-\(t)".utf8), in: "group")
            let mine = batch
            let thread = Thread { [self] in
                while true {
                    go[t].wait()
                    do { try store.commit(mine) } catch { failures.add(1, ordering: .relaxed) }
                    done.signal()
                }
            }
            thread.start()
        }
    }

    func commitOnce() {
        for semaphore in go { semaphore.signal() }
        for _ in go { done.wait() }
    }
}
