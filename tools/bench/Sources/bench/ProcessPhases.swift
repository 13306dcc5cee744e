//! The phases that need a process of their own: the cold open (a new process opens the store
//! and reads one key, timing itself), recovery (a child writer is killed with SIGKILL after
//! its synced, unflushed commits; the next open to the first read is timed), and the cold open
//! of a store ten times the data (LayerStore, layer profile, full runs).

import BenchReport
import Foundation
import LayerStore
import LayerStoreWorkload

extension PhaseContext {
    /// Phase 2: median of `openRepeats` opens, each in a new process; returns milliseconds.
    @discardableResult
    func coldOpen(at path: String? = nil, metric: String = "open.ms") throws -> Double {
        // The open of a settled store, for every engine alike: not one that shares the machine
        // with the kernel still writing back the phase before (the 10× store's 2.8 GB load).
        sync()
        var times: [Double] = []
        for _ in 0..<params.openRepeats {
            let out = try ChildProcess.run(["open-child", "--engine", engine, "--path", path ?? self.path,
                                            "--dimensions", String(dimensionCount), "--value-bytes", String(profile.valueByteCount)])
            guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("open-ns ") }), let ns = Double(line.dropFirst(8)) else {
                throw BenchError("cold-open child printed no time: \(out)")
            }
            times.append(ns / 1e6)
        }
        let median = Statistics.median(times) ?? .nan
        record(metric, median)
        log("\(metric) \(format(median)) ms (median of \(times.count) processes)")
        return median
    }

    /// Phase 8: a child writes `recoveryBytes` in synced 1,000-record commits without
    /// flushing, is killed, and the next open (here) to the first read is timed.
    func recovery() throws {
        let dir = path + "-recovery"
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (child, output) = try ChildProcess.start(["crash-child", "--engine", engine, "--path", dir,
                                                      "--dimensions", String(dimensionCount), "--value-bytes", String(profile.valueByteCount),
                                                      "--records-per-dimension", String(profile.recordsPerDimension), "--bytes", String(params.recoveryBytes)])
        guard let line = ChildProcess.waitForLine(output, prefix: "synced "), let records = Int(line.dropFirst(7)) else {
            child.terminate()
            child.waitUntilExit()
            throw BenchError("the recovery child of \(engine) died before reporting its commits")
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        let last = records - 1
        let (dim, rec) = (last / profile.recordsPerDimension, last % profile.recordsPerDimension)
        let key = Workload.key(dimension: dim, record: rec)
        let t0 = now()
        let engine = try open(OpenMode(holdInMemory: true), at: dir)
        let session = try engine.makeSession()
        let touched = try session.touch(key, dimension: dim)
        let elapsed = seconds(t0, now())
        session.close()
        try engine.close()
        guard touched == data.touches[last] else {
            throw BenchError.wrongAnswer(engine: self.engine, "recovery", "the last acknowledged record (\(dim), \(rec)) is \(touched == nil ? "missing" : "wrong") after kill -9")
        }
        let bytes = Double(records * profile.valueByteCount)
        record("recovery.open_ms", elapsed * 1000)
        record("recovery.gbps", bytes / elapsed / 1e9)
        log("recovery of \(format(bytes / 1048576)) MiB: open to first read \(format(elapsed * 1000)) ms, \(format(bytes / elapsed / 1e9)) GB/s")
    }

    /// Cold open at ten times the data: a LayerStore of 10× the profile's records (loaded in
    /// big buffered commits, then flushed: only its shape matters here), opened in new processes.
    func coldOpenAtTenTimes() throws {
        let dir = path + "-10x"
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = StoreOptions()
        options.durability = .bufferedUnsynced
        let store = try Store(path: dir, options: options)
        let perDimension = profile.recordsPerDimension * 10
        var batch = WriteBatch()
        for dim in 0..<profile.dimensionCount {
            let name = Workload.dimensionName(dim)
            for rec in 0..<perDimension {
                try batch.put(Workload.value(dimension: dim, record: rec, count: profile.valueByteCount),
                              forKey: Workload.key(dimension: dim, record: rec), in: name)
                if batch.count == 1000 { try store.commit(batch); batch.removeAll() }
            }
        }
        try store.commit(batch)
        try store.flush()
        try store.close()
        log("10x store: \(format(Double(allocatedBytes(under: dir)) / 1048576)) MiB")
        try coldOpen(at: dir, metric: "open10x.ms")
    }
}

/// The child side of the cold open: open read-only, read record (0, 0), check it, print the time.
func openChild(engine kind: EngineKind, path: String, dimensions: Int, valueBytes: Int) throws {
    let key = Workload.key(dimension: 0, record: 0)
    let expected = Workload.value(dimension: 0, record: 0, count: valueBytes).withUnsafeBytes(Workload.touch)
    let t0 = now()
    let engine = try kind.open(path: path, dimensionCount: dimensions, mode: OpenMode(readOnly: true))
    let session = try engine.makeSession()
    let touched = try session.touch(key, dimension: 0)
    let elapsed = now() &- t0
    session.close()
    try engine.close()
    guard touched == expected else { throw BenchError.wrongAnswer(kind.rawValue, "cold open", "record (0, 0) is wrong") }
    print("open-ns \(elapsed)")
}

/// The child side of recovery: load in key order, 1,000 records per synced commit, until
/// `bytes` are acknowledged; report, then wait to be killed.
func crashChild(engine kind: EngineKind, path: String, dimensions: Int, valueBytes: Int, recordsPerDimension: Int, bytes: Int) throws -> Never {
    let engine = try kind.open(path: path, dimensionCount: dimensions, mode: OpenMode(holdInMemory: true))
    let session = try engine.makeSession()
    let records = (bytes + valueBytes - 1) / valueBytes
    let total = min(records, recordsPerDimension * (dimensions - RunParameters.extraDimensions))
    for batch in RecordBatch.batches(of: 1000, records: 0..<total, recordsPerDimension: recordsPerDimension, valueByteCount: valueBytes) {
        try session.commit(batch)
    }
    FileHandle.standardOutput.write(Data("synced \(total)\n".utf8))
    while true { pause() }
}
