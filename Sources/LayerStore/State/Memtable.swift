//! The writes since the last flush, in memory, readable by snapshots.
//!
//! Invariants:
//! - One writer inserts (under the store's writer lock); readers look up concurrently. All access
//!   to the tables goes through `lock`: the memtable is small and short-lived, and readers of
//!   flushed data (the common case) never take it — ``isEmpty`` is a lock-free check.
//! - Keys and values are copied into the memtable's arena once and never move: a lookup hands
//!   out a view of the arena (valid while the memtable is alive), and an insert allocates nothing
//!   in the steady state but arena chunks. A WAL replay instead keeps the WAL's mapping (or
//!   its copy) alive and points into it: those bytes never change either.
//! - A key's versions are kept in ascending LSN order; a reader at snapshot LSN `L` sees the
//!   newest version with `lsn <= L`. Entries above every snapshot's LSN (appended, not yet
//!   durable) are therefore invisible until the commit is acknowledged.
//! - Once frozen (handed to a flush) a memtable is never written again.

import Dispatch
import Synchronization

/// One version of a key, as flushes and scans receive it (copied out).
struct MemVersion: Sendable {
    var lsn: LSN
    var isDelete: Bool
    var value: [UInt8]
}

/// One key with the version visible to a snapshot, as handed to scans.
struct MemEntry: Sendable {
    var key: [UInt8]
    var version: MemVersion
}

/// A key with all its versions, newest first, as handed to a flush.
struct MemKeyVersions: Sendable {
    var key: [UInt8]
    var versions: [MemVersion]
}

/// The in-memory table of recent writes.
final class Memtable: @unchecked Sendable {
    // Safe to share: `tables`, the arena, LSN bounds and `byteCount` are only touched with
    // `lock` held; `entryCount` is atomic. Views into the arena stay valid while `self` lives.
    private let lock = Lock()
    private let arena = ByteArena(chunkByteCount: 1 << 20)
    // (No dynamic exclusivity checks on these: `lock` serialises every access.)
    @exclusivity(unchecked) private var tables: [String: MemtableKeyIndex] = [:]
    /// The table the last operation went to, unretained (`tables` holds it).
    @exclusivity(unchecked) private var lastTable: (name: ArenaBytes, table: Unmanaged<MemtableKeyIndex>)?
    @exclusivity(unchecked) private var minLSNStorage: LSN = 0
    @exclusivity(unchecked) private var maxLSNStorage: LSN = 0
    @exclusivity(unchecked) private var byteCountStorage = 0
    /// What keeps borrowed payloads alive (WAL mappings a replay applied in place).
    @exclusivity(unchecked) private var payloadOwners: [AnyObject] = []
    /// The key hashes of the batch being applied (reused from batch to batch).
    @exclusivity(unchecked) private var batchHashes: [UInt64] = []
    /// The table of each operation of the batch being applied.
    @exclusivity(unchecked) private var batchTables: [Unmanaged<MemtableKeyIndex>] = []

    /// Inserting a key, the filter word and hash slot of the key this many operations ahead
    /// are prefetched. Why not all of a batch's at once, before inserting: a burst of 2,000
    /// prefetches overflows the core's outstanding-miss buffers, most are dropped, and the
    /// inserts missed anyway (the filter word's load was 45% of a replay worker's own time).
    /// A WAL replay of 256 MiB of 100-byte records, interleaved runs: 202-223 -> 170-190 ms
    /// (4 to 64 ahead measured; 8 gained most).
    static let prefetchDistance = 8
    private let entryCount = Atomic<Int>(0)

    /// Approximate bytes held per entry beyond key and value, for the flush threshold.
    static let entryOverheadByteCount = 48

    /// Keys this memtable may hold: lets point reads of other keys skip the lock.
    private let filter: KeyFilter

    /// A memtable expected to grow to about `expectedByteCount` bytes (its filter's size).
    init(expectedByteCount: Int = 64 << 20) {
        filter = KeyFilter(bitCountLog2: KeyFilter.bitCountLog2(forMemtableByteCount: expectedByteCount))
    }

    /// The size of the key filter, which the memtable was made for.
    var filterByteCount: Int { filter.byteCount }

    /// `true` when no write was ever inserted. Lock-free: readers skip empty memtables.
    var isEmpty: Bool { entryCount.load(ordering: .acquiring) == 0 }

    /// Approximate memory held, in bytes.
    var byteCount: Int { lock.withLock { byteCountStorage } }

