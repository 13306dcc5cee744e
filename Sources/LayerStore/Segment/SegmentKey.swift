//! A record's key as a segment holds it: the block's shared prefix, then the record's own bytes
//! (Formats/segment.md § Compact blocks). A version 1 or 2 record's key is all suffix.
//!
//! Why two parts: a compact block states its keys' common prefix once, in the key heap, and
//! each record only the rest. Both parts stay in the segment's mapping (or the decoded block),
//! as long as the whole key did, so a record's key lives exactly as long as before and no key
//! is copied to be compared. Keys are joined only where a caller needs one buffer (a scan's
//! `body`, a merge's copy), through ``copy(into:)`` or ``bytes``.
//!
//! Unsafe code: ``SegmentKey/joined(in:)`` and ``copyKeyBytes(_:to:_:)`` copy a key's bytes
//! into a buffer checked to hold them, with loads and stores inside both.

/// A key in two parts, `prefix + suffix`; either may be empty, not both (keys are never empty,
/// except the empty key a scan starts from).
struct SegmentKey {
    /// The block's shared prefix (empty for versions 1 and 2).
    var prefix: UnsafeRawBufferPointer
    /// The record's own bytes.
    var suffix: UnsafeRawBufferPointer

    /// A whole key in one part.
    @inline(__always)
    init(_ whole: UnsafeRawBufferPointer) {
        prefix = UnsafeRawBufferPointer(start: nil, count: 0)
        suffix = whole
    }

    @inline(__always)
    init(prefix: UnsafeRawBufferPointer, suffix: UnsafeRawBufferPointer) {
        self.prefix = prefix
        self.suffix = suffix
    }

    /// No key: the initial value of a "previous key" (keys are never empty, so it equals none).
    static var none: SegmentKey { SegmentKey(UnsafeRawBufferPointer(start: nil, count: 0)) }

    /// The key's length in bytes.
    @inline(__always)
    var count: Int { prefix.count &+ suffix.count }

    /// Whether the key is in one part already (every version 1 and 2 key).
    @inline(__always)
    var isWhole: Bool { prefix.isEmpty }

    /// The key's bytes as an array.
    var array: [UInt8] {
        if prefix.isEmpty { return [UInt8](suffix) }
        var out = [UInt8](prefix)
        out.append(contentsOf: suffix)
        return out
    }

    /// The key in one buffer: itself if whole, else joined in `scratch` (a merge's keys come
    /// from several blocks; a single segment's scan joins them with a ``KeyJoiner``).
    /// - Precondition: `scratch` holds at least ``count`` bytes.
    @inline(__always)
    func joined(in scratch: UnsafeMutableRawBufferPointer) -> UnsafeRawBufferPointer {
        if prefix.isEmpty { return suffix }
        let n = count
        precondition(scratch.count >= n, "a key scratch buffer smaller than a key")
        // Safe: both copies end at `n <= scratch.count`, and read inside their parts.
        let destination = scratch.baseAddress.unsafelyUnwrapped
        copyKeyBytes(prefix.baseAddress.unsafelyUnwrapped, to: destination, prefix.count)
        if !suffix.isEmpty { copyKeyBytes(suffix.baseAddress.unsafelyUnwrapped, to: destination + prefix.count, suffix.count) }
        return UnsafeRawBufferPointer(start: destination, count: n)
    }

    /// Whether `other`'s prefix is this key's prefix, the same bytes at the same address (two
    /// records of one block): the keys then compare as their suffixes do.
    @inline(__always)
    func sharesPrefix(with other: SegmentKey) -> Bool {
        prefix.baseAddress == other.prefix.baseAddress && prefix.count == other.prefix.count
    }
}

