//! The keys of one memtable dimension and the versions of each: an open-addressing hash table
//! over keys stored in the memtable's arena.
//!
//! Why not `[ArenaBytes: Versions]`: a dictionary hashes every key with SipHash through the
//! generic `Hasher` (a quarter of a replay's instructions), checks exclusivity on every access
//! of a class's dictionary, and keeps each key's versions in an array of its own. Here a key is
//! hashed once with XXH3, 32 bits of the hash are kept (growing never hashes again), and
//! versions are appended to one table, chained newest to oldest.
//!
//! Layout, for a replay of millions of small records (every byte here is memory the kernel
//! must fault in and clear): a slot is 8 bytes, the kept hash and the newest version; the key
//! itself is reached through that version. Versions live in fixed chunks that never move, so
//! growing copies nothing. Both come zeroed from ``ZeroedPages``, and all zeros is empty.
//!
//! Invariants:
//! - At most 70% of the slots are used, so every probe ends at an empty slot.
//! - A key's versions are appended in ascending LSN order; a slot names the last one and each
//!   version names the next older one (`-1`: none). Every version of a key holds the key bytes
//!   of its first version.
//! - Keys and values live in the memtable's arena, or in a WAL mapping the memtable keeps, either
//!   of which outlives the index.
//! Not synchronised: the owning ``Memtable`` calls it with its lock held.

