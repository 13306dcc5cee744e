//! Which snapshots of a store are alive: how many, and the oldest one's LSN.
//!
//! Why it exists: a snapshot pins the state it was taken from, and with it every segment
//! mapping and memtable that state holds, however old. ``Store/stats()`` reports the oldest
//! snapshot still alive, so an operator can find the reader that keeps old segments mapped.
//!
//! Invariant: `counts[lsn]` is the number of live ``Snapshot``s taken from the store at `lsn`;
//! an entry is removed when it reaches 0. Only ``Store/snapshot()`` registers (a snapshot's
//! `init`), and the snapshot's `deinit` unregisters; point reads on the store take no snapshot
//! and never come here.

/// The live snapshots of one store.
final class SnapshotRegistry: Sendable {
    private let counts = Locked<[LSN: Int]>([:])

    init() {}

    /// Records a new snapshot at `lsn`.
    func register(_ lsn: LSN) {
        counts.withLock { $0[lsn, default: 0] += 1 }
    }

    /// Records that a snapshot at `lsn` was released.
    func unregister(_ lsn: LSN) {
        counts.withLock { counts in
            guard let count = counts[lsn] else { return }
            counts[lsn] = count > 1 ? count - 1 : nil
        }
    }

    /// The number of live snapshots and the oldest one's LSN (`nil` if none).
    var summary: (count: Int, oldestLSN: LSN?) {
        counts.withLock { counts in (counts.values.reduce(0, +), counts.keys.min()) }
    }
}
