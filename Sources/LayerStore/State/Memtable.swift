//! The writes since the last flush, in memory, readable by snapshots.
//!
//! Invariants:
//! - One writer inserts (under the store's writer lock); readers look up concurrently. All access
//!   to the tables goes through `lock`: the memtable is small and short-lived, and readers of
//!   flushed data (the common case) never take it — ``isEmpty`` is a lock-free check.
//! - Keys and values are copied into the memtable's arena once and never move: a lookup hands
//!   out a view of the arena (valid while the memtable is alive), and an insert allocates nothing
//!   in the steady state but arena chunks.
//! - A key's versions are kept in ascending LSN order; a reader at snapshot LSN `L` sees the
//!   newest version with `lsn <= L`. Entries above every snapshot's LSN (appended, not yet
//!   durable) are therefore invisible until the commit is acknowledged.
//! - Once frozen (handed to a flush) a memtable is never written again.

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
    /// A version as stored: its value lives in the arena.
    private struct Stored {
        var lsn: LSN
        var isDelete: Bool
        var value: ArenaBytes
    }

    /// A key's versions, oldest first; the first is inline so a key written once costs no
    /// array of its own.
    private struct Versions {
        var first: Stored
        var rest: [Stored] = []

        /// The newest version with `lsn <= snapshotLSN`.
        func visible(at snapshotLSN: LSN) -> Stored? {
            if let v = rest.last(where: { $0.lsn <= snapshotLSN }) { return v }
            return first.lsn <= snapshotLSN ? first : nil
        }

        var newestFirst: [Stored] { rest.reversed() + [first] }
    }

    private final class Table {
        var entries: [ArenaBytes: Versions] = [:]
        var sortedKeys: [ArenaBytes]?
    }

    // Safe to share: `tables`, the arena, LSN bounds and `byteCount` are only touched with
    // `lock` held; `entryCount` is atomic. Views into the arena stay valid while `self` lives.
    private let lock = Lock()
    private let arena = ByteArena(chunkByteCount: 1 << 20)
    private var tables: [String: Table] = [:]
    private var lastTable: (name: ArenaBytes, table: Table)?
    private var minLSNStorage: LSN = 0
    private var maxLSNStorage: LSN = 0
    private var byteCountStorage = 0
    private let entryCount = Atomic<Int>(0)

    /// Approximate bytes held per entry beyond key and value, for the flush threshold.
    static let entryOverheadByteCount = 48

    init() {}

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
    func apply(payload: UnsafeRawBufferPointer, count: Int, firstLSN: LSN) {
        lock.withLock {
            let ok = decodeBatchPayload(payload, count: count) { index, op in
                let lsn = firstLSN + LSN(index)
                let table = tableLocked(op.dimension)
                let stored = Stored(lsn: lsn, isDelete: op.isDelete, value: ArenaBytes(arena.copy(op.value)))
                let probe = ArenaBytes(op.key)
                if table.entries[probe] != nil {
                    table.entries[probe]!.rest.append(stored)
                } else {
                    table.entries[ArenaBytes(arena.copy(op.key))] = Versions(first: stored)
                    table.sortedKeys = nil
                }
                byteCountStorage += op.key.count + op.value.count + Memtable.entryOverheadByteCount
                if minLSNStorage == 0 { minLSNStorage = lsn }
                assert(lsn > maxLSNStorage, "memtable LSNs must increase")
                maxLSNStorage = lsn
            }
            precondition(ok, "memtable given an unvalidated batch")
            entryCount.wrappingAdd(count, ordering: .releasing)
        }
    }

    /// The table of a dimension named by raw bytes; the last one used is remembered, so a batch
    /// of one dimension builds its name once.
    private func tableLocked(_ name: UnsafeRawBufferPointer) -> Table {
        if let last = lastTable, last.name == ArenaBytes(name) { return last.table }
        let string = String(decoding: name, as: UTF8.self)
        let table = tables[string] ?? Table()
        tables[string] = table
        lastTable = (ArenaBytes(arena.copy(name)), table)
        return table
    }

    /// The newest version of `key` in `dimension` with `lsn <= snapshotLSN`: whether it is a
    /// delete, and the value's bytes (valid while `self` is alive).
    func lookup(_ key: UnsafeRawBufferPointer, in dimension: String, snapshotLSN: LSN) -> (isDelete: Bool, value: UnsafeRawBufferPointer)? {
        lock.withLock {
            guard let v = tables[dimension]?.entries[ArenaBytes(key)]?.visible(at: snapshotLSN) else { return nil }
            return (v.isDelete, v.value.buffer)
        }
    }

    /// The visible version of every key in `dimension` starting with `prefix`, in key order
    /// (copied out: scans hold them past the lock).
    func visibleEntries(in dimension: String, prefix: [UInt8], snapshotLSN: LSN) -> [MemEntry] {
        lock.withLock {
            guard let table = tables[dimension] else { return [] }
            let keys = sortedKeysLocked(table)
            var entries: [MemEntry] = []
            prefix.withUnsafeBytes { p in
                var i = lowerBound(keys, p)
                while i < keys.count, Reader.hasPrefix(keys[i].buffer, p) {
                    if let v = table.entries[keys[i]]!.visible(at: snapshotLSN) {
                        entries.append(MemEntry(key: keys[i].array, version: MemVersion(lsn: v.lsn, isDelete: v.isDelete, value: v.value.array)))
                    }
                    i += 1
                }
            }
            return entries
        }
    }

    /// Every key of `dimension` with all its versions, newest first, in key order: the input of a
    /// flush. Only called on a frozen memtable.
    func allVersions(in dimension: String) -> [MemKeyVersions] {
        lock.withLock {
            guard let table = tables[dimension] else { return [] }
            return sortedKeysLocked(table).map { key in
                MemKeyVersions(key: key.array, versions: table.entries[key]!.newestFirst.map {
                    MemVersion(lsn: $0.lsn, isDelete: $0.isDelete, value: $0.value.array)
                })
            }
        }
    }

    private func sortedKeysLocked(_ table: Table) -> [ArenaBytes] {
        if let keys = table.sortedKeys { return keys }
        let keys = table.entries.keys.sorted { compareKeys($0.buffer, $1.buffer) < 0 }
        table.sortedKeys = keys
        return keys
    }

    private func lowerBound(_ keys: [ArenaBytes], _ target: UnsafeRawBufferPointer) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if compareKeys(keys[mid].buffer, target) < 0 { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
