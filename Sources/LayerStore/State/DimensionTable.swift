//! The segments of each dimension, by name, as point reads look them up.
//!
//! Why not `[String: [Segment]]`: reading a dictionary or an array held by a shared object
//! retains its storage, and a retain writes the storage's reference count — one cache line that
//! every reading thread then passes around, on every read. This table is plain memory, written
//! once when its state is built and only read afterwards; its entries are unretained references
//! to segments that the owning ``StoreState`` keeps alive.

/// An immutable open-addressing map from dimension name to unretained segments, newest first.
struct DimensionTable: @unchecked Sendable {
    // Safe to share: written only by `init`, read-only afterwards, freed by the owner's deinit.
    private struct Entry {
        var hash: UInt64
        /// Where the name's UTF-8 bytes start in `names` (`-1`: an empty slot).
        var nameStart: Int
        var nameCount: Int
        var segments: UnsafeBufferPointer<Unmanaged<SegmentSlot>>
    }

    private let entries: UnsafeMutableBufferPointer<Entry>
    private let names: UnsafeMutableRawBufferPointer
    /// Every entry's `segments`, back to back (one allocation: an open builds a table, and an
    /// allocation and an array per dimension were 9% of a cold open's instructions).
    private let refs: UnsafeMutableBufferPointer<Unmanaged<SegmentSlot>>
    /// `entries.count - 1`; the count is a power of two at least twice the dimension count.
    private let mask: Int

    /// Builds the table. The caller keeps every segment alive for as long as the table is used
    /// and calls ``deallocate()`` once.
    init(_ segments: SegmentsByDimension) {
        var capacity = 4
        while capacity < segments.count * 2 { capacity *= 2 }
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: Entry(hash: 0, nameStart: -1, nameCount: 0, segments: UnsafeBufferPointer(start: nil, count: 0)))
        mask = capacity - 1
        var nameByteCount = 0, slotCount = 0
        for entry in segments.entries {
            nameByteCount += entry.name.utf8.count
            slotCount += entry.segments.count
        }
        names = .allocate(byteCount: max(1, nameByteCount), alignment: 1)
        refs = .allocate(capacity: max(1, slotCount))
        var used = 0, usedRefs = 0
        for entry in segments.entries {
            var name = entry.name
            let (start, count) = (used, name.utf8.count)
            let hash = name.withUTF8 { bytes in
                // Inside `names`: its size is the sum of every name's count.
                UnsafeMutableRawBufferPointer(rebasing: names[start..<(start + count)]).copyMemory(from: UnsafeRawBufferPointer(bytes))
                return DimensionTable.hash(UnsafeRawBufferPointer(bytes))
            }
            used += count
            let refStart = usedRefs
            for slot in entry.segments {
                precondition(usedRefs < refs.count, "more segments than counted")
                refs[usedRefs] = Unmanaged.passUnretained(slot)  // a trivial type: no deinitialization needed
                usedRefs += 1
            }
            var i = Int(truncatingIfNeeded: hash) & mask
            while entries[i].nameStart >= 0 { i = (i + 1) & mask }
            entries[i] = Entry(hash: hash, nameStart: start, nameCount: count,
                               segments: UnsafeBufferPointer(rebasing: refs[refStart..<usedRefs]))
        }
        assert(used == nameByteCount && usedRefs == slotCount)
    }

    /// Frees the table's memory (not the segments).
    func deallocate() {
        entries.deallocate()
        names.deallocate()
        refs.deallocate()
    }

    /// The segments of `dimension`, newest first, or `nil` if it has none.
    @inline(__always)
    func segments(of dimension: String) -> UnsafeBufferPointer<Unmanaged<SegmentSlot>>? {
        if let found = dimension.utf8.withContiguousStorageIfAvailable({ find(UnsafeRawBufferPointer($0)) }) {
            return found
        }
        return Array(dimension.utf8).withUnsafeBytes { find($0) }
    }

    private func find(_ name: UnsafeRawBufferPointer) -> UnsafeBufferPointer<Unmanaged<SegmentSlot>>? {
        let hash = DimensionTable.hash(name)
        var i = Int(truncatingIfNeeded: hash) & mask
        // At most half the slots are used: an empty slot ends every probe.
        while true {
            let entry = entries[i]
            if entry.nameStart < 0 { return nil }
            if entry.hash == hash, entry.nameCount == name.count,
                compareKeys(UnsafeRawBufferPointer(rebasing: names[entry.nameStart..<(entry.nameStart + entry.nameCount)]), name) == 0 {
                return entry.segments
            }
            i = (i + 1) & mask
        }
    }

    /// FNV-1a: names are short, and this runs on every point read.
    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
