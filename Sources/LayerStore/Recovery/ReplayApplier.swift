//! Inserts a replay's gathered files into the memtable on a thread of its own, one file after
//! another, while the replay reads and checks the next file.
//!
//! Why: reading a WAL file (checksums, payload checks, noting each operation's dimension) is
//! serial work on one core, and inserting is memory-bound work that two threads share badly.
//! Overlapping the next file's reading with this file's inserting kept both cores busy: an
//! open after a crash with 256 MiB of small records to replay spent a third of its time
//! reading while the other core idled.
//!
//! Invariants: files are inserted in the order they were submitted (a serial queue), so a
//! key's versions still go in in LSN order; `wait()` returns only once every submitted file
//! is in the memtable. The replay waits before it returns or throws, and before it truncates
//! a torn tail (whose file a submitted insert may still be reading).

import Dispatch

/// Inserts gathered WAL files into one memtable in the background, in order.
final class ReplayApplier: @unchecked Sendable {
    // Safe to share: `memtable` is thread-safe (its lock); the queue is serial; each submitted
    // batch list is handed over whole and never touched by the submitter again.
    private let memtable: Memtable
    private let workerCount: Int
    private let queue = DispatchQueue(label: "LayerStore.replay")

    /// An applier into `memtable` that inserts each file with up to `workerCount` threads.
    init(memtable: Memtable, workerCount: Int) {
        self.memtable = memtable
        self.workerCount = workerCount
    }

    /// Queues one file's batches; returns at once.
    func submit(_ batches: ReplayBatches) {
        guard !batches.batches.isEmpty else { return }
        let handOver = HandOver(batches: batches)
        queue.async { [memtable, workerCount] in
            memtable.applyReplayed(handOver.batches, workerCount: workerCount)
        }
    }

    /// Waits until every submitted file is in the memtable.
    func wait() { queue.sync {} }

    /// Gathered batches passed to the applier's thread: their payloads are only read, and the
    /// owners that keep them alive travel with them.
    private struct HandOver: @unchecked Sendable {
        let batches: ReplayBatches
    }
}