    /// The lowest and highest LSN inserted (0 when empty).
    var lsnRange: (min: LSN, max: LSN) { lock.withLock { (minLSNStorage, maxLSNStorage) } }

    /// The dimensions that have entries.
    var dimensionNames: [String] { lock.withLock { Array(tables.keys) } }

    /// Inserts a decoded batch whose first operation has LSN `firstLSN`.
    /// - Precondition: the payload was validated (``decodeBatchPayload(_:count:_:)``).
    ///
    /// Two passes: the first hashes every key and finds its table, the second inserts, each
    /// time prefetching the filter word and index slot of the key ``prefetchDistance`` ahead.
    /// In a large memtable both sit in memory the cache does not hold, and one miss after
    /// another made a WAL replay of small records wait on memory for most of its time;
    /// prefetches let the core keep several misses in flight.
    ///
    /// - Parameter owner: when given, the payload's bytes stay valid and unchanged as long as
    ///   `owner` lives, and the memtable keeps `owner` instead of copying them (a replay's WAL
    ///   mapping: the bytes are in the page cache already, and a copy of hundreds of MiB into
    ///   fresh memory was a large part of an open after a crash). Otherwise keys and values
    ///   are copied into the arena.
    func apply(payload: UnsafeRawBufferPointer, count: Int, firstLSN: LSN, owner: AnyObject? = nil) {
        lock.withLock {
            if let owner, payloadOwners.last !== owner { payloadOwners.append(owner) }
            let arena: ByteArena? = owner == nil ? self.arena : nil
            let distance = Memtable.prefetchDistance
            batchHashes.removeAll(keepingCapacity: true)
            batchTables.removeAll(keepingCapacity: true)
            let decoded = decodeBatchPayload(payload, count: count) { _, op in
                let hash = Checksum.keyHash(op.key)
                let table = tableLocked(op.dimension)
                if batchHashes.count < distance {
                    filter.prefetch(hash: hash)
                    table._withUnsafeGuaranteedRef { $0.prefetch(hash: hash) }
                }
                batchHashes.append(hash)
                batchTables.append(table)
            }
            precondition(decoded, "memtable given an unvalidated batch")
            forEachValidatedOperation(payload, count: count) { index, op in
                if index + distance < count {
                    let ahead = batchHashes[index + distance]
                    filter.prefetch(hash: ahead)
                    batchTables[index + distance]._withUnsafeGuaranteedRef { $0.prefetch(hash: ahead) }
                }
                let lsn = firstLSN + LSN(index)
                let table = batchTables[index]
                let value = arena?.copy(op.value) ?? op.value
                let version = MemtableVersion(lsn: lsn, value: ArenaBytes(value), isDelete: op.isDelete, older: -1)
                let hash = batchHashes[index]
                filter.insert(hash: hash)
                table._withUnsafeGuaranteedRef { $0.insert(op.key, hash: hash, version: version, arena: arena) }
                byteCountStorage += op.key.count + op.value.count + Memtable.entryOverheadByteCount
                if minLSNStorage == 0 { minLSNStorage = lsn }
                assert(lsn > maxLSNStorage, "memtable LSNs must increase")
                maxLSNStorage = lsn
            }
            entryCount.wrappingAdd(count, ordering: .releasing)
        }
    }

