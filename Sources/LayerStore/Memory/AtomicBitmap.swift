//! A fixed-size set of flags that any thread may set and test without a lock: which blocks of a
//! segment have had their checksum verified.

import Synchronization

/// Lock-free bits, one per block; setting a bit is idempotent, so racing verifiers are harmless.
final class AtomicBitmap: Sendable {
    private final class Word: Sendable {
        let bits = Atomic<UInt64>(0)
    }

    private let words: [Word]

    init(count: Int) {
        words = (0..<((count + 63) / 64)).map { _ in Word() }
    }

    @inline(__always)
    func contains(_ i: Int) -> Bool {
        words[i >> 6].bits.load(ordering: .acquiring) & (1 << UInt64(i & 63)) != 0
    }

    @inline(__always)
    func insert(_ i: Int) {
        words[i >> 6].bits.bitwiseOr(1 << UInt64(i & 63), ordering: .releasing)
    }
}
