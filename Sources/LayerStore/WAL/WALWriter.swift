//! Appends batch records to the WAL (Formats/wal.md § Records) and rolls to a new file when the
//! current one is full or a flush begins.
//!
//! Invariants:
//! - Used only with the store's writer lock held: appends are serial, LSNs contiguous.
//! - A record is written at `appendOffset`, which only advances after the write succeeded; a
//!   failed write leaves at most a torn record that the next append overwrites.
//! - Before the writer moves to a new file, the old one is `fdatasync`ed, so a later file never
//!   holds records while an earlier one may still lose some (recovery relies on this to tell a
//!   torn tail from damage).

/// The single appender of a store's WAL.
final class WALWriter {
    private let io: any FileIO
    private let directory: String
    private let storeID: UInt64
    private let fileByteCount: Int64
    private let permissions: UInt32
    /// The file records are appended to.
    private(set) var current: WALFile
    /// Where the next record goes in `current`.
    private(set) var appendOffset: Int64
    /// The LSN the next record must start with.
    private(set) var nextLSN: LSN
    private var scratch = ByteWriter(capacity: 1 << 16)

    /// Starts a new WAL file `number` whose first record will carry `nextLSN`.
    init(io: any FileIO, directory: String, storeID: UInt64, number: UInt64, nextLSN: LSN,
         fileByteCount: Int64, permissions: UInt32) throws(StoreError) {
        self.io = io
        self.directory = directory
        self.storeID = storeID
        self.fileByteCount = fileByteCount
        self.permissions = permissions
        self.current = try WALFile(io: io, directory: directory, storeID: storeID, number: number,
                                   baseLSN: nextLSN, byteCount: fileByteCount, permissions: permissions)
        self.appendOffset = Int64(WALFormat.headerByteCount)
        self.nextLSN = nextLSN
    }

    /// The bytes a record with `payloadByteCount` bytes of payload occupies.
    static func recordByteCount(payload payloadByteCount: Int) -> Int {
        let raw = WALFormat.recordHeaderByteCount + payloadByteCount
        return (raw + WALFormat.recordAlignment - 1) / WALFormat.recordAlignment * WALFormat.recordAlignment
    }

    /// Appends one batch record (not yet durable) and returns its first LSN.
    /// - Parameter beforeRoll: called with the last LSN of the old file once it is durable, when
    ///   the record does not fit and the writer rolls.
    func append(_ batch: WriteBatch, beforeRoll: (LSN) -> Void) throws(StoreError) -> LSN {
        precondition(batch.count > 0, "empty batches are not written")
        let total = Int64(WALWriter.recordByteCount(payload: batch.byteCount))
        if appendOffset + total > current.allocatedByteCount {
            try roll(minimumByteCount: total + Int64(WALFormat.headerByteCount), durable: beforeRoll)
        }
        let first = nextLSN
        encode(batch, firstLSN: first, at: UInt64(appendOffset))
        try scratch.bytes.withBytes { (raw) throws(StoreError) in
            try io.write(current.fd, path: current.path, raw, at: appendOffset)
        }
        appendOffset += total
        nextLSN += LSN(batch.count)
        return first
    }

    /// Makes everything appended so far durable.
    func sync() throws(StoreError) {
        try io.syncData(current.fd, path: current.path)
    }

    /// Syncs the current file and starts the next one, whose first record will be `nextLSN`.
    /// - Parameter durable: called with the last LSN of the old file once it is durable.
    func roll(minimumByteCount: Int64 = 0, durable: (LSN) -> Void) throws(StoreError) {
        try sync()
        durable(nextLSN - 1)
        let next = try WALFile(io: io, directory: directory, storeID: storeID, number: current.number + 1,
                               baseLSN: nextLSN, byteCount: max(fileByteCount, minimumByteCount),
                               permissions: permissions)
        current = next
        appendOffset = Int64(WALFormat.headerByteCount)
    }

    /// Encodes the record into `scratch` (Formats/wal.md § Records).
    private func encode(_ batch: WriteBatch, firstLSN: LSN, at offset: UInt64) {
        scratch.removeAll()
        scratch.u64(0)  // checksum, patched below
        scratch.u32(UInt32(batch.byteCount))
        scratch.u8(WALFormat.recordKindBatch)
        scratch.zeros(3)
        scratch.u64(firstLSN)
        scratch.u32(UInt32(batch.count))
        scratch.u32(0)
        scratch.append(contentsOf: batch.payload.bytes)
        let end = WALFormat.recordHeaderByteCount + batch.byteCount
        let sum = scratch.bytes.withUnsafeBytes { raw in
            Checksum.xxh3(UnsafeRawBufferPointer(rebasing: raw[8..<end]), seed: current.recordSeed ^ offset)
        }
        scratch.patch(u64: sum, at: 0)
        scratch.pad(to: WALFormat.recordAlignment)
    }
}
