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

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed-size Bloom filter with two probes per key, built from a key's 64-bit hash.
final class KeyFilter: @unchecked Sendable {
    // Safe to share: the words are atomics; the allocation never moves and is freed in deinit.
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let wordCount: Int
    private let mask: UInt64

    /// A filter of `2^bitCountLog2` bits (at least 64).
    init(bitCountLog2: Int) {
        precondition(bitCountLog2 >= 6 && bitCountLog2 <= 40, "filter size out of range")
        wordCount = 1 << (bitCountLog2 - 6)
        mask = (1 << UInt64(bitCountLog2)) - 1
        // Zeroed memory from calloc: untouched pages cost nothing until a bit lands in them
        // (a filter of 2 MiB made word by word took a large share of a store's open). An
        // all-zero `Atomic<UInt64>` is a valid atomic holding 0.
        guard let raw = calloc(wordCount, MemoryLayout<Atomic<UInt64>>.stride) else {
            fatalError("out of memory allocating a \(wordCount * 8)-byte key filter")
        }
        words = raw.bindMemory(to: Atomic<UInt64>.self, capacity: wordCount)
    }

    deinit {
        // The atomics hold plain integers: nothing to deinitialise.
        free(words)
    }

    /// Records a key by its hash.
    @inline(__always)
    func insert(hash: UInt64) {
        set(hash & mask)
        set((hash >> 32 | hash << 32) & mask)
    }

    /// `false` if no key with this hash was ever inserted; `true` if one may have been.
    @inline(__always)
    func mayContain(hash: UInt64) -> Bool {
        test(hash & mask) && test((hash >> 32 | hash << 32) & mask)
    }

    @inline(__always)
    private func set(_ bit: UInt64) {
        let i = Int(bit >> 6)
        assert(i < wordCount)
        let flag: UInt64 = 1 << (bit & 63)
        // Most bits of a busy filter are set already: a load keeps the line shared with readers.
        if (words + i).pointee.load(ordering: .relaxed) & flag == 0 {
            (words + i).pointee.bitwiseOr(flag, ordering: .relaxed)
        }
    }

    /// The size for a memtable of about `byteCount` bytes: some 8 bits per entry it may hold.
    static func bitCountLog2(forMemtableByteCount byteCount: Int) -> Int {
        let entries = max(1, byteCount / Memtable.entryOverheadByteCount)
        var log2 = 10
        while log2 < 28 && (1 << log2) < entries * 8 { log2 += 1 }
        return log2
    }

    @inline(__always)
    private func test(_ bit: UInt64) -> Bool {
        let i = Int(bit >> 6)
        assert(i < wordCount)
        return (words + i).pointee.load(ordering: .relaxed) & (1 << (bit & 63)) != 0
    }
}
