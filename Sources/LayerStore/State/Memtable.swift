//! The writes since the last flush, in memory, readable by snapshots.
//!
//! Invariants:
//! - One writer inserts (under the store's writer lock); readers look up concurrently. All access
//!   to the tables goes through `lock`: the memtable is small and short-lived, and readers of
//!   flushed data (the common case) never take it — ``isEmpty`` is a lock-free check.
//! - A key's versions are kept in ascending LSN order; a reader at snapshot LSN `L` sees the
//!   newest version with `lsn <= L`. Entries above every snapshot's LSN (appended, not yet
//!   durable) are therefore invisible until the commit is acknowledged.
//! - Once frozen (handed to a flush) a memtable is never written again.

import Synchronization

/// One version of a key in the memtable.
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
    // Safe to share: `tables`, `sortedKeys`, LSN bounds and `byteCount` are only touched with
    // `lock` held; `entryCount` is atomic.
    private let lock = Lock()
    private var tables: [String: [[UInt8]: [MemVersion]]] = [:]
    private var sortedKeys: [String: [[UInt8]]] = [:]
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
                let name = String(decoding: op.dimension, as: UTF8.self)
                let key = [UInt8](op.key)
                let version = MemVersion(lsn: lsn, isDelete: op.isDelete, value: [UInt8](op.value))
                if tables[name] == nil { tables[name] = [:] }
                let isNewKey = tables[name]![key] == nil
                tables[name]![key, default: []].append(version)
                if isNewKey { sortedKeys[name] = nil }
                byteCountStorage += key.count + op.value.count + Memtable.entryOverheadByteCount
                if minLSNStorage == 0 { minLSNStorage = lsn }
                assert(lsn > maxLSNStorage, "memtable LSNs must increase")
                maxLSNStorage = lsn
            }
            precondition(ok, "memtable given an unvalidated batch")
            entryCount.wrappingAdd(count, ordering: .releasing)
        }
    }

    /// The newest version of `key` in `dimension` with `lsn <= snapshotLSN`.
    func lookup(_ key: [UInt8], in dimension: String, snapshotLSN: LSN) -> MemVersion? {
        lock.withLock {
            guard let versions = tables[dimension]?[key] else { return nil }
            return versions.last(where: { $0.lsn <= snapshotLSN })
        }
    }

    /// The visible version of every key in `dimension` starting with `prefix`, in key order.
    func visibleEntries(in dimension: String, prefix: [UInt8], snapshotLSN: LSN) -> [MemEntry] {
        lock.withLock {
            guard let table = tables[dimension] else { return [] }
            let keys = sortedKeysLocked(dimension, table)
            var entries: [MemEntry] = []
            var i = lowerBound(keys, prefix)
            while i < keys.count, keys[i].starts(with: prefix) {
                if let v = table[keys[i]]!.last(where: { $0.lsn <= snapshotLSN }) {
                    entries.append(MemEntry(key: keys[i], version: v))
                }
                i += 1
            }
            return entries
        }
    }

    /// Every key of `dimension` with all its versions, newest first, in key order: the input of a
    /// flush. Only called on a frozen memtable.
    func allVersions(in dimension: String) -> [MemKeyVersions] {
        lock.withLock {
            guard let table = tables[dimension] else { return [] }
            return sortedKeysLocked(dimension, table).map { MemKeyVersions(key: $0, versions: table[$0]!.reversed()) }
        }
    }

    private func sortedKeysLocked(_ dimension: String, _ table: [[UInt8]: [MemVersion]]) -> [[UInt8]] {
        if let keys = sortedKeys[dimension] { return keys }
        let keys = table.keys.sorted { a, b in
            a.withUnsafeBytes { ra in b.withUnsafeBytes { rb in compareKeys(ra, rb) < 0 } }
        }
        sortedKeys[dimension] = keys
        return keys
    }

    private func lowerBound(_ keys: [[UInt8]], _ target: [UInt8]) -> Int {
        var low = 0, high = keys.count
        target.withUnsafeBytes { t in
            while low < high {
                let mid = (low + high) / 2
                if keys[mid].withUnsafeBytes({ compareKeys($0, t) }) < 0 { low = mid + 1 } else { high = mid }
            }
        }
        return low
    }
}
