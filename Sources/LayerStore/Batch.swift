//! An atomic batch of puts and deletes across dimensions, encoded as it is built.
//!
//! The batch keeps its operations already in the WAL payload encoding (Formats/wal.md,
//! "Batch payload"): committing it is one checksum and one write, and the memtable is filled by
//! the same decoder that replays the WAL after a crash, so both paths cannot disagree.

/// A set of writes applied atomically: after a crash, either all of them are in the store or
/// none is. Each operation gets its own ``LSN``, in the order added.
public struct WriteBatch: Sendable {
    /// The encoded operations (the WAL record's payload).
    package private(set) var payload = ByteWriter()
    /// The number of operations.
    public private(set) var count = 0
    /// The dimensions the batch writes to.
    package private(set) var dimensions: Set<String> = []
    private var lastDimension = ""
    /// The UTF-8 bytes of `lastDimension`.
    private var lastDimensionBytes: [UInt8] = []

    /// Creates an empty batch.
    public init() {}

    /// `true` when the batch holds no operation.
    public var isEmpty: Bool { count == 0 }

    /// The encoded size of the batch in bytes.
    public var byteCount: Int { payload.count }

    /// Adds a put: after the commit, `key` in `dimension` reads as `value` (a new version; older
    /// versions stay until compaction).
    /// - Throws: ``StoreError/Code/invalidArgument`` for a bad name or an empty key,
    ///   ``StoreError/Code/limitExceeded`` for a key, value or batch over ``Limits``.
    public mutating func put(_ value: [UInt8], forKey key: [UInt8], in dimension: String) throws(StoreError) {
        try append(WALFormat.operationPut, dimension: dimension, key: key, value: value)
    }

    /// Adds a put of UTF-8 text.
    public mutating func put(_ value: String, forKey key: String, in dimension: String) throws(StoreError) {
        try put(Array(value.utf8), forKey: Array(key.utf8), in: dimension)
    }

    /// Adds a delete: after the commit, `key` in `dimension` reads as missing (a tombstone is
    /// appended; nothing is changed in place).
    public mutating func delete(forKey key: [UInt8], in dimension: String) throws(StoreError) {
        try append(WALFormat.operationDelete, dimension: dimension, key: key, value: [])
    }

    /// Adds a delete of a UTF-8 key.
    public mutating func delete(forKey key: String, in dimension: String) throws(StoreError) {
        try delete(forKey: Array(key.utf8), in: dimension)
    }

    /// Removes every operation, keeping the buffer's capacity.
    public mutating func removeAll() {
        payload.removeAll()
        count = 0
        dimensions.removeAll(keepingCapacity: true)
        lastDimension = ""
    }

    private mutating func append(_ kind: UInt8, dimension: String, key: [UInt8], value: [UInt8]) throws(StoreError) {
        // A batch's operations mostly name the dimension of the one before: its name was
        // checked then and its bytes kept (checking and copying the name's UTF-8 view were a
        // third of a 100-byte put's time).
        let sameDimension = count > 0 && dimension == lastDimension
        if !sameDimension { try Validate.dimensionName(dimension) }
        try Validate.key(key.count)
        try Validate.value(value.count)
        let nameByteCount = sameDimension ? lastDimensionBytes.count : dimension.utf8.count
        let added = WALFormat.operationHeaderByteCount + nameByteCount + key.count + value.count
        guard payload.count + added <= Limits.batchByteCountMax else {
            throw StoreError(.limitExceeded, "batch would exceed \(Limits.batchByteCountMax) bytes")
        }
        guard count < Limits.batchOperationCountMax else {
            throw StoreError(.limitExceeded, "batch would exceed \(Limits.batchOperationCountMax) operations")
        }
        if !sameDimension {
            dimensions.insert(dimension)
            lastDimension = dimension
            lastDimensionBytes = Array(dimension.utf8)
        }
        // The operation header (Formats/wal.md): kind u8, name length u8, key length u16,
        // value length u32, little-endian, written as one word.
        let header = UInt64(kind) | UInt64(nameByteCount) << 8 | UInt64(key.count) << 16 | UInt64(value.count) << 32
        payload.u64(header)
        payload.append(lastDimensionBytes)
        payload.append(key)
        payload.append(value)
        count += 1
    }
}

/// One decoded operation of a batch payload; the byte buffers borrow the payload.
struct DecodedOperation {
    var isDelete: Bool
    var dimension: UnsafeRawBufferPointer
    var key: UnsafeRawBufferPointer
    var value: UnsafeRawBufferPointer
}

/// Decodes a batch payload of `count` operations, checking every length against the payload and
/// ``Limits``; returns `false` (having called `body` for none) if the payload is malformed.
func decodeBatchPayload(
    _ payload: UnsafeRawBufferPointer, count: Int, _ body: (Int, DecodedOperation) -> Void
) -> Bool {
    guard isValidBatchPayload(payload, count: count) else { return false }
    forEachValidatedOperation(payload, count: count, body)
    return true
}

/// Calls `body` with each operation of a payload that ``isValidBatchPayload(_:count:)`` accepted
/// (a WAL record the reader returned, a batch applied once already): a replay walks each
/// payload more than once, and checking every field again each time was a tenth of its time.
/// Every read is still bounds-checked, so a payload that was not valid traps, never reads past
/// its end.
@inline(__always)
func forEachValidatedOperation(_ payload: UnsafeRawBufferPointer, count: Int, _ body: (Int, DecodedOperation) -> Void) {
    var reader = ByteReader(payload)
    for index in 0..<count {
        let kind = reader.u8()!, nameLength = Int(reader.u8()!)
        let keyLength = Int(reader.u16()!), valueLength = Int(reader.u32()!)
        let op = DecodedOperation(
            isDelete: kind == WALFormat.operationDelete,
            dimension: reader.bytes(nameLength)!, key: reader.bytes(keyLength)!, value: reader.bytes(valueLength)!)
        body(index, op)
    }
}

/// Checks a whole payload before any of it is applied, so a batch is applied entirely or not at all.
///
/// A name the same as the operation before's was checked then: a batch's operations mostly
/// name one dimension, and checking each name's bytes again was most of this walk.
func isValidBatchPayload(_ payload: UnsafeRawBufferPointer, count: Int) -> Bool {
    var reader = ByteReader(payload)
    var checkedName = UnsafeRawBufferPointer(start: nil, count: 0)
    for _ in 0..<count {
        guard let kind = reader.u8(), let nameLength = reader.u8(), let keyLength = reader.u16(),
            let valueLength = reader.u32(),
            kind == WALFormat.operationPut || kind == WALFormat.operationDelete,
            nameLength >= 1, Int(nameLength) <= Limits.dimensionNameByteCountMax,
            keyLength >= 1, Int(keyLength) <= Limits.keyByteCountMax,
            Int(valueLength) <= Limits.valueByteCountMax,
            kind == WALFormat.operationPut || valueLength == 0,
            let name = reader.bytes(Int(nameLength)),
            keysEqual(name, checkedName) || isValidDimensionName(name),
            reader.skip(Int(keyLength) + Int(valueLength))
        else { return false }
        checkedName = name
    }
    return reader.remaining == 0
}

/// A dimension name read from disk must still be one ``Validate/dimensionName(_:)`` accepts:
/// it becomes a directory name.
func isValidDimensionName(_ bytes: UnsafeRawBufferPointer) -> Bool {
    // The allowed bytes are all ASCII, so valid UTF-8 follows; no String is built (this runs
    // for every operation replayed or applied).
    bytes.count >= 1 && bytes.count <= Limits.dimensionNameByteCountMax && Validate.isNameBytes(bytes)
}
