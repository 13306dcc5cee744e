//! Little-endian encoding into a growing byte array: the only way LayerStore writes format
//! fields. On-disk integers are fixed-width `UInt8/16/32/64` or LEB128 varints, never `Int`.

/// Somewhere little-endian fields go: a growing array (``ByteWriter``) or pool storage
/// (``PooledBuffer``). The fixed-width and padding helpers are written once, here.
protocol ByteSink {
    var count: Int { get }
    mutating func append(_ raw: UnsafeRawBufferPointer)
    mutating func zeros(_ n: Int)
    mutating func patch(bytes: UnsafeRawBufferPointer, at offset: Int)
    /// Runs `body` with everything written so far.
    func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R
}

extension ByteSink {
    mutating func u8(_ v: UInt8) { withUnsafeBytes(of: v) { append($0) } }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { append($0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { append($0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { append($0) } }
    mutating func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    /// Appends zero bytes up to the next multiple of `alignment`.
    mutating func pad(to alignment: Int) {
        let rest = count % alignment
        if rest != 0 { zeros(alignment - rest) }
    }

    /// Overwrites a `UInt64` already written at `offset`.
    mutating func patch(u64 v: UInt64, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { patch(bytes: $0, at: offset) }
    }
}

/// Appends little-endian fields and varints to an array of bytes.
package struct ByteWriter: ByteSink {
    /// The bytes written so far.
    package private(set) var bytes: [UInt8]

    package init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// The number of bytes written.
    package var count: Int { bytes.count }

    package mutating func u8(_ v: UInt8) { bytes.append(v) }
    package mutating func u16(_ v: UInt16) { append(v.littleEndian) }
    package mutating func u32(_ v: UInt32) { append(v.littleEndian) }
    package mutating func u64(_ v: UInt64) { append(v.littleEndian) }

    /// An unsigned LEB128 varint: 7 bits a byte, low bits first, high bit set on all but the last.
    package mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    package mutating func append(contentsOf other: some Sequence<UInt8>) { bytes.append(contentsOf: other) }
    package mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { bytes.withUnsafeBytes(body) }

    /// Overwrites bytes already written, starting at `offset`.
    mutating func patch(bytes other: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + other.count <= bytes.count, "patch outside the written bytes")
        for i in 0..<other.count { bytes[offset + i] = other[i] }
    }

    /// Appends zero bytes up to the next multiple of `alignment`.
    package mutating func pad(to alignment: Int) {
        let rest = bytes.count % alignment
        if rest != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - rest)) }
    }

    /// Appends `count` zero bytes.
    package mutating func zeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }

    /// Overwrites a `UInt64` already written at `offset` (for checksums computed after the fact).
    package mutating func patch(u64 v: UInt64, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { raw in
            for i in 0..<8 { bytes[offset + i] = raw[i] }
        }
    }

    /// Overwrites a `UInt32` already written at `offset`.
    package mutating func patch(u32 v: UInt32, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { raw in
            for i in 0..<4 { bytes[offset + i] = raw[i] }
        }
    }

    /// Overwrites bytes already written, starting at `offset`.
    package mutating func patch(bytes other: [UInt8], at offset: Int) {
        precondition(offset >= 0 && offset + other.count <= bytes.count, "patch outside the written bytes")
        bytes.replaceSubrange(offset..<(offset + other.count), with: other)
    }

    /// Removes all bytes, keeping the capacity (for reuse as a scratch buffer).
    package mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    private mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
    }
}

/// The number of bytes ``ByteWriter/varint(_:)`` writes for `v`.
package func varintByteCount(_ v: UInt64) -> Int {
    var n = 1
    var v = v >> 7
    while v != 0 { n += 1; v >>= 7 }
    return n
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` with a typed error: the standard one is `rethrows`, which erases
    /// ``StoreError`` to `any Error`.
    @inline(__always)
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(StoreError) -> R) throws(StoreError) -> R {
        // Not `Result<R, StoreError>`: its metadata checks `StoreError: Error` at run time, a
        // conformance lookup a new process pays on its first open.
        var failure: StoreError?
        let result: R? = withUnsafeBytes { raw in
            do throws(StoreError) { return try body(raw) } catch { failure = error; return nil }
        }
        if let failure { throw failure }
        return result!
    }

    /// `withUnsafeMutableBytes` with a typed error.
    @inline(__always)
    package mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(StoreError) -> R) throws(StoreError) -> R {
        var failure: StoreError?
        let result: R? = withUnsafeMutableBytes { raw in
            do throws(StoreError) { return try body(raw) } catch { failure = error; return nil }
        }
        if let failure { throw failure }
        return result!
    }
}
