//! Group commit: concurrent committers form groups; one leader writes the whole group's WAL
//! records with one write and makes them durable with one `fdatasync`.
//!
//! Each committer queues itself. The committer at the head of the queue, when no group is in
//! flight, becomes the leader: it takes every batch queued behind it (up to a byte budget),
//! hands them to the store's `process` (append + memtable + sync), and wakes each follower with
//! its own result. While a group syncs, the next one gathers in the queue, so the group size
//! grows with the load: one sync acknowledges many commits. Each waiter has its own condition
//! variable: a finished group wakes exactly its members and the next leader, no herd.
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

    /// One queued commit.
    private final class Waiter {
        let batch: WriteBatch
        let ready = Condition()
        var result: Result<LSN, StoreError>?
        init(_ batch: WriteBatch) { self.batch = batch }
    }

    /// What a leader's processing of a group produced.
    struct GroupOutcome {
        /// One result per batch, in order: the batch's last LSN, or why it was not written.
        var results: [Result<LSN, StoreError>]
        /// The LSN the group's sync made durable; `nil` if it did not sync (buffered mode).
        var synced: Result<LSN?, StoreError>
    }

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
    ///   - process: run by the leader, without `lock`, for the batches of its group.
    func commit(_ batch: WriteBatch, groupByteCountMax: Int, process: ([WriteBatch]) -> GroupOutcome) throws(StoreError) -> LSN {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        let me = Waiter(batch)
        queue.append(me)
        while me.result == nil {
            guard !leading, queue[queueHead] === me else {
                me.ready.wait(lock)
                continue
            }
            leading = true
            let group = takeGroupLocked(byteCountMax: groupByteCountMax)
            lock.unlock()
            let outcome = failure.map { f in GroupOutcome(results: group.map { _ in .failure(f) }, synced: .success(nil)) }
                ?? process(group.map(\.batch))
            lock.lock()
            finishLocked(group, outcome)
        }
        return try me.result!.get()
    }

    /// Removes the head of the queue and the batches behind it that fit the budget.
    private func takeGroupLocked(byteCountMax: Int) -> [Waiter] {
        var end = queueHead + 1
        var bytes = queue[queueHead].batch.byteCount
        while end < queue.count, bytes + queue[end].batch.byteCount <= byteCountMax {
            bytes += queue[end].batch.byteCount
            end += 1
        }
        let group = Array(queue[queueHead..<end])
        queueHead = end
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead >= 1024 {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return group
    }

    private func finishLocked(_ group: [Waiter], _ outcome: GroupOutcome) {
        precondition(outcome.results.count == group.count, "one result per batch")
        groupCountStorage += 1
        var syncFailure: StoreError?
        switch outcome.synced {
        case .success(let covered?): advanceDurableLSN(covered)
        case .success(nil): break
        case .failure(let error):
            latchLocked(error)
            syncFailure = failure
        }
        for (waiter, result) in zip(group, outcome.results) {
            // A batch written but not made durable is not acknowledged.
            if let syncFailure, case .success = result { waiter.result = .failure(syncFailure) } else { waiter.result = result }
            waiter.ready.signal()
        }
        leading = false
        if queueHead < queue.count { queue[queueHead].ready.signal() }
    }

    private func advanceDurableLSN(_ lsn: LSN) { advanceDurableLocked(lsn) }

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
