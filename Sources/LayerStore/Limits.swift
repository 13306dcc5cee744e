//! Every bound LayerStore enforces, in one place, named with units and `Max` last.
//!
//! The on-disk formats depend on these: a key length fits a `UInt16`, a record's start inside a
//! block fits 20 bits of a hash slot, a dimension name fits the segment header's 64 bytes.
//! `LimitsTests` checks how they relate, the way a `static_assert` would.

/// The limits on what a store accepts.
public enum Limits {
    /// The longest dimension name, in UTF-8 bytes.
    public static let dimensionNameByteCountMax = 64
    /// The longest key, in bytes. Keys are at least one byte long.
    public static let keyByteCountMax = 4096
    /// The largest value, in bytes.
    public static let valueByteCountMax = 16 << 20
    /// The largest encoded batch (all operations of one commit), in bytes.
    public static let batchByteCountMax = 64 << 20
    /// The most operations in one batch.
    public static let batchOperationCountMax = 1 << 20
    /// The most dimensions in one store.
    public static let dimensionCountMax = 4096
    /// The most blocks in one segment (the hash index addresses a block with 20 bits).
    static let segmentBlockCountMax = (1 << 20) - 1
    /// A record must start below this offset inside its block (20 bits of a hash slot).
    static let recordStartInBlockMax = 1 << 20
    /// The largest LSN a store may reach (2^62): far beyond any real store, and small enough
    /// that LSN arithmetic on values read from disk can never overflow. A file claiming more
    /// is damaged.
    static let lsnMax: UInt64 = 1 << 62
    /// The most segments one dimension may have: beyond it, flushes fail with
    /// ``StoreError/Code/limitExceeded`` until the dimension is compacted.
    static let segmentsPerDimensionMax = 1 << 16
}

/// Validation of names, keys and values against ``Limits``.
enum Validate {
    /// A dimension name is 1...64 bytes of `[A-Za-z0-9_.-]`, not starting with `.`: it is used
    /// as a directory name, so it must never be able to climb out of `dims/`.
    static func dimensionName(_ name: String) throws(StoreError) {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= Limits.dimensionNameByteCountMax else {
            throw StoreError(
                bytes.isEmpty ? .invalidArgument : .limitExceeded,
                "dimension name must be 1 to \(Limits.dimensionNameByteCountMax) bytes, got \(bytes.count)")
        }
        guard isNameBytes(bytes) else {
            throw StoreError(
                .invalidArgument,
                "invalid dimension name \"\(name)\": use letters, digits, '_', '-', '.' (not first)")
        }
    }

    /// The byte rules of a dimension name (length aside), checked without copying.
    static func isNameBytes(_ bytes: some Collection<UInt8>) -> Bool {
        guard let first = bytes.first, first != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy(isNameByte)
    }

    static func key(_ count: Int) throws(StoreError) {
        guard count >= 1 else { throw StoreError(.invalidArgument, "a key must not be empty") }
        guard count <= Limits.keyByteCountMax else {
            throw StoreError(.limitExceeded, "key of \(count) bytes exceeds \(Limits.keyByteCountMax)")
        }
    }

    static func value(_ count: Int) throws(StoreError) {
        guard count <= Limits.valueByteCountMax else {
            throw StoreError(.limitExceeded, "value of \(count) bytes exceeds \(Limits.valueByteCountMax)")
        }
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}
