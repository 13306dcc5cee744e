import Dispatch
import Foundation
import Testing
@testable import LayerStore

/// The async API: concurrent commits from a task group all land and survive a reopen; blocking
/// work runs on LayerStore's own threads, never on the cooperative pool; errors stay typed;
/// cancellation does not abandon a commit.
@Suite struct AsyncAPITests {
    @Test func manyConcurrentAsyncCommitsAllLandAndAreDurable() async throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        let count = 200
        let lsns = try await withThrowingTaskGroup(of: LSN.self) { group in
            for i in 0..<count {
                group.addTask {
                    if i % 2 == 0 {
                        return try await store.put("v\(i)", forKey: "k\(i)", in: "d")
                    }
                    return try await store.write { batch in
                        try batch.put("v\(i)", forKey: "k\(i)", in: "d")
                        try batch.put("w\(i)", forKey: "k\(i)", in: "other")
                    }
                }
            }
            var all: [LSN] = []
            for try await lsn in group { all.append(lsn) }
            return all
        }
        #expect(Set(lsns).count == count)
        #expect(store.lastLSN == LSN(count + count / 2))
        // Fewer syncs than commits would show grouping; at most one each is the guarantee.
        #expect(store.walSyncCount <= count)
        try store.close()

        let reopened = try Store(path: path, options: testOptions())
        #expect(reopened.recoveryReport.replayedOperationCount == count + count / 2)
        for i in 0..<count {
            #expect(try reopened.string(forKey: "k\(i)", in: "d") == "v\(i)")
            #expect(try reopened.string(forKey: "k\(i)", in: "other") == (i % 2 == 0 ? nil : "w\(i)"))
        }
    }

    @Test func blockingWorkRunsOnPoolThreadsNotOnTheCooperativePool() async throws {
        // 24 jobs that each wait until all 24 have started: this finishes only if they run at
        // once, on 24 threads — far more than the cooperative pool has on this machine.
        let pool = BlockingPool(threadCountMax: 32)
        let jobs = 24
        let started = Locked(0)
        let allStarted = DispatchSemaphore(value: 0)
        let timedOut = Locked(false)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<jobs {
                group.addTask {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        pool.submit {
                            if started.withLock({ $0 += 1; return $0 }) == jobs {
                                for _ in 0..<jobs { allStarted.signal() }
                            }
                            if allStarted.wait(timeout: .now() + 20) == .timedOut { timedOut.withLock { $0 = true } }
                            continuation.resume()
                        }
                    }
                }
            }
        }
        #expect(!timedOut.withLock { $0 })
        #expect(pool.startedThreadCount == jobs)
        // Parked threads are reused: the next wave starts none.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in pool.submit { continuation.resume() } }
        #expect(pool.startedThreadCount == jobs)
    }

    @Test func asyncFlushCompactSyncAndBackupDoTheirWork() async throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions { $0.durability = .bufferedUnsynced })
        for round in 0..<3 {
            for i in 0..<20 { try await store.put("r\(round)", forKey: "k\(i)", in: "d") }
            try await store.sync()
            try await store.flush()
        }
        #expect(try store.stats().dimensions[0].segments.count == 3)
        let report = try await store.compact()
        #expect(report.dimensions.first?.segmentsBefore == 3 && report.dimensions.first?.segmentsAfter == 1)
        let backup = try await store.backup(to: dir.child("b"))
        #expect(backup.lsn == 60 && backup.segmentCount == 1)
        #expect(try store.string(forKey: "k3", in: "d") == "r2")
    }

    @Test func errorsAreTypedStoreErrors() async throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try await store.put("v", forKey: "k", in: "d")
        var options = testOptions()
        options.readOnly = true
        let reader = try Store(path: path, options: options)
        // `error` is a StoreError without a cast: the async API throws typed errors.
        do { try await reader.put("v", forKey: "k", in: "d"); Issue.record("a read-only store wrote") } catch { #expect(error.code == .readOnly) }
        do { try await reader.flush(); Issue.record("a read-only store flushed") } catch { #expect(error.code == .readOnly) }
        do { try await store.delete(forKey: "", in: "d"); Issue.record("an empty key was accepted") } catch { #expect(error.code == .invalidArgument) }
        try store.close()
        do { try await store.put("v", forKey: "k2", in: "d"); Issue.record("a closed store wrote") } catch { #expect(error.code == .closed) }
    }

    @Test func aCancelledTaskStillCompletesTheCommitItStarted() async throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        let task = Task { try await store.put("kept", forKey: "k", in: "d") }
        task.cancel()
        let lsn = try await task.value
        #expect(lsn == 1)
        #expect(try store.string(forKey: "k", in: "d") == "kept")
    }
}
