//! A lock-free Bloom filter over the keys of one memtable: a point read asks it before taking
//! the memtable's lock.
//!
//! Why: while a writer loads, every point read passes the memtables first, and the writer holds
//! a memtable's lock for the whole of a batch it applies. Reads of keys the memtable does not
//! hold (the common case: data already flushed) would queue behind it. With the filter they
//! skip the memtable without touching its lock.
//!
//! Ordering: the writer sets a key's bits before it inserts the key, and both happen before
//! the commit's LSN becomes visible (a releasing store). A reader loads the visible LSN
//! (acquiring) before it asks the filter, so it sees the bits of every write it may see.
//!
//! Blocked: both of a key's bits sit in one 64-bit word, so an insert or a test touches one
//! cache line, not two. A filter sized for a large memtable spans tens of MiB, and in a WAL
//! replay of millions of small records the second cache miss per record was most of the
//! filter's cost. Inserts load and store the word instead of a locked `or`: only the writer
//! that holds the memtable's lock inserts, and a locked read-modify-write is a full fence on
//! x86 that kept the next records' loads from overlapping the miss.

import CPrefetch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed-size blocked Bloom filter: two bits per key in one 64-bit word, both taken from the
/// key's 64-bit hash (the word from its high half, the bits from its low 12 bits).
final class KeyFilter: @unchecked Sendable {
    // Safe to share: the words are atomics; the allocation never moves and is freed in deinit.
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let wordCount: Int
    /// The filter's size in bytes.
    var byteCount: Int { wordCount * MemoryLayout<UInt64>.stride }
    private let wordMask: UInt64

    /// A filter of `2^bitCountLog2` bits (at least 64).
    init(bitCountLog2: Int) {
        precondition(bitCountLog2 >= 6 && bitCountLog2 <= 40, "filter size out of range")
        wordCount = 1 << (bitCountLog2 - 6)
        wordMask = UInt64(wordCount) - 1
        // Zeroed memory from the kernel, not made word by word (a filter of 2 MiB made so took
        // a large share of a store's open), and a filter of 2 MiB or more sits on huge pages.
        // With 4 KiB pages, each insert into a filter of 8 MiB (a 1 GiB memtable) missed the
        // TLB, and a replay spent two thirds of its inserting time on the filter's words.
        // Populated at once: inserts land all over it, and each reads its word before writing
        // it, which on an untouched page is a fault for the zero page and a second, copy-on-
        // write fault with a TLB shootdown (70% of a small load's memtable time outside the
        // hash table). A read-only open of an empty WAL gets the smallest filter, which does not
        // come from a mapping. An all-zero `Atomic<UInt64>` is a valid atomic holding 0.
        let raw = ZeroedPages.allocate(byteCount: wordCount * MemoryLayout<Atomic<UInt64>>.stride, populate: true)
        words = raw.baseAddress!.bindMemory(to: Atomic<UInt64>.self, capacity: wordCount)
    }

    deinit {
        // The atomics hold plain integers: nothing to deinitialise.
        ZeroedPages.deallocate(UnsafeMutableRawBufferPointer(start: words, count: wordCount * MemoryLayout<Atomic<UInt64>>.stride))
    }

    /// Records a key by its hash. Callers are serialised (the memtable's lock): the word is
    /// read and written back, not updated atomically.
    @inline(__always)
    func insert(hash: UInt64) {
        let word = words + index(hash)
        let flags = Self.flags(hash)
        let old = word.pointee.load(ordering: .relaxed)
        // Most bits of a busy filter are set already: skipping the store keeps the line shared
        // with readers.
        if old & flags != flags {
            word.pointee.store(old | flags, ordering: .relaxed)
        }
    }

    /// Records a key by its hash while other threads may insert too (a parallel replay): the
    /// word is updated atomically, and only when a bit is missing.
    @inline(__always)
    func insertShared(hash: UInt64) {
        let word = words + index(hash)
        let flags = Self.flags(hash)
        if word.pointee.load(ordering: .relaxed) & flags != flags {
            word.pointee.bitwiseOr(flags, ordering: .relaxed)
        }
    }

    /// `false` if no key with this hash was ever inserted; `true` if one may have been.
    @inline(__always)
    func mayContain(hash: UInt64) -> Bool {
        let flags = Self.flags(hash)
        return (words + index(hash)).pointee.load(ordering: .relaxed) & flags == flags
    }

    /// Asks the core to bring the word `hash` lands on into the cache (a hint: no effect on
    /// what the filter holds).
    @inline(__always)
    func prefetch(hash: UInt64) {
        layerstore_prefetch(UnsafeRawPointer(words + index(hash)))
    }

    @inline(__always)
    private func index(_ hash: UInt64) -> Int {
        let i = Int(truncatingIfNeeded: (hash >> 32) & wordMask)
        assert(i < wordCount)
        return i
    }

    /// The key's two bits in its word (they may coincide).
    @inline(__always)
    private static func flags(_ hash: UInt64) -> UInt64 {
        (1 as UInt64) << (hash & 63) | (1 as UInt64) << ((hash >> 6) & 63)
    }

    /// The size for a memtable of about `byteCount` bytes: 8 bits for every 128 bytes, a
    /// typical entry with its overhead, between 2^10 and 2^26 bits.
    ///
    /// Sized for typical entries, not for the most a memtable could hold: a memtable of tiny
    /// entries fills its filter and answers "maybe" more often (a read then takes the lock, a
    /// cost while the writer applies a batch, never a wrong answer), while a filter sized for
    /// the worst case spans 32 MiB for a 1 GiB memtable and misses the cache on every insert.
    static func bitCountLog2(forMemtableByteCount byteCount: Int) -> Int {
        let entries = max(1, byteCount / 128)
        var log2 = 10
        while log2 < 26 && (1 << log2) < entries * 8 { log2 += 1 }
        return log2
    }
}
