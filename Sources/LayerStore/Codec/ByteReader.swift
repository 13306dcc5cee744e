//! Bounds-checked little-endian decoding of bytes that came from disk.
//!
//! Every read checks that the bytes lie inside the buffer before it touches them and returns
//! `nil` otherwise, so a crafted or damaged file can make a decode fail but can never make it
//! read outside its mapping. Fields may be unaligned: loads are `loadUnaligned`.
//!
//! Unsafe code: this is one of the four files that dereference raw pointers.

/// A cursor over borrowed bytes; the owner of the bytes keeps them alive while it is used.
package struct ByteReader {
    /// The bytes being decoded.
    package let buffer: UnsafeRawBufferPointer
    /// The offset of the next byte to read.
    package var position: Int

    package init(_ buffer: UnsafeRawBufferPointer, position: Int = 0) {
        self.buffer = buffer
        self.position = position
    }

    /// Bytes left to read.
    @inline(__always)
    package var remaining: Int { buffer.count - position }

    @inline(__always)
    package mutating func u8() -> UInt8? {
        guard position < buffer.count else { return nil }
        defer { position += 1 }
        return buffer[position]
    }

    @inline(__always)
    package mutating func u16() -> UInt16? { fixed(UInt16.self) }
    @inline(__always)
    package mutating func u32() -> UInt32? { fixed(UInt32.self) }
    @inline(__always)
    package mutating func u64() -> UInt64? { fixed(UInt64.self) }

    /// An unsigned LEB128 varint of at most 10 bytes, or `nil` if it runs past the end or is
    /// longer than a `UInt64` allows.
    @inline(__always)
    package mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < buffer.count {
            let byte = buffer[position]
            position += 1
            if shift == 63 && byte > 1 { return nil }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    /// The next `count` bytes, or `nil` if fewer remain.
    @inline(__always)
    package mutating func bytes(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, count <= remaining else { return nil }
        // Safe: `position + count <= buffer.count` was just checked.
        let slice = UnsafeRawBufferPointer(rebasing: buffer[position..<position + count])
        position += count
        return slice
    }

    /// Skips `count` bytes; `false` if fewer remain.
    @inline(__always)
    package mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, count <= remaining else { return false }
        position += count
        return true
    }

    @inline(__always)
    private mutating func fixed<T: FixedWidthInteger>(_: T.Type) -> T? {
        guard MemoryLayout<T>.size <= remaining else { return nil }
        // Safe: the load's bytes lie inside the buffer (checked above); unaligned is allowed.
        let v = buffer.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    /// A little-endian `UInt64` at `offset`, or `nil` if it does not fit in `buffer`.
    @inline(__always)
    package static func u64(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> UInt64? {
        guard offset >= 0, offset + 8 <= buffer.count else { return nil }
        return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A little-endian `UInt32` at `offset`, or `nil` if it does not fit in `buffer`.
    @inline(__always)
    package static func u32(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= buffer.count else { return nil }
        return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

/// The offset of the first non-zero byte of `bytes[from...]`, or `nil` if all are zero. Runs at
/// `memcmp` speed (compared a page at a time against zeros): preallocated log space is mostly
/// zeros, and recovery scans it.
package func firstNonZeroByte(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
    let chunk = zeroPage.count
    var i = max(0, start)
    while i < bytes.count {
        let n = min(chunk, bytes.count - i)
        // Safe: `i + n <= bytes.count`, and the zero page holds at least `n` bytes.
        let equal = zeroPage.withUnsafeBytes { memcmp(bytes.baseAddress! + i, $0.baseAddress!, n) == 0 }
        if !equal {
            for j in i..<(i + n) where bytes[j] != 0 { return j }
        }
        i += n
    }
    return nil
}

/// The offset just past the last non-zero byte of `bytes[from...]` (`from` if all are zero).
package func endOfNonZeroBytes(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
    let chunk = zeroPage.count
    var end = bytes.count
    while end > start {
        let n = min(chunk, end - start)
        // Safe: `end - n >= start >= 0`.
        let equal = zeroPage.withUnsafeBytes { memcmp(bytes.baseAddress! + end - n, $0.baseAddress!, n) == 0 }
        if !equal {
            var j = end
            while j > end - n && bytes[j - 1] == 0 { j -= 1 }
            return j
        }
        end -= n
    }
    return start
}

private let zeroPage = [UInt8](repeating: 0, count: 4096)

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
