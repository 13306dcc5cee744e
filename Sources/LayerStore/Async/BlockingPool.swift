//! Threads of LayerStore's own for the blocking calls behind its `async` API.
//!
//! Why: a commit in `sync` mode blocks its thread until `fdatasync` returns (milliseconds), and
//! a flush or compaction for much longer. Swift's cooperative pool has one thread per core; a
//! task that blocks one of them stalls every other task scheduled there. The async API hands
//! the blocking call to one of these threads and suspends; the thread resumes the task when the
//! call returns. Threads are created on demand, up to ``threadCountMax``, and then kept parked
//! for reuse: many concurrent commits each get a thread, so their batches still meet in one
//! group commit (one sync for all).
//!
//! Invariants: `jobs` is only touched with `lock` held; a job submitted when no thread is idle
//! starts a new thread unless ``threadCountMax`` are running, in which case it waits for the
//! first one to finish its job. Jobs run in submission order.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process-wide pool of threads for blocking work.
final class BlockingPool: @unchecked Sendable {
    // Safe to share: every var is only touched with `lock` held.
    private let lock = Lock()
    private let wake = Condition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var idleCount = 0
    private var threadCount = 0
    /// The most threads the pool runs at once.
    let threadCountMax: Int

    /// The pool the async API uses.
    static let shared = BlockingPool(threadCountMax: 64)

    init(threadCountMax: Int) {
        precondition(threadCountMax >= 1, "a pool needs a thread")
        self.threadCountMax = threadCountMax
    }

    /// Threads started so far (for tests).
    var startedThreadCount: Int { lock.withLock { threadCount } }

    /// Runs `job` on a pool thread.
    func submit(_ job: @escaping @Sendable () -> Void) {
        let spawn: Bool = lock.withLock {
            jobs.append(job)
            wake.signal()
            guard jobs.count - head > idleCount, threadCount < threadCountMax else { return false }
            threadCount += 1
            return true
        }
        if spawn { startThread() }
    }

    private func startThread() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<BlockingPool>.fromOpaque(context!).takeRetainedValue().work()
            return nil
        }, context)
        // Without a thread the job still runs: on the next thread that becomes free.
        guard result == 0 else {
            Unmanaged<BlockingPool>.fromOpaque(context).release()
            lock.withLock { threadCount -= 1 }
            return
        }
        pthread_detach(thread)
    }

    /// A pool thread: takes jobs in order, parks when there is none.
    private func work() {
        while true {
            let job: @Sendable () -> Void = lock.withLock {
                idleCount += 1
                while head == jobs.count { wake.wait(lock) }
                idleCount -= 1
                let job = jobs[head]
                head += 1
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    head = 0
                }
                return job
            }
            job()
        }
    }
}