    /// Inserts the batches a WAL replay gathered, in LSN order, spreading the dimensions over
    /// up to `workerCount` threads (the calling thread is one of them).
    ///
    /// Why: a replay of millions of small records spends most of its time inserting, one key
    /// after another, each a cache miss in a table of hundreds of MiB. Dimensions have tables of
    /// their own, so two threads that each take some dimensions never touch the same table,
    /// and a key's versions still go in in LSN order (each thread walks every batch in order).
    /// Each table is also sized once for the operations it will get, so it never grows.
    ///
    /// - Precondition: the batches follow one another in LSN order above everything inserted
    ///   before (``ReplayBatches`` checks their payloads and keeps their owners).
    /// - Returns: the number of threads that inserted.
    @discardableResult
    func applyReplayed(_ gathered: ReplayBatches, workerCount: Int) -> Int {
        guard !gathered.batches.isEmpty else { return 0 }
        return lock.withLock {
            for owner in gathered.owners where !payloadOwners.contains(where: { $0 === owner }) { payloadOwners.append(owner) }
            assert(gathered.batches[0].firstLSN > maxLSNStorage, "memtable LSNs must increase")
            if minLSNStorage == 0 { minLSNStorage = gathered.batches[0].firstLSN }
            let lastBatch = gathered.batches[gathered.batches.count - 1]
            maxLSNStorage = lastBatch.firstLSN + LSN(lastBatch.count) - 1
            byteCountStorage += gathered.byteCount
            let counts = gathered.operationCounts
            let indexes = gathered.names.indices.map { i in
                let string = String(decoding: gathered.names[i].buffer, as: UTF8.self)
                let table = tables[string] ?? MemtableKeyIndex()
                tables[string] = table
                table.reserve(additionalKeys: counts[i])
                return table
            }
            // Largest dimension first onto the least loaded worker.
            let operationCount = gathered.dimensionOfOperation.count
            let workers = max(1, min(workerCount, counts.count, operationCount / Self.operationsPerReplayWorker))
            var workerOfDimension = [Int](repeating: 0, count: counts.count)
            var load = [Int](repeating: 0, count: workers)
            for d in counts.indices.sorted(by: { counts[$0] > counts[$1] }) {
                let w = load.indices.min { load[$0] < load[$1] }!
                workerOfDimension[d] = w
                load[w] += counts[d]
            }
            let work = ReplayWork(batches: gathered.batches, dimensionOfOperation: gathered.dimensionOfOperation,
                                  dimensionOfBatch: gathered.dimensionOfBatch, workerOfDimension: workerOfDimension,
                                  indexes: indexes, filter: filter, sharedFilter: workers > 1)
            if workers == 1 {
                work.run(worker: 0)
            } else {
                DispatchQueue.concurrentPerform(iterations: workers) { work.run(worker: $0) }
            }
            entryCount.wrappingAdd(operationCount, ordering: .releasing)
            return workers
        }
    }

    /// Below this many operations per worker a replay inserts on the calling thread alone:
    /// handing work to another thread costs more than it saves.
    static let operationsPerReplayWorker = 16_384

    /// The table of a dimension named by raw bytes; the last one used is remembered, so a batch
    /// of one dimension builds its name once.
    private func tableLocked(_ name: UnsafeRawBufferPointer) -> Unmanaged<MemtableKeyIndex> {
        if let last = lastTable, last.name == ArenaBytes(name) { return last.table }
        let string = String(decoding: name, as: UTF8.self)
        let table = tables[string] ?? MemtableKeyIndex()
        tables[string] = table
        lastTable = (ArenaBytes(arena.copy(name)), Unmanaged.passUnretained(table))
        return Unmanaged.passUnretained(table)
    }

    /// The newest version of `key` in `dimension` with `lsn <= snapshotLSN`: whether it is a
    /// delete, and the value's bytes (valid while `self` is alive).
    func lookup(_ key: UnsafeRawBufferPointer, in dimension: String, snapshotLSN: LSN) -> (isDelete: Bool, value: UnsafeRawBufferPointer)? {
        let hash = Checksum.keyHash(key)
        guard filter.mayContain(hash: hash) else { return nil }
        return lock.withLock {
            guard let v = tables[dimension]?.visible(key, hash: hash, at: snapshotLSN) else { return nil }
            return (v.isDelete, v.value.buffer)
        }
    }

    /// The visible version of every key in `dimension` starting with `prefix`, in key order
    /// (copied out: scans hold them past the lock).
    func visibleEntries(in dimension: String, prefix: [UInt8], snapshotLSN: LSN) -> [MemEntry] {
        lock.withLock {
            guard let table = tables[dimension] else { return [] }
            let keys = table.keysInOrder()
            var entries: [MemEntry] = []
            prefix.withUnsafeBytes { p in
                var i = table.lowerBound(p, in: keys)
                while i < keys.count, keyHasPrefix(keys[i].key, p) {
                    if let v = table.visible(from: keys[i].newest, at: snapshotLSN) {
                        entries.append(MemEntry(key: [UInt8](keys[i].key), version: MemVersion(lsn: v.lsn, isDelete: v.isDelete, value: v.value.array)))
                    }
                    i += 1
                }
            }
            return entries
        }
    }

    /// The LSN range and version count of `dimension`, or `nil` if it has no entry.
    func summary(of dimension: String) -> (lsnRange: (min: LSN, max: LSN), versionCount: Int)? {
        lock.withLock {
            guard let table = tables[dimension], table.keyCount > 0 else { return nil }
            return ((table.minLSN, table.maxLSN), table.versionCount)
        }
    }

