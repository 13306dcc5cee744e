//! The keys of one memtable dimension and the versions of each: an open-addressing hash table
//! over keys stored in the memtable's arena.
//!
//! Why not `[ArenaBytes: Versions]`: a dictionary hashes every key with SipHash through the
//! generic `Hasher` (a quarter of a replay's instructions), checks exclusivity on every access
//! of a class's dictionary, and keeps each key's versions in an array of its own. Here a key is
//! hashed once with XXH3, the hash is kept (growing never hashes again), and versions are
//! appended to one array, chained newest to oldest.
//!
//! Invariants:
//! - At most half the slots are used, so every probe ends at an empty slot.
//! - A key's versions are appended in ascending LSN order; `newest` names the last one and
//!   each version names the next older one (`-1`: none).
//! - Keys and values live in the arena, which outlives the index.
//! Not synchronised: the owning ``Memtable`` calls it with its lock held.

/// One version of a key.
struct MemtableVersion {
    var lsn: LSN
    var value: ArenaBytes
    var isDelete: Bool
    /// The index of the next older version of the same key, or `-1`.
    var older: Int32
}

/// The hash table of one memtable dimension.
final class MemtableKeyIndex {
    private struct Slot {
        var hash: UInt64
        /// The key in the arena; `nil` for an empty slot.
        var key: UnsafeRawPointer?
        var keyCount: Int32
        /// The index in `versions` of the key's newest version.
        var newest: Int32
    }

    // The storage is only reached through this class, with the memtable's lock held: the
    // dynamic exclusivity checks on these properties would only cost time.
    @exclusivity(unchecked) private var slots: UnsafeMutableBufferPointer<Slot>
    @exclusivity(unchecked) private(set) var versions: ContiguousArray<MemtableVersion> = []
    @exclusivity(unchecked) private(set) var keyCount = 0
    /// The lowest and highest LSN of any version (0 while empty).
    @exclusivity(unchecked) private(set) var minLSN: LSN = 0
    @exclusivity(unchecked) private(set) var maxLSN: LSN = 0
    /// Occupied slots in key order, computed on demand; `nil` after a new key.
    @exclusivity(unchecked) private var sorted: [Int32]?

    init() {
        slots = .allocate(capacity: 64)
        slots.initialize(repeating: Slot(hash: 0, key: nil, keyCount: 0, newest: -1))
    }

    deinit { slots.deallocate() }

    /// Adds a version of `key` (hashed to `hash`). A new key is copied with `copyKey`, which
    /// must return bytes that live as long as the index.
    func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, version: MemtableVersion, copyKey: (UnsafeRawBufferPointer) -> UnsafeRawBufferPointer) {
        if (keyCount + 1) * 2 > slots.count { grow() }
        if minLSN == 0 { minLSN = version.lsn }
        maxLSN = max(maxLSN, version.lsn)
        var v = version
        let index = Int32(versions.count)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while let existing = slots[i].key {
            if slots[i].hash == hash, Int(slots[i].keyCount) == key.count,
                compareKeys(UnsafeRawBufferPointer(start: existing, count: key.count), key) == 0 {
                assert(versions[Int(slots[i].newest)].lsn < v.lsn, "versions of a key must be inserted in LSN order")
                v.older = slots[i].newest
                versions.append(v)
                slots[i].newest = index
                return
            }
            i = (i + 1) & mask
        }
        let stored = copyKey(key)
        v.older = -1
        versions.append(v)
        slots[i] = Slot(hash: hash, key: stored.baseAddress, keyCount: Int32(key.count), newest: index)
        keyCount += 1
        sorted = nil
    }

    /// The newest version of `key` with `lsn <= snapshotLSN`, or `nil`.
    func visible(_ key: UnsafeRawBufferPointer, hash: UInt64, at snapshotLSN: LSN) -> MemtableVersion? {
        guard let slot = find(key, hash: hash) else { return nil }
        return visible(from: slots[slot].newest, at: snapshotLSN)
    }

    /// Every key in key order with its newest version's index.
    func keysInOrder() -> [(key: UnsafeRawBufferPointer, newest: Int32)] {
        sortedSlots().map { (UnsafeRawBufferPointer(start: slots[Int($0)].key, count: Int(slots[Int($0)].keyCount)), slots[Int($0)].newest) }
    }

    /// The first position in ``keysInOrder()`` whose key is `>= key`.
    func lowerBound(_ key: UnsafeRawBufferPointer, in keys: [(key: UnsafeRawBufferPointer, newest: Int32)]) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if compareKeys(keys[mid].key, key) < 0 { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The newest version with `lsn <= snapshotLSN` along the chain starting at `index`.
    func visible(from index: Int32, at snapshotLSN: LSN) -> MemtableVersion? {
        var i = index
        while i >= 0 {
            let v = versions[Int(i)]
            if v.lsn <= snapshotLSN { return v }
            i = v.older
        }
        return nil
    }

    /// Every version along the chain starting at `index`, newest first.
    func chain(from index: Int32) -> [MemtableVersion] {
        var out: [MemtableVersion] = []
        var i = index
        while i >= 0 {
            out.append(versions[Int(i)])
            i = versions[Int(i)].older
        }
        return out
    }

    private func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while let existing = slots[i].key {
            if slots[i].hash == hash, Int(slots[i].keyCount) == key.count,
                compareKeys(UnsafeRawBufferPointer(start: existing, count: key.count), key) == 0 {
                return i
            }
            i = (i + 1) & mask
        }
        return nil
    }

    private func sortedSlots() -> [Int32] {
        if let sorted { return sorted }
        var order: [Int32] = []
        order.reserveCapacity(keyCount)
        for i in slots.indices where slots[i].key != nil { order.append(Int32(i)) }
        order.sort { a, b in
            compareKeys(UnsafeRawBufferPointer(start: slots[Int(a)].key, count: Int(slots[Int(a)].keyCount)),
                        UnsafeRawBufferPointer(start: slots[Int(b)].key, count: Int(slots[Int(b)].keyCount))) < 0
        }
        sorted = order
        return order
    }

    /// Doubles the table, placing each key by its kept hash.
    private func grow() {
        let old = slots
        slots = .allocate(capacity: old.count * 2)
        slots.initialize(repeating: Slot(hash: 0, key: nil, keyCount: 0, newest: -1))
        let mask = slots.count - 1
        for slot in old where slot.key != nil {
            var i = Int(truncatingIfNeeded: slot.hash) & mask
            while slots[i].key != nil { i = (i + 1) & mask }
            slots[i] = slot
        }
        old.deallocate()
        sorted = nil
    }
}
