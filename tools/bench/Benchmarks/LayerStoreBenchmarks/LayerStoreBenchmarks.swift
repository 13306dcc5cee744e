//! Hot-path microbenchmarks with malloc counts: a point read of the hot tier, a buffered
//! append, a scan of 1 MiB. Malloc counts are measured on their own (other metrics add
//! allocations of their own, shared/swift-notes.md §7).

import Benchmark
import Foundation
import LayerStore

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
