//! Room for one whole key on the stack, and the joining of a compact block's keys in it: where
//! a scan puts a key's prefix and suffix together (Formats/segment.md § Compact blocks) to hand
//! it to the caller in one buffer.
//!
//! Unsafe code: ``KeyJoiner/joinPut(_:)`` stores a word at the suffix's place in the scratch
//! buffer, checked to hold it, loaded from a put's suffix and value, which the block's head
//! says hold it; ``KeyJoiner/join(_:)`` copies exactly the suffix, checked to fit.

/// A stack buffer of ``Limits/keyByteCountMax`` bytes for the length of a call.
enum KeyScratch {
    /// Calls `body` with a buffer that holds any key; no heap allocation.
    @inline(__always)
    static func with<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeTemporaryAllocation(byteCount: Limits.keyByteCountMax, alignment: 8, body)
    }
}

/// Joins the keys of one block in a scratch buffer that holds the block's prefix: each record
/// then copies only its suffix, mostly one or two bytes, as one word.
///
/// Why: the scan hands every key to its caller in one buffer. Joining each key in general
/// (its parts' lengths, a copy of each, the bounds) cost 2.5 ns a record, a sixth of a scan
/// of 100-byte values. In a block whose keys have one length and whose puts' values are long
/// enough that a word from the suffix's start stays inside the record, a put's key is one load
/// and one store, into a buffer whose length is the block's.
struct KeyJoiner {
    private let scratch: UnsafeMutableRawBufferPointer
    private let prefixCount: Int
    /// Every put's key is `prefix` and a suffix of at most 8 bytes followed by at least `8 −
    /// suffix` bytes of value: one word from the suffix's start is inside the record.
    private let putsJoinAsWords: Bool
    /// The joined key of every record when the block's keys have one length.
    private let fixedKey: UnsafeRawBufferPointer

    /// Copies `prefix` to the start of `scratch`.
    /// - Parameter head: the block's head (its key and value lengths, when they are the same for all).
    /// - Precondition: `scratch` holds ``Limits/keyByteCountMax`` bytes, `prefix` at most that.
    init(prefix: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer, head: BlockHead) {
        precondition(prefix.count <= scratch.count, "a key prefix longer than the scratch buffer")
        if let source = prefix.baseAddress, !prefix.isEmpty {
            copyKeyBytes(source, to: scratch.baseAddress.unsafelyUnwrapped, prefix.count)
        }
        self.scratch = scratch
        self.prefixCount = prefix.count
        let suffix = head.keyLength - prefix.count
        self.putsJoinAsWords = head.isCompact && !prefix.isEmpty && head.keyLength > 0 && suffix <= 8
            && head.valueLength >= 8 - suffix && prefix.count + 8 <= scratch.count
        self.fixedKey = UnsafeRawBufferPointer(start: scratch.baseAddress, count: putsJoinAsWords ? head.keyLength : 0)
    }

    /// A put's `key` in one buffer (see ``join(_:)``).
    /// - Precondition: `key` is the key of a put of the joiner's block, as the block's decoder
    ///   returned it (so its suffix and value lie in the block, one after the other).
    @inline(__always)
    func joinPut(_ key: SegmentKey) -> UnsafeRawBufferPointer {
        guard putsJoinAsWords else { return join(key) }
        assert(key.prefix.count == prefixCount && key.count == fixedKey.count, "a key of another block")
        // Safe: the word starts at the suffix, which with the value after it is at least 8
        // bytes of the record (the block's value length is at least `8 − suffix`); it is stored
        // after the prefix, where the scratch buffer holds 8 bytes.
        (scratch.baseAddress.unsafelyUnwrapped + prefixCount)
            .storeBytes(of: key.suffix.baseAddress.unsafelyUnwrapped.loadUnaligned(as: UInt64.self), as: UInt64.self)
        return fixedKey
    }

    /// `key` in one buffer: itself if whole, else the prefix and its suffix in the scratch
    /// buffer (valid until the next join).
    /// - Precondition: `key`'s prefix is the one the joiner was made with.
    @inline(__always)
    func join(_ key: SegmentKey) -> UnsafeRawBufferPointer {
        if key.prefix.isEmpty { return key.suffix }
        assert(key.prefix.count == prefixCount, "a key of another block")
        let n = key.suffix.count, total = prefixCount &+ n
        precondition(total <= scratch.count, "a key longer than the scratch buffer")
        let destination = scratch.baseAddress.unsafelyUnwrapped
        // Safe: exactly the suffix's bytes, to its place in the scratch buffer, checked above.
        if let source = key.suffix.baseAddress, n > 0 { copyKeyBytes(source, to: destination + prefixCount, n) }
        return UnsafeRawBufferPointer(start: destination, count: total)
    }
}