/// Copies `n` bytes, inline when they are few (a compact block's suffixes mostly are): a call
/// to `memmove` per record was a tenth of a scan's walk.
/// - Precondition: `source` is readable and `destination` writable for `n` bytes.
@inline(__always)
func copyKeyBytes(_ source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, _ n: Int) {
    // Safe, every access: two overlapping words, both inside the `n` bytes at each end.
    if n >= 8 && n <= 16 {
        let (a, b) = (source.loadUnaligned(as: UInt64.self), source.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self))
        destination.storeBytes(of: a, as: UInt64.self)
        destination.storeBytes(of: b, toByteOffset: n &- 8, as: UInt64.self)
    } else if n >= 4 && n < 8 {
        let (a, b) = (source.loadUnaligned(as: UInt32.self), source.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self))
        destination.storeBytes(of: a, as: UInt32.self)
        destination.storeBytes(of: b, toByteOffset: n &- 4, as: UInt32.self)
    } else if n >= 2 && n < 4 {
        let (a, b) = (source.loadUnaligned(as: UInt16.self), source.loadUnaligned(fromByteOffset: n &- 2, as: UInt16.self))
        destination.storeBytes(of: a, as: UInt16.self)
        destination.storeBytes(of: b, toByteOffset: n &- 2, as: UInt16.self)
    } else if n == 1 {
        destination.storeBytes(of: source.load(as: UInt8.self), as: UInt8.self)
    } else if n > 16 {
        destination.copyMemory(from: source, byteCount: n)
    }
}

/// Byte-wise order of two keys in parts (see ``compareKeys(_:_:)-(URBP,URBP)``).
@inline(__always)
func compareKeys(_ a: SegmentKey, _ b: SegmentKey) -> Int {
    if a.sharesPrefix(with: b) { return compareKeys(a.suffix, b.suffix) }
    return compareParts(a, b)
}

/// Byte-wise order of a key in parts and a whole key.
@inline(__always)
func compareKeys(_ a: SegmentKey, _ b: UnsafeRawBufferPointer) -> Int {
    if a.isWhole { return compareKeys(a.suffix, b) }
    return compareParts(a, SegmentKey(b))
}

/// Whether two keys in parts are the same bytes.
@inline(__always)
func keysEqual(_ a: SegmentKey, _ b: SegmentKey) -> Bool {
    guard a.count == b.count else { return false }
    if a.sharesPrefix(with: b) { return keysEqual(a.suffix, b.suffix) }
    return compareParts(a, b) == 0
}

/// Whether a key in parts is the bytes of `b`: each part against its place in `b`, the suffix
/// first (keys of one block differ there).
@inline(__always)
func keysEqual(_ a: SegmentKey, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    if a.isWhole { return keysEqual(a.suffix, b) }
    let p = a.prefix.count
    return keysEqual(a.suffix, UnsafeRawBufferPointer(rebasing: b[p...])) && keysEqual(a.prefix, UnsafeRawBufferPointer(rebasing: b[..<p]))
}

/// Whether a key in parts starts with `prefix`.
@inline(__always)
func keyHasPrefix(_ key: SegmentKey, _ prefix: UnsafeRawBufferPointer) -> Bool {
    if key.isWhole { return keyHasPrefix(key.suffix, prefix) }
    guard key.count >= prefix.count else { return false }
    let head = min(key.prefix.count, prefix.count)
    guard keysEqual(UnsafeRawBufferPointer(rebasing: key.prefix[0..<head]), UnsafeRawBufferPointer(rebasing: prefix[0..<head])) else {
        return false
    }
    let rest = prefix.count - head
    return rest == 0 || keysEqual(UnsafeRawBufferPointer(rebasing: key.suffix[0..<rest]), UnsafeRawBufferPointer(rebasing: prefix[head...]))
}

/// The general comparison of two keys in parts: the longest runs that lie in one part of each
/// key, compared in turn (at most three runs).
@inline(never)
func compareParts(_ a: SegmentKey, _ b: SegmentKey) -> Int {
    let n = min(a.count, b.count)
    var i = 0
    while i < n {
        let ra = run(of: a, at: i), rb = run(of: b, at: i)
        let length = min(ra.count, rb.count, n - i)
        let order = compareKeys(UnsafeRawBufferPointer(rebasing: ra[0..<length]), UnsafeRawBufferPointer(rebasing: rb[0..<length]))
        if order != 0 { return order }
        i += length
    }
    return a.count - b.count
}

/// The bytes of `key` from position `i` to the end of the part holding it.
@inline(__always)
private func run(of key: SegmentKey, at i: Int) -> UnsafeRawBufferPointer {
    if i < key.prefix.count { return UnsafeRawBufferPointer(rebasing: key.prefix[i...]) }
    return UnsafeRawBufferPointer(rebasing: key.suffix[(i - key.prefix.count)...])
}
