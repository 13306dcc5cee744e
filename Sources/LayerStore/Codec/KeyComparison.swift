//! Key comparisons: the byte-wise order of keys, their equality and prefixes, inline. Keys are
//! short, and the scan, the memtable, the merge and the WAL replay compare them once or more per
//! record: a call to `memcmp` cost more than the compare itself.
//!
//! Unsafe code: unaligned loads, each inside both keys (`i + 8 <= n`, or `n - 8 >= 0`, where
//! `n` is at most either key's count).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-wise lexicographic order of two keys (shorter first on a common prefix): the order of
/// keys in segments, scans and the memtable. Negative, zero or positive.
///
/// Eight bytes at a time, inline: keys are short, and a call to `memcmp` cost more than the
/// compare itself (a WAL replay checks each new key against the one before: `memcmp` was 6%
/// of its time). Big-endian words order as their bytes do. Keys over 64 bytes go to `memcmp`,
/// which is faster there.
@inline(__always)
package func compareKeys(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return a.count - b.count }
    if n > 64 {
        // Safe: both pointers are valid for `n` bytes; `memcmp` reads exactly that many.
        let c = memcmp(pa, pb, n)
        return c != 0 ? Int(c) : a.count - b.count
    }
    if n >= 8 {
        // Safe, every load: eight bytes at `i` with `i + 8 <= n`, or at `n - 8 >= 0`; `n` is at
        // most either key's count.
        var i = 0
        while i &+ 8 <= n {
            let x = UInt64(bigEndian: pa.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let y = UInt64(bigEndian: pb.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if x != y { return x < y ? -1 : 1 }
            i &+= 8
        }
        if i < n {
            // The last eight bytes, overlapping words already equal: the first byte that
            // differs lies past them, so the words order as those bytes do.
            let x = UInt64(bigEndian: pa.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self))
            let y = UInt64(bigEndian: pb.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self))
            if x != y { return x < y ? -1 : 1 }
        }
    } else {
        // Safe: single bytes below `n`.
        var i = 0
        while i < n {
            let x = pa.load(fromByteOffset: i, as: UInt8.self), y = pb.load(fromByteOffset: i, as: UInt8.self)
            if x != y { return x < y ? -1 : 1 }
            i &+= 1
        }
    }
    return a.count - b.count
}

/// Whether two keys are the same bytes; eight bytes at a time, the last eight first (keys
/// that follow each other in a scan mostly differ at the end).
@inline(__always)
package func keysEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
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

/// Whether `key` starts with `prefix`.
@inline(__always)
package func keyHasPrefix(_ key: UnsafeRawBufferPointer, _ prefix: UnsafeRawBufferPointer) -> Bool {
    key.count >= prefix.count && keysEqual(UnsafeRawBufferPointer(rebasing: key[0..<prefix.count]), prefix)
}
