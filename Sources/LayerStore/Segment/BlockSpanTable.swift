//! Every block's file offset and stored length, one packed word each: what a point read needs
//! of the block table, in an eighth of its size.
//!
//! Why: a point read of a plain segment looked up its block's 32-byte entry in the mapped
//! block table: for the layer profile 570 KB of entries over the store, too many for the
//! core's L2, so one more cache miss per read on top of the hash slot and the record. The
//! packed spans of the same store take 140 KB.
//!
//! Safety: the words are allocated, filled and only then published (a release store of the
//! pointer, swapped in once); readers load the pointer with acquire and check the index
//! against the count before they touch a word. The table is freed with its owner.

import Synchronization

/// Packed block spans of one segment, published once after they were built and checked.
final class BlockSpanTable: @unchecked Sendable {
    // Safe to share: the words are written only before `published` makes them visible, and
    // never after; `published` is atomic.
    private let published = Atomic<UnsafeMutablePointer<UInt64>?>(nil)
    /// The number of blocks.
    let count: Int

    /// Bits of a word that hold the stored length (a block holds at most 1 MiB).
    private static let lengthBits: UInt64 = 21
    /// The largest offset a word can hold.
    static let offsetMax = Int(1 << (64 - lengthBits)) - 1

    init(count: Int) {
        precondition(count >= 0, "a negative block count")
        self.count = count
    }

    deinit {
        published.load(ordering: .acquiring)?.deallocate()
    }

    /// The span of block `i`, or `nil` if the table is not built (or `i` is out of range).
    @inline(__always)
    func span(_ i: Int) -> (offset: Int, length: Int)? {
        guard i >= 0, i < count, let words = published.load(ordering: .acquiring) else { return nil }
        let word = words[i]
        return (Int(word >> Self.lengthBits), Int(word & ((1 << Self.lengthBits) - 1)))
    }

    /// Whether the table is built.
    var isBuilt: Bool { published.load(ordering: .acquiring) != nil }

    /// Builds the table from `spans(i)` for every block and publishes it, unless a span does not
    /// fit (`nil`, an offset past ``offsetMax`` or a length of 2^21 or more: the block table is
    /// used instead) or another thread published first.
    func build(_ spans: (Int) -> (offset: Int, length: Int)?) {
        guard !isBuilt, count > 0 else { return }
        let words = UnsafeMutablePointer<UInt64>.allocate(capacity: count)
        for i in 0..<count {
            guard let (offset, length) = spans(i), offset >= 0, offset <= Self.offsetMax,
                length >= 0, length < 1 << Self.lengthBits
            else {
                words.deallocate()
                return
            }
            (words + i).initialize(to: UInt64(offset) << Self.lengthBits | UInt64(length))
        }
        if !published.compareExchange(expected: nil, desired: words, ordering: .acquiringAndReleasing).exchanged {
            words.deallocate()
        }
    }
}
