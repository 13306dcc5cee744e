//! Group commit: concurrent committers share one `fdatasync`.
//!
//! A committer whose record is appended but not yet durable calls ``waitUntilDurable(_:)``. If
//! no sync is running it becomes the leader: it syncs everything appended so far (its own record
//! and every record appended behind it) and wakes the others; if a sync is running it waits for
//! that one and, if its record came too late for it, for the next. One sync acknowledges many
//! commits, so the commit rate grows with the number of committers.
//!
//! Invariants:
//! - `durableLSN` only grows, and only after a sync that covered it succeeded.
//! - A failed sync is final (the kernel may have dropped the dirty pages): `failure` is set,
//!   nothing after the last good sync is ever acknowledged, every waiter and later call throws.

/// Coordinates WAL syncs among committers.
import Synchronization

final class GroupCommit: @unchecked Sendable {
    // Safe to share: every var is only touched with `lock` held.
    private let lock = Lock()
    private let changed = Condition()
    private var durableLSN: LSN
    private var syncing = false
    private var failure: StoreError?
    /// Called (with `lock` held) each time `durableLSN` grows: publishes visibility to readers.
    private let onDurable: @Sendable (LSN) -> Void
    /// `durableLSN`, readable without the lock (it may lag, never lead).
    private let durableHint: Atomic<UInt64>

    /// Every LSN up to this one is durable (lock-free; possibly slightly behind).
    var durable: LSN { durableHint.load(ordering: .acquiring) }

    init(durableLSN: LSN, onDurable: @escaping @Sendable (LSN) -> Void) {
        self.durableLSN = durableLSN
        self.onDurable = onDurable
        self.durableHint = Atomic(durableLSN)
    }

    /// Records that everything up to `lsn` is durable (a roll synced the old file).
    func markDurable(_ lsn: LSN) {
        lock.withLock {
            if lsn > durableLSN {
                durableLSN = lsn
                durableHint.store(lsn, ordering: .releasing)
                onDurable(lsn)
            }
            changed.broadcast()
        }
    }

    /// Latches a durability failure: every waiter and every later call fails with it.
    func fail(_ error: StoreError) {
        lock.withLock {
            if failure == nil { failure = error }
            changed.broadcast()
        }
    }

    /// The latched failure, if any.
    var latchedFailure: StoreError? { lock.withLock { failure } }

    /// Returns once `lsn` is durable.
    /// - Parameter sync: syncs the WAL and returns the LSN the sync covered; called by the leader
    ///   without `lock` held. It must capture the covered LSN *before* syncing.
    func waitUntilDurable(_ lsn: LSN, sync: () throws(StoreError) -> LSN) throws(StoreError) {
        lock.lock()
        defer { lock.unlock() }
        while durableLSN < lsn {
            if let failure { throw failure }
            if syncing {
                changed.wait(lock)
                continue
            }
            syncing = true
            lock.unlock()
            let result: Result<LSN, StoreError>
            do throws(StoreError) { result = .success(try sync()) } catch { result = .failure(error) }
            lock.lock()
            syncing = false
            switch result {
            case .success(let covered):
                if covered > durableLSN {
                    durableLSN = covered
                    durableHint.store(covered, ordering: .releasing)
                    onDurable(covered)
                }
            case .failure(let error):
                if failure == nil {
                    failure = StoreError(.writerFailed, "WAL sync failed; the store must be reopened: \(error.message)",
                                         path: error.path, errno: error.errno)
                }
            }
            changed.broadcast()
        }
    }
}
