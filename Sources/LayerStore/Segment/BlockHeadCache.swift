//! The decoded heads of a compact segment's blocks (Formats/segment.md § Compact blocks), kept
//! in memory once a block has been read: a point read then takes its block's prefix, base LSN
//! and lengths from here, not from the block's first bytes, the block table entry and the key
//! heap.
//!
//! Why: those three are cache lines a random point read otherwise misses, one of them (the
//! block's start) usually in memory. Reading them cost a layer-profile point read 40% of its
//! rate against version 1, whose records decode alone. Three words a block, touched only for
//! blocks that were read.
//!
//! Safety: one calloc'd run of atomic words, three per block. A block's entry is written by
//! whoever decodes its head first (racing writers store the same values): the prefix's address
//! and the packed fields with relaxed stores, then the base word, whose top bit marks the entry
//! known, with a release store; a reader loads the base word with acquire first. The prefix's
//! address lies in the segment's mapping, which lives as long as the segment and so as this
//! table.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decoded block heads of one segment, filled as blocks are read.
final class BlockHeadCache: @unchecked Sendable {
    // Safe to share: see the file's comment.
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    /// The number of blocks.
    let count: Int

    private static let known: UInt64 = 1 << 63

    init(count: Int) {
        precondition(count >= 0, "a negative block count")
        self.count = count
        // All zeros from calloc: every entry unknown; pages are touched only for blocks read.
        guard let raw = calloc(max(1, 3 * count), MemoryLayout<Atomic<UInt64>>.stride) else {
            fatalError("out of memory allocating the heads of \(count) blocks")
        }
        words = raw.bindMemory(to: Atomic<UInt64>.self, capacity: max(1, 3 * count))
    }

    deinit {
        free(words)  // plain integers: nothing to deinitialise
    }

    /// Block `i`'s head, if it was stored.
    /// - Parameter minLSN: the segment's; the entry holds the base's offset above it.
    @inline(__always)
    func head(_ i: Int, minLSN: LSN) -> BlockHead? {
        guard i >= 0, i < count else { return nil }
        let entry = words + 3 &* i
        let base = entry.pointee.load(ordering: .acquiring)
        guard base & Self.known != 0 else { return nil }
        let address = (entry + 1).pointee.load(ordering: .relaxed)
        let packed = (entry + 2).pointee.load(ordering: .relaxed)
        let prefixLength = Int(truncatingIfNeeded: packed >> 48)
        // Safe: the address and length of a prefix in the segment's mapping, stored by
        // `store` from a head decoded and checked there.
        let prefix = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(address)), count: prefixLength)
        return BlockHead(prefix: prefix, baseLSN: minLSN &+ (base & ~Self.known),
                         keyLength: Int(truncatingIfNeeded: (packed >> 32) & 0x1FFF),
                         valueLength: Int(truncatingIfNeeded: packed & 0x1FF_FFFF) &- 1,
                         recordsStart: Int(truncatingIfNeeded: (packed >> 28) & 0xF), isCompact: true)
    }

    /// Stores block `i`'s decoded head, unless a field does not fit its bits (then the head
    /// is decoded again at each read).
    func store(_ i: Int, _ head: BlockHead, minLSN: LSN) {
        guard i >= 0, i < count, head.isCompact, head.baseLSN >= minLSN, head.baseLSN - minLSN < Self.known,
            head.prefix.count < 1 << 13, head.keyLength < 1 << 13, head.valueLength + 1 < 1 << 25, head.valueLength >= -1,
            head.recordsStart < 1 << 4
        else { return }
        let entry = words + 3 &* i
        let address = UInt64(UInt(bitPattern: head.prefix.baseAddress))
        let packed = UInt64(head.prefix.count) << 48 | UInt64(head.keyLength) << 32 | UInt64(head.recordsStart) << 28
            | UInt64(head.valueLength + 1)
        (entry + 1).pointee.store(address, ordering: .relaxed)
        (entry + 2).pointee.store(packed, ordering: .relaxed)
        entry.pointee.store((head.baseLSN - minLSN) | Self.known, ordering: .releasing)
    }
}
