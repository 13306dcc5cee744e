//! Typed keys on top of the bytes API: strings and fixed-width integers, encoded so that the
//! store's key order (bytewise, Formats/README.md § Key order) is the type's own order.
//!
//! - `String`: its UTF-8 bytes. Bytewise UTF-8 order is Unicode scalar order.
//! - Unsigned integers: big-endian, fixed width (`UInt64` 1 is `00 … 00 01`), so byte order is
//!   numeric order.
//! - Signed integers: big-endian two's complement with the sign bit flipped (`Int64` −1 is
//!   `7F FF … FF`, 0 is `80 00 … 00`), so negative numbers sort before positive ones and byte
//!   order is numeric order. This is not plain two's complement: read such keys back through
//!   this API (or flip the first byte's top bit yourself).
//! `Int` and `UInt` are 8 bytes on 64-bit platforms. A key's width is part of its encoding: a
//! `UInt32` key and a `UInt64` key of the same number are different keys.

/// A type usable as a key: it encodes to bytes whose bytewise order matches its own order.
public protocol StoreKey {
    /// The key's bytes (1 to ``Limits/keyByteCountMax``).
    var storeKeyBytes: [UInt8] { get }
    /// Decodes a key from the bytes ``storeKeyBytes`` produced.
    /// - Throws: ``StoreError/Code/decodingFailed`` if the bytes are not such a key.
    init(storeKeyBytes bytes: UnsafeRawBufferPointer) throws(StoreError)
}

extension String: StoreKey {
    /// The UTF-8 bytes.
    public var storeKeyBytes: [UInt8] { Array(utf8) }

    /// Decodes UTF-8, refusing invalid UTF-8 instead of repairing it.
    public init(storeKeyBytes bytes: UnsafeRawBufferPointer) throws(StoreError) {
        try self.init(validatingStoredUTF8: bytes, what: "key")
    }

    /// Decodes strictly: invalid UTF-8 is a ``StoreError/Code/decodingFailed``, never replaced.
    init(validatingStoredUTF8 bytes: UnsafeRawBufferPointer, what: String) throws(StoreError) {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw StoreError(.decodingFailed, "the stored \(what) (\(bytes.count) bytes) is not valid UTF-8")
        }
        self = text
    }
}

/// Big-endian fixed-width encoding shared by the integer key and value conformances; `flip` is
/// the sign bit for signed types (so byte order is numeric order), 0 for unsigned ones.
enum FixedWidthBytes {
    static func encode<T: FixedWidthInteger>(_ value: T, flip: T) -> [UInt8] {
        let bits = (value ^ flip).bigEndian
        return withUnsafeBytes(of: bits) { Array($0) }
    }

    static func decode<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, flip: T, what: String) throws(StoreError) -> T {
        guard bytes.count == MemoryLayout<T>.size else {
            throw StoreError(.decodingFailed, "the stored \(what) has \(bytes.count) bytes, \(T.self) needs \(MemoryLayout<T>.size)")
        }
        var bits = T.zero
        withUnsafeMutableBytes(of: &bits) { $0.copyMemory(from: bytes) }
        return T(bigEndian: bits) ^ flip
    }

    /// The sign bit of `T` (0 for unsigned types).
    static func signBit<T: FixedWidthInteger>(_: T.Type) -> T {
        T.isSigned ? T.min : 0
    }
}

extension StoreKey where Self: FixedWidthInteger {
    /// Big-endian, the sign bit flipped for signed types: byte order is numeric order.
    public var storeKeyBytes: [UInt8] { FixedWidthBytes.encode(self, flip: FixedWidthBytes.signBit(Self.self)) }

    /// Decodes the fixed-width encoding; any other length is ``StoreError/Code/decodingFailed``.
    public init(storeKeyBytes bytes: UnsafeRawBufferPointer) throws(StoreError) {
        self = try FixedWidthBytes.decode(bytes, flip: FixedWidthBytes.signBit(Self.self), what: "key")
    }
}

extension UInt8: StoreKey {}
extension UInt16: StoreKey {}
extension UInt32: StoreKey {}
extension UInt64: StoreKey {}
extension UInt: StoreKey {}
extension Int8: StoreKey {}
extension Int16: StoreKey {}
extension Int32: StoreKey {}
extension Int64: StoreKey {}
extension Int: StoreKey {}
