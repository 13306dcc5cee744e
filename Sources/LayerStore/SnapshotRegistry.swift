//! Which snapshots of a store are alive: how many, and the oldest one's LSN.
//!
//! Why it exists: a snapshot pins the state it was taken from, and with it every segment
//! mapping and memtable that state holds, however old. ``Store/stats()`` reports the oldest
//! snapshot still alive, so an operator can find the reader that keeps old segments mapped.
//!
//! Invariant: `live` holds one `(lsn, count)` per LSN with live ``Snapshot``s (count > 0), in
//! no order; an entry is removed when its count reaches 0. An array, not a dictionary: a store
//! has few live snapshots at a time, and a dictionary's first use costs a new process a
//! runtime conformance lookup in every open. Only ``Store/snapshot()`` registers (a snapshot's
//! `init`), and the snapshot's `deinit` unregisters; point reads on the store take no snapshot
//! and never come here.

/// The live snapshots of one store.
final class SnapshotRegistry: Sendable {
    private let live = Locked<[(lsn: LSN, count: Int)]>([])

    init() {}

    /// Records a new snapshot at `lsn`.
    func register(_ lsn: LSN) {
        live.withLock { live in
            if let i = live.firstIndex(where: { $0.lsn == lsn }) { live[i].count += 1 } else { live.append((lsn, 1)) }
        }
    }

    /// Records that a snapshot at `lsn` was released.
    func unregister(_ lsn: LSN) {
        live.withLock { live in
            guard let i = live.firstIndex(where: { $0.lsn == lsn }) else { return }
            if live[i].count > 1 { live[i].count -= 1 } else { live.swapAt(i, live.count - 1); live.removeLast() }
        }
    }

    /// The number of live snapshots and the oldest one's LSN (`nil` if none).
    var summary: (count: Int, oldestLSN: LSN?) {
        live.withLock { live in (live.reduce(0) { $0 + $1.count }, live.map(\.lsn).min()) }
    }
}
