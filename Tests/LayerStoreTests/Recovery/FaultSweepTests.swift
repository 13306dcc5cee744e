import Foundation
import Testing
@testable import LayerStore

/// I/O fault injection, one fault at a time: for each kind of operation, the n-th call fails
/// (EIO or ENOSPC), for every n the workload reaches. Each time: the failing call surfaces as a
/// typed error, nothing not durable is acknowledged, and the store reopens consistent with every
/// acknowledged write and nothing else.
@Suite struct FaultSweepTests {
    static let operations: [FaultInjectingFileIO.Operation] = [.write, .syncData, .sync, .allocate, .rename, .syncDirectory, .map, .truncate, .remove, .open]

    /// Puts, deletes, flushes and a compaction. Fills the acknowledged state, every key tried,
    /// and — when a sync failed — the state with the unacknowledged batch too: it was written
    /// (only its sync failed), so it may or may not be there after a reopen.
    func workload(_ store: Store, acknowledged: inout [String: String], inFlight: inout [String: String]?, tried: inout Set<String>) {
        for i in 0..<50 {  // the last five after the last flush: the close truncates their file
            var batch = WriteBatch()
            var staged = acknowledged
            for j in 0..<3 {
                let key = "k\((i * 3 + j) % 40)"
                tried.insert(key)
                if (i + j) % 7 == 0 {
                    try? batch.delete(forKey: key, in: "d")
                    staged[key] = nil
                } else {
                    let value = "v\(i)-\(j)-" + String(repeating: "x", count: (i * 31 + j) % 200)
                    try? batch.put(value, forKey: key, in: "d")
                    staged[key] = value
                }
            }
            do {
                try store.commit(batch)
                acknowledged = staged
            } catch {
                if error.code == .writerFailed {  // latched: nothing more can be acknowledged
                    inFlight = staged
                    return
                }
            }
            if i % 15 == 14 { _ = try? store.flush() }
        }
        _ = try? store.compact()
    }

    @Test(arguments: operations)
    func oneFailingOperationAtATimeLosesNothingAcknowledged(_ operation: FaultInjectingFileIO.Operation) throws {
        var n = 0
        var injected = 0
        while n < 400 {
            let dir = TemporaryDirectory("sweep")
            let path = dir.child("s")
            let io = FaultInjectingFileIO()
            io.fail(operation, after: n, errno: n % 2 == 0 ? EIO : ENOSPC)
            var acknowledged: [String: String] = [:]
            var inFlight: [String: String]?
            var tried = Set<String>()
            if let store = try? Store(path: path, options: testOptions { $0.memtableByteCountMax = 8 << 10; $0.flushInBackground = false }, io: io) {
                workload(store, acknowledged: &acknowledged, inFlight: &inFlight, tried: &tried)
                try? store.close()
            }
            let hit = io.injected > 0
            io.clear()
            // Reopen without faults (a writer open runs recovery); the store must be whole.
            if FileManager.default.fileExists(atPath: path + "/MANIFEST-0000000000000001")
                || (try? FileManager.default.contentsOfDirectory(atPath: path))?.contains(where: { $0.hasPrefix("MANIFEST-") }) == true {
                let reopened = try Store(path: path, options: testOptions())
                var seen: [String: String] = [:]
                for r in try reopened.snapshot().records(in: "d") {
                    seen[String(decoding: r.key, as: UTF8.self)] = String(decoding: r.value, as: UTF8.self)
                }
                // Exactly the acknowledged state, or that plus the one batch whose sync failed.
                #expect(seen == acknowledged || seen == inFlight, "\(operation) #\(n): the reopened store is not the acknowledged state")
                for key in seen.keys { #expect(tried.contains(key), "\(operation) #\(n): \(key) was never written") }
                try reopened.close()
            } else {
                #expect(acknowledged.isEmpty, "\(operation) #\(n): writes acknowledged but no store on disk")
            }
            guard hit else { break }  // the workload ran past every call of this kind
            injected += 1
            n += n < 40 ? 1 : 7
        }
        #expect(injected > 0, "\(operation) was never reached")
        print("fault sweep: \(operation): \(injected) faults injected, each followed by a clean reopen")
    }
}