import CPrefetch

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
    /// A slot: all zeros is empty.
    private struct Slot {
        /// The low 32 bits of the key's hash: where it probes from at any table size, and a
        /// filter before the key's bytes are compared.
        var hash: UInt32
        /// 1 + the index of the key's newest version; 0 for an empty slot.
        var newestPlusOne: Int32
    }

    /// A version as stored: all zeros is never a stored version (LSNs start at 1).
    private struct StoredVersion {
        var lsn: LSN
        var key: UnsafeRawPointer?
        var value: UnsafeRawPointer?
        var keyCount: UInt32
        var valueCount: UInt32
        var older: Int32
        var isDelete: Bool
    }

    /// Versions per chunk: a chunk of 40-byte versions is about 2.5 MiB, huge-page sized.
    private static let chunkShift = 16
    private static let chunkMask = (1 << chunkShift) - 1

    // The storage is only reached through this class, with the memtable's lock held: the
    // dynamic exclusivity checks on these properties would only cost time.
    @exclusivity(unchecked) private var slots: UnsafeMutableBufferPointer<Slot>
    @exclusivity(unchecked) private var chunks: [UnsafeMutablePointer<StoredVersion>] = []
    /// The number of versions stored.
    @exclusivity(unchecked) private(set) var versionCount = 0
    @exclusivity(unchecked) private(set) var keyCount = 0
    /// The lowest and highest LSN of any version (0 while empty).
    @exclusivity(unchecked) private(set) var minLSN: LSN = 0
    @exclusivity(unchecked) private(set) var maxLSN: LSN = 0
    /// Occupied slots in key order, computed on demand; `nil` after a new key.
    @exclusivity(unchecked) private var sorted: [Int32]?
    /// Whether every new key so far came after the one before it (a bulk load in key order,
    /// sequential ids): then key order is insertion order and a flush sorts nothing.
    @exclusivity(unchecked) private var ascending = true
    /// While `ascending`: each key's first version and kept hash, in insertion order (which
    /// finds its slot again, wherever growing moved it).
    @exclusivity(unchecked) private var newKeys: [(firstVersion: Int32, hash: UInt32)] = []

    init() {
        slots = Self.allocateSlots(64)
    }

    deinit {
        ZeroedPages.deallocate(UnsafeMutableRawBufferPointer(slots))
        for chunk in chunks {
            ZeroedPages.deallocate(UnsafeMutableRawBufferPointer(start: chunk, count: Self.chunkByteCount))
        }
    }

    private static var chunkByteCount: Int { MemoryLayout<StoredVersion>.stride << chunkShift }

    private static func allocateSlots(_ count: Int) -> UnsafeMutableBufferPointer<Slot> {
        let raw = ZeroedPages.allocate(byteCount: count * MemoryLayout<Slot>.stride, populate: true)
        return raw.bindMemory(to: Slot.self)
    }

    /// The stored version at `index`. - Precondition: `0 <= index < versionCount`.
    @inline(__always)
    private func stored(_ index: Int) -> UnsafeMutablePointer<StoredVersion> {
        precondition(index >= 0 && index < versionCount, "memtable version index out of range")
        return chunks[index >> Self.chunkShift] + (index & Self.chunkMask)
    }

    /// The version at `index`. - Precondition: `0 <= index < versionCount`.
    func version(at index: Int) -> MemtableVersion {
        let v = stored(index).pointee
        return MemtableVersion(lsn: v.lsn, value: ArenaBytes(UnsafeRawBufferPointer(start: v.value, count: Int(v.valueCount))),
                               isDelete: v.isDelete, older: v.older)
    }

    /// The key of the version at `index`.
    @inline(__always)
    private func key(ofVersion index: Int) -> UnsafeRawBufferPointer {
        let v = stored(index)
        return UnsafeRawBufferPointer(start: v.pointee.key, count: Int(v.pointee.keyCount))
    }

    private func append(_ v: StoredVersion) -> Int32 {
        let index = versionCount
        precondition(index < Int(Int32.max), "a memtable dimension holds at most 2^31 - 1 versions")
        if index & Self.chunkMask == 0 {
            let raw = ZeroedPages.allocate(byteCount: Self.chunkByteCount)
            chunks.append(raw.baseAddress!.bindMemory(to: StoredVersion.self, capacity: 1 << Self.chunkShift))
        }
        versionCount += 1
        stored(index).pointee = v
        return Int32(index)
    }

    /// Adds a version of `key` (hashed to `hash`). A new key is copied into `arena`, or, with
    /// no arena, kept where it is: the caller then keeps its bytes alive as long as the index.
    func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, version: MemtableVersion, arena: ByteArena?) {
        if (keyCount + 1) * 10 > slots.count * 7 { grow() }
        if minLSN == 0 { minLSN = version.lsn }
        maxLSN = max(maxLSN, version.lsn)
        assert(version.lsn > 0, "LSNs start at 1")
        var v = StoredVersion(lsn: version.lsn, key: nil, value: version.value.buffer.baseAddress, keyCount: UInt32(key.count),
                              valueCount: UInt32(version.value.buffer.count), older: -1, isDelete: version.isDelete)
        let hash32 = UInt32(truncatingIfNeeded: hash)
        let (i, found) = probe(key, hash32: hash32)
        if found {
            let newest = Int(slots[i].newestPlusOne) - 1
            assert(stored(newest).pointee.lsn < v.lsn, "versions of a key must be inserted in LSN order")
            v.key = stored(newest).pointee.key
            v.older = Int32(newest)
            slots[i].newestPlusOne = append(v) + 1
            return
        }
        v.key = (arena?.copy(key) ?? key).baseAddress
        let index = append(v)
        slots[i] = Slot(hash: hash32, newestPlusOne: index + 1)
        keyCount += 1
        sorted = nil
        if ascending {
            if let last = newKeys.last, compareKeys(self.key(ofVersion: Int(last.firstVersion)), key) >= 0 {
                ascending = false
                newKeys = []
            } else {
                newKeys.append((index, hash32))
            }
        }
    }

    /// Makes room for `additionalKeys` more keys, so inserting them never grows the table
    /// (a replay knows how many operations each dimension gets: an upper bound on its keys).
    func reserve(additionalKeys: Int) {
        let needed = keyCount + additionalKeys
        var count = slots.count
        while needed * 10 > count * 7 { count *= 2 }
        guard count > slots.count else { return }
        resize(to: count)
    }

    /// Asks the core to bring the slot `hash` starts probing at into the cache before an
    /// insert (a hint: no effect on what the index holds).
    @inline(__always)
    func prefetch(hash: UInt64) {
        let i = Int(UInt32(truncatingIfNeeded: hash)) & (slots.count - 1)
        layerstore_prefetch(UnsafeRawPointer(slots.baseAddress! + i))
    }

    /// The newest version of `key` with `lsn <= snapshotLSN`, or `nil`.
    func visible(_ key: UnsafeRawBufferPointer, hash: UInt64, at snapshotLSN: LSN) -> MemtableVersion? {
        let (slot, found) = probe(key, hash32: UInt32(truncatingIfNeeded: hash))
        guard found else { return nil }
        return visible(from: slots[slot].newestPlusOne - 1, at: snapshotLSN)
    }

    /// Every key in key order with its newest version's index.
    func keysInOrder() -> [(key: UnsafeRawBufferPointer, newest: Int32)] {
        sortedSlots().map { slot in
            let newest = slots[Int(slot)].newestPlusOne - 1
            return (key(ofVersion: Int(newest)), newest)
        }
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
        var i = Int(index)
        while i >= 0 {
            let v = stored(i)
            if v.pointee.lsn <= snapshotLSN { return version(at: i) }
            i = Int(v.pointee.older)
        }
        return nil
    }

    /// Every version along the chain starting at `index`, newest first.
    func chain(from index: Int32) -> [MemtableVersion] {
        var out: [MemtableVersion] = []
        var i = Int(index)
        while i >= 0 {
            let v = version(at: i)
            out.append(v)
            i = Int(v.older)
        }
        return out
    }

    /// The slot holding `key` (`found`), or the empty slot where it would go.
    @inline(__always)
    private func probe(_ key: UnsafeRawBufferPointer, hash32: UInt32) -> (slot: Int, found: Bool) {
        let mask = slots.count - 1
        var i = Int(hash32) & mask
        while slots[i].newestPlusOne != 0 {
            if slots[i].hash == hash32 {
                let candidate = self.key(ofVersion: Int(slots[i].newestPlusOne) - 1)
                if candidate.count == key.count && compareKeys(candidate, key) == 0 { return (i, true) }
            }
            i = (i + 1) & mask
        }
        return (i, false)
    }

    private func sortedSlots() -> [Int32] {
        if let sorted { return sorted }
        var order: [Int32] = []
        order.reserveCapacity(keyCount)
        if ascending {
            for k in newKeys {
                let (slot, found) = probe(key(ofVersion: Int(k.firstVersion)), hash32: k.hash)
                precondition(found, "a memtable key lost its slot")
                order.append(Int32(slot))
            }
        } else {
            // Sorting compared keys with `memcmp` through a closure: a third of a small-record
            // load's instructions went there. The first 16 bytes, as two big-endian integers,
            // order most keys with two integer compares; only keys equal that far compare whole.
            var entries: [SortEntry] = []
            entries.reserveCapacity(keyCount)
            for i in slots.indices where slots[i].newestPlusOne != 0 {
                let key = key(ofVersion: Int(slots[i].newestPlusOne) - 1)
                entries.append(SortEntry(head: Self.bigEndianWord(key, from: 0), tail: Self.bigEndianWord(key, from: 8), slot: Int32(i)))
            }
            entries.sort { a, b in
                if a.head != b.head { return a.head < b.head }
                if a.tail != b.tail { return a.tail < b.tail }
                return compareKeys(key(ofVersion: Int(slots[Int(a.slot)].newestPlusOne) - 1), key(ofVersion: Int(slots[Int(b.slot)].newestPlusOne) - 1)) < 0
            }
            for entry in entries { order.append(entry.slot) }
        }
        assert(order.count == keyCount)
        sorted = order
        return order
    }

    /// A key's sort prefix and its slot.
    private struct SortEntry {
        var head: UInt64
        var tail: UInt64
        var slot: Int32
    }

    /// Bytes `offset ..< offset + 8` of `key` as a big-endian integer, zero past the key's end:
    /// integers compare as the bytes do (a shorter key that is a prefix sorts first, or ties and
    /// is compared whole).
    @inline(__always)
    private static func bigEndianWord(_ key: UnsafeRawBufferPointer, from offset: Int) -> UInt64 {
        if key.count >= offset + 8 {
            // Safe: the eight bytes lie inside the key (just checked).
            return UInt64(bigEndian: key.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
        var word: UInt64 = 0
        var i = offset
        while i < offset + 8 {
            word <<= 8
            if i < key.count { word |= UInt64(key[i]) }
            i += 1
        }
        return word
    }

    /// Doubles the table.
    private func grow() { resize(to: slots.count * 2) }

    /// Moves every key to a table of `count` slots (a power of two), placing each by its kept hash.
    private func resize(to count: Int) {
        assert(count > slots.count && count & (count - 1) == 0, "slot counts are growing powers of two")
        let old = slots
        slots = Self.allocateSlots(count)
        let mask = slots.count - 1
        for slot in old where slot.newestPlusOne != 0 {
            var i = Int(slot.hash) & mask
            while slots[i].newestPlusOne != 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
        ZeroedPages.deallocate(UnsafeMutableRawBufferPointer(old))
        sorted = nil
    }
}
