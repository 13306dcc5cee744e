//! The segments of every dimension, newest first, kept sorted by dimension name: each in a
//! ``SegmentSlot``, made on first use.
//!
//! Why not `[String: [Segment]]`: the first use of a `Dictionary` keyed by `String` in a
//! process makes the Swift runtime instantiate its storage's metadata from a mangled name and
//! check `String: Hashable` by scanning the conformance records of every loaded image — about
//! 240,000 instructions (callgrind), a quarter of a read-only open's, paid by every new process
//! that opens a store to read one value. A sorted array of a plain struct needs none of that,
//! and a store has few dimensions, so a binary search over names costs no more than hashing one.

/// One dimension's segments.
struct DimensionSegments {
    let name: String
    /// Newest first.
    var segments: [SegmentSlot]
}

/// An ordered map from dimension name to that dimension's segments, newest first.
struct SegmentsByDimension {
    /// Sorted by name, names unique, no empty `segments`.
    private(set) var entries: [DimensionSegments] = []

    init() {}

    /// The number of dimensions with segments.
    var count: Int { entries.count }

    /// The dimension names, sorted.
    var names: [String] { entries.map(\.name) }

    /// The segments of `dimension`, newest first, each made on first use, or `nil` if it has
    /// none. Setting `nil` (or an empty array) removes the dimension.
    subscript(dimension: String) -> [SegmentSlot]? {
        get {
            let (i, found) = position(of: dimension)
            return found ? entries[i].segments : nil
        }
        set {
            let (i, found) = position(of: dimension)
            switch (found, newValue) {
            case (true, let list?) where !list.isEmpty: entries[i].segments = list
            case (true, _): entries.remove(at: i)
            case (false, let list?) where !list.isEmpty:
                // An open adds the manifest's dimensions, mostly in name order: appending skips
                // the generic insert (a cold open paid 1,300 instructions a dimension for it).
                if i == entries.count {
                    entries.append(DimensionSegments(name: dimension, segments: list))
                } else {
                    entries.insert(DimensionSegments(name: dimension, segments: list), at: i)
                }
            case (false, _): break
            }
            assert(isWellFormed)
        }
    }

    /// The segments of `dimension`, newest first, made now if they were not yet (`[]` if it has
    /// none).
    /// - Throws: the first segment that fails to open (`corrupted`, naming its file).
    func made(_ dimension: String) throws(StoreError) -> [Segment] {
        var made: [Segment] = []
        for slot in self[dimension] ?? [] { made.append(try slot.segment()) }
        return made
    }

    /// Adds `segment` as the newest of `dimension`'s segments.
    mutating func insertNewest(_ segment: SegmentSlot, in dimension: String) {
        let (i, found) = position(of: dimension)
        if found {
            entries[i].segments.insert(segment, at: 0)
        } else {
            entries.insert(DimensionSegments(name: dimension, segments: [segment]), at: i)
        }
        assert(isWellFormed)
    }

    /// Where `dimension` is, or where it would go.
    private func position(of dimension: String) -> (index: Int, found: Bool) {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let name = entries[mid].name
            if name == dimension { return (mid, true) }
            if name < dimension { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    private var isWellFormed: Bool {
        zip(entries, entries.dropFirst()).allSatisfy { $0.name < $1.name } && entries.allSatisfy { !$0.segments.isEmpty }
    }
}