    /// Calls `body` with every version of every key of `dimension`, in key order, newest first
    /// per key, as views into the arena (valid during the call): the input of a flush, copied
    /// nowhere on the way. Only called on a frozen memtable.
    func forEachVersion(in dimension: String, _ body: (_ key: UnsafeRawBufferPointer, _ lsn: LSN, _ isDelete: Bool, _ value: UnsafeRawBufferPointer) throws(StoreError) -> Void) throws(StoreError) {
        try lock.withLock { () throws(StoreError) in
            guard let table = tables[dimension] else { return }
            for entry in table.keysInOrder() {
                var i = entry.newest
                while i >= 0 {
                    let v = table.version(at: Int(i))
                    try body(entry.key, v.lsn, v.isDelete, v.value.buffer)
                    i = v.older
                }
            }
        }
    }

    /// Every key of `dimension` with all its versions, newest first, in key order (copied out).
    /// Only called on a frozen memtable.
    func allVersions(in dimension: String) -> [MemKeyVersions] {
        lock.withLock {
            guard let table = tables[dimension] else { return [] }
            return table.keysInOrder().map { entry in
                MemKeyVersions(key: [UInt8](entry.key), versions: table.chain(from: entry.newest).map {
                    MemVersion(lsn: $0.lsn, isDelete: $0.isDelete, value: $0.value.array)
                })
            }
        }
    }
}

/// The inserts of one parallel replay, split by dimension among workers.
private struct ReplayWork: @unchecked Sendable {
    // Safe to share: the batches, the dimension map and the worker map are only read; each index
    // is written by the one worker its dimension belongs to; the filter is only inserted into
    // with atomic updates while more than one worker runs (`sharedFilter`). The memtable's lock
    // is held by the caller throughout.
    let batches: [ReplayedBatch]
    let dimensionOfOperation: [UInt32]
    let dimensionOfBatch: [UInt32]
    let workerOfDimension: [Int]
    let indexes: [MemtableKeyIndex]
    let filter: KeyFilter
    let sharedFilter: Bool

    /// Inserts every operation of the worker's dimensions, batch by batch: a first pass over a
    /// batch hashes its keys, the second inserts them, each time prefetching the filter word and
    /// slot of the key ``Memtable/prefetchDistance`` ahead.
    func run(worker: Int) {
        let distance = Memtable.prefetchDistance
        var hashes: [UInt64] = []
        var dimensions: [Int] = []
        var operation = 0
        for (b, batch) in batches.enumerated() {
            // A batch of another worker's one dimension (a load's batches mostly name one) is
            // skipped whole: walking its operations twice only to skip each one was a third of
            // the workers' time in this loop (perf, a replay of 256 MiB of the small profile).
            let only = dimensionOfBatch[b]
            if only != ReplayBatches.mixedDimensions && workerOfDimension[Int(only)] != worker {
                operation += batch.count
                continue
            }
            hashes.removeAll(keepingCapacity: true)
            dimensions.removeAll(keepingCapacity: true)
            forEachValidatedOperation(batch.payload, count: batch.count) { i, op in
                let d = Int(dimensionOfOperation[operation + i])
                guard workerOfDimension[d] == worker else { return }
                let hash = Checksum.keyHash(op.key)
                if hashes.count < distance {
                    filter.prefetch(hash: hash)
                    indexes[d].prefetch(hash: hash)
                }
                hashes.append(hash)
                dimensions.append(d)
            }
            var next = 0
            forEachValidatedOperation(batch.payload, count: batch.count) { i, op in
                let d = Int(dimensionOfOperation[operation + i])
                guard workerOfDimension[d] == worker else { return }
                if next + distance < hashes.count {
                    let ahead = hashes[next + distance]
                    filter.prefetch(hash: ahead)
                    indexes[dimensions[next + distance]].prefetch(hash: ahead)
                }
                let hash = hashes[next]
                next += 1
                if sharedFilter { filter.insertShared(hash: hash) } else { filter.insert(hash: hash) }
                let version = MemtableVersion(lsn: batch.firstLSN + LSN(i), value: ArenaBytes(op.value), isDelete: op.isDelete, older: -1)
                indexes[d].insert(op.key, hash: hash, version: version, arena: nil)
            }
            operation += batch.count
        }
    }
}
