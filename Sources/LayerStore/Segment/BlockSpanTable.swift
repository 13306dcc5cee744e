//! What a point read needs of a plain segment's blocks, in memory: every block's file offset
//! and stored length (one packed word each, from the block table), and in version 3 the
//! decoded head of each block read so far (Formats/segment.md § Compact blocks), side by side:
//! one 32-byte entry a block, never across two cache lines.
//!
//! Why: a point read of a plain segment looked up its block's 32-byte entry in the mapped
//! block table: for the layer profile 570 KB of entries over the store, too many for the
//! core's L2, so one more cache miss per read on top of the hash slot and the record. A
//! compact block's head (its prefix in the key heap, its base LSN and lengths at the block's
//! start) was three more lines a random read mostly misses, a layer-profile point read 40% of
//! its rate against version 1; kept beside the span, it costs nothing more than the span did.
//! (A copy of the prefix in a 64-byte entry, to spare the key heap's line, made the table
//! twice the size and layer point reads slower: 1.23–1.84 M/s against 1.52–2.34, interleaved.)
//!
//! Safety: four words a block, calloc'd and aligned to 32 bytes. The spans are stored before
//! the table is published (a release store of the pointer, swapped in once) and never after;
//! readers load the pointer with acquire and check the index against the count before they
//! touch a word. A block's head is stored once, by the thread that claims it (a compare-and-
//! exchange of the base word from 0): the prefix's address and the packed lengths with relaxed
//! stores, then the base word, whose top bit marks the head known, with a release store; a
//! reader loads the base word with acquire first. The prefix's address lies in the segment's
//! mapping, which lives as long as the segment and so as this table. The table is freed with
//! its owner.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Packed block spans and decoded heads of one segment, published once the spans were built
/// and checked; heads are added as blocks are read.
final class BlockSpanTable: @unchecked Sendable {
    // Safe to share: see the file's comment.
    private let published = Atomic<UnsafeMutablePointer<Atomic<UInt64>>?>(nil)
    /// What `calloc` returned for the published words (they start at the next 32-byte entry
    /// boundary in it).
    private let allocation = Atomic<UnsafeMutableRawPointer?>(nil)
    /// The number of blocks.
    let count: Int

    /// Words per block: the span, then the head's base, prefix address and lengths.
    private static let stride = 4
    /// The bytes of an entry and its alignment.
    private static let entryByteCount = stride * MemoryLayout<UInt64>.stride
    /// The base word's mark of a head being stored by the thread that claimed it.
    private static let claimed: UInt64 = 1 << 62
    /// Bits of a word that hold the stored length (a block holds at most 1 MiB).
    private static let lengthBits: UInt64 = 21
    /// The largest offset a word can hold.
    static let offsetMax = Int(1 << (64 - lengthBits)) - 1
    /// The base word's mark of a known head.
    private static let known: UInt64 = 1 << 63

    init(count: Int) {
        precondition(count >= 0, "a negative block count")
        self.count = count
    }

    deinit {
        if let raw = allocation.load(ordering: .acquiring) { free(raw) }  // plain integers inside
    }

    /// The words of block `i`, if the table is built and `i` in range.
    @inline(__always)
    private func entry(_ i: Int) -> UnsafeMutablePointer<Atomic<UInt64>>? {
        guard i >= 0, i < count, let words = published.load(ordering: .acquiring) else { return nil }
        return words + Self.stride &* i
    }

    /// Where block `i`'s entry lies in memory (for tests of its alignment).
    func entryAddress(_ i: Int) -> UInt? { entry(i).map { UInt(bitPattern: $0) } }

    /// The span of block `i`, or `nil` if the table is not built (or `i` is out of range).
    @inline(__always)
    func span(_ i: Int) -> (offset: Int, length: Int)? {
        guard let entry = entry(i) else { return nil }
        let word = entry.pointee.load(ordering: .relaxed)
        return (Int(word >> Self.lengthBits), Int(word & ((1 << Self.lengthBits) - 1)))
    }

