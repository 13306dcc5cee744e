//! Group commit: concurrent committers form groups; one leader writes the whole group's WAL
//! records with one write and makes them durable with one `fdatasync`.
//!
//! Each committer queues itself. The committer at the head of the queue, when no group is in
//! flight, becomes the leader: it takes every batch queued behind it (up to a byte budget),
//! hands them to the store's `process` (append + memtable + sync), and wakes each follower with
//! its own result. While a group syncs, the next one gathers in the queue, so the group size
//! grows with the load: one sync acknowledges many commits. Each waiter has its own condition
//! variable: a finished group wakes exactly its members and the next leader, no herd. It wakes
//! them after releasing the lock (a thread woken into a held lock sleeps again on it: with 64
//! committers on two cores that doubled the context switches), and the next leader first, so
//! the next group's write and sync overlap the other wake-ups.
//!
//! Invariants:
//! - At most one group is in flight; groups are processed in queue order, so LSNs follow it.
//! - `durableLSN` only grows, and only after a sync that covered it succeeded.
//! - A failed sync is final (the kernel may have dropped the dirty pages): `failure` is set,
//!   nothing after the last good sync is ever acknowledged, every later commit throws.

import Synchronization

/// Coordinates committers into groups that share one WAL write and one sync.
final class GroupCommit: @unchecked Sendable {
    // Safe to share: every var is only touched with `lock` held.
    private let lock = Lock()
    private var queue: [Waiter] = []
    private var queueHead = 0
    private var leading = false
    private var failure: StoreError?
    private var durableLSN: LSN
    private var groupCountStorage = 0
    /// `durableLSN`, readable without the lock (it may lag, never lead).
    private let durableHint: Atomic<UInt64>
    /// Called (with `lock` held) each time `durableLSN` grows.
    private let onDurable: @Sendable (LSN) -> Void

    /// One queued commit. Waiters are reused (with their condition variables): a commit in
    /// the steady state allocates nothing here.
    private final class Waiter {
        var batch = WriteBatch()
        let ready = Condition()
        var result: Result<LSN, StoreError>?
    }

    /// Waiters ready for reuse.
    private var spare: [Waiter] = []
    /// The leader's group, its batches and their results: used by one leader at a time, and
    /// kept to reuse their storage.
    private var group: [Waiter] = []
    private var batches: [WriteBatch] = []
    private var results: [Result<LSN, StoreError>] = []
    /// Storage for the list of waiters a finished group wakes (after unlocking), kept for reuse.
    private var spareWakeList: [Waiter] = []

    init(durableLSN: LSN, onDurable: @escaping @Sendable (LSN) -> Void) {
        self.durableLSN = durableLSN
        self.onDurable = onDurable
        self.durableHint = Atomic(durableLSN)
    }

    /// Every LSN up to this one is durable (lock-free; possibly slightly behind).
    var durable: LSN { durableHint.load(ordering: .acquiring) }

    /// Groups processed since creation (one WAL write and, in sync mode, one sync each).
    var groupCount: Int { lock.withLock { groupCountStorage } }

    /// The latched failure, if any.
    var latchedFailure: StoreError? { lock.withLock { failure } }

    /// Records that everything up to `lsn` is durable (a roll, a flush or an explicit sync).
    func markDurable(_ lsn: LSN) {
        lock.withLock { advanceDurableLocked(lsn) }
    }

    /// Latches a durability failure: every later commit fails with it.
    func fail(_ error: StoreError) {
        lock.withLock { latchLocked(error) }
    }

    /// Commits `batch` as part of a group and returns its last LSN once the group is done.
    /// - Parameters:
    ///   - groupByteCountMax: a leader stops taking batches once the group holds this many bytes.
    ///   - process: run by the leader, without `lock`, for the batches of its group: fills one
    ///     result per batch (its last LSN, or why it was not written) and returns what the
    ///     group's sync made durable (`nil` if it did not sync).
    func commit(
        _ batch: WriteBatch, groupByteCountMax: Int,
        process: (_ batches: [WriteBatch], _ results: inout [Result<LSN, StoreError>]) -> Result<LSN?, StoreError>
    ) throws(StoreError) -> LSN {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        let me = spare.popLast() ?? Waiter()
        me.batch = batch
        me.result = nil
        queue.append(me)
        while me.result == nil {
            guard !leading, queue[queueHead] === me else {
                me.ready.wait(lock)
                continue
            }
            leading = true
            takeGroupLocked(byteCountMax: groupByteCountMax)
            let latched = failure
            lock.unlock()
            var synced: Result<LSN?, StoreError> = .success(nil)
            results.removeAll(keepingCapacity: true)
            if let latched {
                for _ in batches { results.append(.failure(latched)) }
            } else {
                synced = process(batches, &results)
            }
            lock.lock()
            // Wake the group and the next leader after unlocking: a thread woken while the
            // lock is held would only block again on it (a second sleep and wake-up each).
            var woken = spareWakeList
            spareWakeList = []
            finishLocked(synced, waking: &woken)
            lock.unlock()
            for waiter in woken where waiter !== me { waiter.ready.signal() }
            woken.removeAll(keepingCapacity: true)
            lock.lock()
            if woken.capacity > spareWakeList.capacity { spareWakeList = woken }
        }
        let result = me.result!
        me.batch = WriteBatch()
        me.result = nil
        if spare.count < 256 { spare.append(me) }
        return try result.get()
    }

    /// Moves the head of the queue and the batches behind it that fit the budget into `group`.
    private func takeGroupLocked(byteCountMax: Int) {
        var end = queueHead + 1
        var bytes = queue[queueHead].batch.byteCount
        while end < queue.count, bytes + queue[end].batch.byteCount <= byteCountMax {
            bytes += queue[end].batch.byteCount
            end += 1
        }
        for i in queueHead..<end {
            group.append(queue[i])
            batches.append(queue[i].batch)
        }
        queueHead = end
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead >= 1024 {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    /// Sets the group's results, ends the leadership and lists whom to wake: the group's
    /// members and the next leader.
    private func finishLocked(_ synced: Result<LSN?, StoreError>, waking woken: inout [Waiter]) {
        precondition(results.count == group.count, "one result per batch")
        groupCountStorage += 1
        var syncFailure: StoreError?
        switch synced {
        case .success(let covered?): advanceDurableLocked(covered)
        case .success(nil): break
        case .failure(let error):
            latchLocked(error)
            syncFailure = failure
        }
        // The next leader first: its group's write and sync overlap the wake-ups of this one.
        if queueHead < queue.count { woken.append(queue[queueHead]) }
        for (waiter, result) in zip(group, results) {
            // A batch written but not made durable is not acknowledged.
            if let syncFailure, case .success = result { waiter.result = .failure(syncFailure) } else { waiter.result = result }
            woken.append(waiter)
        }
        group.removeAll(keepingCapacity: true)
        batches.removeAll(keepingCapacity: true)
        results.removeAll(keepingCapacity: true)
        leading = false
    }

    private func advanceDurableLocked(_ lsn: LSN) {
        guard lsn > durableLSN else { return }
        durableLSN = lsn
        durableHint.store(lsn, ordering: .releasing)
        onDurable(lsn)
    }

    private func latchLocked(_ error: StoreError) {
        guard failure == nil else { return }
        failure = error.code == .writerFailed ? error
            : StoreError(.writerFailed, "WAL sync failed; the store must be reopened: \(error.message)", path: error.path, errno: error.errno)
    }
}
