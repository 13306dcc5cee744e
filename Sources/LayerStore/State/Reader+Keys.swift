//! Key comparisons for the scan path, inline: a scan compares keys once or twice per record,
//! and keys are short, so a call to `memcmp` costs more than the compare itself.
//!
//! Unsafe code: unaligned loads, each inside both keys (`i + 8 <= n`, or `n - 8 >= 0`, where
//! `n` is at most either key's count).

extension Reader {
    /// Whether two keys are the same bytes; eight bytes at a time, the last eight first (keys
    /// that follow each other in a scan mostly differ at the end).
    @inline(__always)
    static func keysEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = a.count
        guard n == b.count else { return false }
        guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return n == 0 && b.count == 0 }
        // Safe: `n - 8 >= 0`, so the loads lie inside both keys.
        if n >= 8, pa.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) != pb.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) {
            return false
        }
        var i = 0
        // Safe: see the file's comment.
        while i &+ 8 <= n {
            if pa.loadUnaligned(fromByteOffset: i, as: UInt64.self) != pb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i &+= 8
        }
        while i < n {
            if pa.load(fromByteOffset: i, as: UInt8.self) != pb.load(fromByteOffset: i, as: UInt8.self) { return false }
            i &+= 1
        }
        return true
    }

    /// The byte-wise order of two keys: ``compareKeys(_:_:)``.
    @inline(__always)
    static func orderKeys(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int { compareKeys(a, b) }

    /// Whether `key` starts with `prefix`.
    @inline(__always)
    static func hasPrefix(_ key: UnsafeRawBufferPointer, _ prefix: UnsafeRawBufferPointer) -> Bool {
        key.count >= prefix.count && keysEqual(UnsafeRawBufferPointer(rebasing: key[0..<prefix.count]), prefix)
    }
}
