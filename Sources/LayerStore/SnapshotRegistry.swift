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
final class SnapshotRegistry: @unchecked Sendable {
    // Safe to share: `live` is only touched with `lock` held. A `Lock` and a plain field, not a
    // `Locked<[(LSN, Int)]>`: every store makes one of these at open, and the generic class's
    // metadata (with its tuple and array) costs a new process ~70 µs to instantiate (perf).
    private let lock = Lock()
    private var live: [Entry] = []

    private struct Entry {
        var lsn: LSN
        var count: Int
    }

    init() {}

    /// Records a new snapshot at `lsn`.
    func register(_ lsn: LSN) {
        lock.withLock {
            if let i = live.firstIndex(where: { $0.lsn == lsn }) { live[i].count += 1 } else { live.append(Entry(lsn: lsn, count: 1)) }
        }
    }

    /// Records that a snapshot at `lsn` was released.
    func unregister(_ lsn: LSN) {
        lock.withLock {
            guard let i = live.firstIndex(where: { $0.lsn == lsn }) else { return }
            if live[i].count > 1 { live[i].count -= 1 } else { live.swapAt(i, live.count - 1); live.removeLast() }
        }
    }

    /// The number of live snapshots and the oldest one's LSN (`nil` if none).
    var summary: (count: Int, oldestLSN: LSN?) {
        lock.withLock { (live.reduce(0) { $0 + $1.count }, live.map(\.lsn).min()) }
    }
}
