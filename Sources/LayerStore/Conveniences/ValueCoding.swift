//! Typed values on top of the bytes API: strings, integers, floating-point numbers, booleans and
//! byte arrays by a fixed encoding, and any `Codable` type through a coder the caller chooses.
//!
//! - `String`: UTF-8; reading refuses invalid UTF-8 (``StoreError/Code/decodingFailed``) rather
//!   than repairing it, so a value that was not written as text is never silently mangled.
//! - Integers: the key encoding (KeyEncoding.swift): big-endian, fixed width, sign bit flipped
//!   for signed types, so a value can be copied into a key and keep its order.
//! - `Double`, `Float`: their IEEE 754 bit pattern, big-endian (8 and 4 bytes).
//! - `Bool`: one byte, 0 or 1.
//! - `[UInt8]`: the bytes themselves.
//! - `Codable`: whatever the ``ValueCoder`` writes (``JSONValueCoder``, ``PropertyListValueCoder``,
//!   or one of your own); its failures become ``StoreError/Code/invalidArgument`` (encoding) and
//!   ``StoreError/Code/decodingFailed`` (decoding).

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A type stored as a value by a fixed encoding.
public protocol StoreValue {
    /// The value's bytes (at most ``Limits/valueByteCountMax``).
    var storeValueBytes: [UInt8] { get }
    /// Decodes a value from the bytes ``storeValueBytes`` produced.
    /// - Throws: ``StoreError/Code/decodingFailed`` if the bytes are not such a value.
    init(storeValueBytes bytes: UnsafeRawBufferPointer) throws(StoreError)
}

extension String: StoreValue {
    /// The UTF-8 bytes.
    public var storeValueBytes: [UInt8] { Array(utf8) }

    /// Decodes UTF-8, refusing invalid UTF-8 instead of repairing it.
    public init(storeValueBytes bytes: UnsafeRawBufferPointer) throws(StoreError) {
        try self.init(validatingStoredUTF8: bytes, what: "value")
    }
}

extension StoreValue where Self: FixedWidthInteger {
    /// The key encoding: big-endian, the sign bit flipped for signed types.
    public var storeValueBytes: [UInt8] { FixedWidthBytes.encode(self, flip: FixedWidthBytes.signBit(Self.self)) }

    /// Decodes the fixed-width encoding; any other length is ``StoreError/Code/decodingFailed``.
    public init(storeValueBytes bytes: UnsafeRawBufferPointer) throws(StoreError) {
        self = try FixedWidthBytes.decode(bytes, flip: FixedWidthBytes.signBit(Self.self), what: "value")
    }
}

extension UInt8: StoreValue {}
extension UInt16: StoreValue {}
extension UInt32: StoreValue {}
extension UInt64: StoreValue {}
extension UInt: StoreValue {}
extension Int8: StoreValue {}
extension Int16: StoreValue {}
extension Int32: StoreValue {}
extension Int64: StoreValue {}
extension Int: StoreValue {}

extension Double: StoreValue {
    /// The IEEE 754 bit pattern, big-endian (8 bytes).
    public var storeValueBytes: [UInt8] { FixedWidthBytes.encode(bitPattern, flip: 0) }

    /// Decodes 8 bytes of bit pattern.
    public init(storeValueBytes bytes: UnsafeRawBufferPointer) throws(StoreError) {
        self.init(bitPattern: try FixedWidthBytes.decode(bytes, flip: UInt64(0), what: "value"))
    }
}

extension Float: StoreValue {
    /// The IEEE 754 bit pattern, big-endian (4 bytes).
    public var storeValueBytes: [UInt8] { FixedWidthBytes.encode(bitPattern, flip: 0) }

    /// Decodes 4 bytes of bit pattern.
    public init(storeValueBytes bytes: UnsafeRawBufferPointer) throws(StoreError) {
        self.init(bitPattern: try FixedWidthBytes.decode(bytes, flip: UInt32(0), what: "value"))
    }
}

extension Bool: StoreValue {
    /// One byte: 1 for `true`, 0 for `false`.
    public var storeValueBytes: [UInt8] { [self ? 1 : 0] }

    /// Decodes one byte, 0 or 1; anything else is ``StoreError/Code/decodingFailed``.
    public init(storeValueBytes bytes: UnsafeRawBufferPointer) throws(StoreError) {
        guard bytes.count == 1, bytes[0] <= 1 else {
            throw StoreError(.decodingFailed, "the stored value (\(bytes.count) bytes) is not a Bool (one byte, 0 or 1)")
        }
        self = bytes[0] == 1
    }
}

extension Array: StoreValue where Element == UInt8 {
    /// The bytes themselves.
    public var storeValueBytes: [UInt8] { self }

    /// A copy of the bytes.
    public init(storeValueBytes bytes: UnsafeRawBufferPointer) throws(StoreError) {
        self.init(bytes)
    }
}

/// Turns `Codable` values into stored bytes and back, in a format the caller chooses.
///
/// Conform your own coder (a binary format, a versioned envelope) or use ``JSONValueCoder`` and
/// ``PropertyListValueCoder``. A coder must be safe to use from several threads at once.
public protocol ValueCoder: Sendable {
    /// The bytes to store for `value`.
    func encode<T: Encodable>(_ value: T) throws -> [UInt8]
    /// The value stored as `bytes`.
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T
}

/// Stores `Codable` values as JSON (`JSONEncoder` / `JSONDecoder`, sorted keys).
public struct JSONValueCoder: ValueCoder {
    /// Creates a JSON coder.
    public init() {}

    /// The value's JSON, with sorted keys (the same value always gives the same bytes).
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    /// Decodes JSON.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}

/// Stores `Codable` values as binary property lists (`PropertyListEncoder` / `Decoder`): more
/// compact than JSON for numbers and dates.
public struct PropertyListValueCoder: ValueCoder {
    /// Creates a binary property-list coder.
    public init() {}

    /// The value as a binary property list.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = PropertyListEncoder()
        encoder.outputFormat = .binary
        return Array(try encoder.encode(value))
    }

    /// Decodes a property list (binary or XML).
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try PropertyListDecoder().decode(type, from: Data(bytes))
    }
}

extension ValueCoder {
    /// `encode`, with its failure as a ``StoreError/Code/invalidArgument``.
    func storeBytes<T: Encodable>(_ value: T) throws(StoreError) -> [UInt8] {
        do {
            return try encode(value)
        } catch {
            throw StoreError(.invalidArgument, "the value of type \(T.self) could not be encoded: \(error)")
        }
    }

    /// `decode`, with its failure as a ``StoreError/Code/decodingFailed``.
    func storeValue<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(StoreError) -> T {
        do {
            return try decode(type, from: bytes)
        } catch {
            throw StoreError(.decodingFailed, "the stored value (\(bytes.count) bytes) could not be decoded as \(T.self): \(error)")
        }
    }
}
