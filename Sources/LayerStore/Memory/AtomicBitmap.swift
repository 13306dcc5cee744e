//! A fixed-size set of flags that any thread may set and test without a lock: which blocks of a
//! segment have had their checksum verified.
//!
//! Unsafe code: one calloc'd run of atomic words. A segment of 4 KiB values has tens of
//! thousands of blocks; a word object per 64 of them made opening (and closing) a large store
//! spend its time in malloc and free, hundreds of objects per segment.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lock-free bits, one per block; setting a bit is idempotent, so racing verifiers are harmless.
final class AtomicBitmap: @unchecked Sendable {
    // Safe to share: the words are atomics; the allocation never moves and is freed in deinit.
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    /// The number of flags.
    let count: Int

    init(count: Int) {
        precondition(count >= 0, "a bitmap of a negative size")
        self.count = count
        // All zeros from calloc is a valid run of atomics holding 0: no word-by-word set-up.
        guard let raw = calloc(max(1, (count + 63) / 64), MemoryLayout<Atomic<UInt64>>.stride) else {
            fatalError("out of memory allocating a bitmap of \(count) flags")
        }
        words = raw.bindMemory(to: Atomic<UInt64>.self, capacity: max(1, (count + 63) / 64))
    }

    deinit {
        // The atomics hold plain integers: nothing to deinitialise.
        free(words)
    }

    @inline(__always)
    func contains(_ i: Int) -> Bool {
        precondition(i >= 0 && i < count, "bitmap index out of range")
        return (words + (i >> 6)).pointee.load(ordering: .acquiring) & (1 << UInt64(i & 63)) != 0
    }

    @inline(__always)
    func insert(_ i: Int) {
        precondition(i >= 0 && i < count, "bitmap index out of range")
        (words + (i >> 6)).pointee.bitwiseOr(1 << UInt64(i & 63), ordering: .releasing)
    }
}