    /// Whether the table is built.
    var isBuilt: Bool { published.load(ordering: .acquiring) != nil }

    /// Builds the table from `spans(i)` for every block and publishes it, unless a span does not
    /// fit (`nil`, an offset past ``offsetMax`` or a length of 2^21 or more: the block table is
    /// used instead) or another thread published first.
    func build(_ spans: (Int) -> (offset: Int, length: Int)?) {
        guard !isBuilt, count > 0 else { return }
        // All zeros from calloc: every head unknown until a read stores it.
        // One spare entry's bytes, to start the words on an entry boundary.
        guard let raw = calloc(count + 1, Self.entryByteCount) else {
            fatalError("out of memory allocating the spans of \(count) blocks")
        }
        let skip = (Self.entryByteCount - Int(UInt(bitPattern: raw) % UInt(Self.entryByteCount))) % Self.entryByteCount
        let words = (raw + skip).bindMemory(to: Atomic<UInt64>.self, capacity: Self.stride * count)
        for i in 0..<count {
            guard let (offset, length) = spans(i), offset >= 0, offset <= Self.offsetMax,
                length >= 0, length < 1 << Self.lengthBits
            else {
                free(raw)
                return
            }
            (words + Self.stride * i).pointee.store(UInt64(offset) << Self.lengthBits | UInt64(length), ordering: .relaxed)
        }
        guard allocation.compareExchange(expected: nil, desired: raw, ordering: .acquiringAndReleasing).exchanged else {
            free(raw)  // another thread built it
            return
        }
        published.store(words, ordering: .releasing)
    }

    /// Block `i`'s head, if it was stored.
    /// - Parameter minLSN: the segment's; the table holds the base's offset above it.
    @inline(__always)
    func head(_ i: Int, minLSN: LSN) -> BlockHead? {
        guard let entry = entry(i) else { return nil }
        let base = (entry + 1).pointee.load(ordering: .acquiring)
        guard base & Self.known != 0 else { return nil }  // unknown, or being stored
        let address = (entry + 2).pointee.load(ordering: .relaxed)
        let packed = (entry + 3).pointee.load(ordering: .relaxed)
        // Safe: the address and length of a prefix in the segment's mapping, stored by
        // `storeHead` from a head decoded and checked there.
        let prefix = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(address)),
                                            count: Int(truncatingIfNeeded: packed >> 48))
        return BlockHead(prefix: prefix, baseLSN: minLSN &+ (base & ~Self.known),
                         keyLength: Int(truncatingIfNeeded: (packed >> 32) & 0x1FFF),
                         valueLength: Int(truncatingIfNeeded: packed & 0x1FF_FFFF) &- 1,
                         recordsStart: Int(truncatingIfNeeded: (packed >> 28) & 0xF), isCompact: true)
    }

    /// Stores block `i`'s decoded head, unless the table is not built, another thread stores
    /// it, or a field does not fit its bits (the head is then decoded again at each read).
    func storeHead(_ i: Int, _ head: BlockHead, minLSN: LSN) {
        guard let entry = entry(i), head.isCompact, head.baseLSN >= minLSN, head.baseLSN - minLSN < Self.claimed,
            head.prefix.count < 1 << 13, head.keyLength < 1 << 13, head.valueLength >= -1, head.valueLength + 1 < 1 << 25,
            head.recordsStart < 1 << 4
        else { return }
        guard (entry + 1).pointee.compareExchange(expected: 0, desired: Self.claimed, ordering: .relaxed).exchanged else { return }
        let packed = UInt64(head.prefix.count) << 48 | UInt64(head.keyLength) << 32 | UInt64(head.recordsStart) << 28
            | UInt64(head.valueLength + 1)
        (entry + 2).pointee.store(UInt64(UInt(bitPattern: head.prefix.baseAddress)), ordering: .relaxed)
        (entry + 3).pointee.store(packed, ordering: .relaxed)
        (entry + 1).pointee.store((head.baseLSN - minLSN) | Self.known, ordering: .releasing)
    }
}
