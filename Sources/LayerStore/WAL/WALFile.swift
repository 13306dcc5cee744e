//! One open WAL file being appended to: its descriptor and its identity.
//!
//! Invariant: a `WALFile` never changes after creation; the append position belongs to the
//! ``WALWriter``. The group-commit leader may hold a `WALFile` (to `fdatasync` it) after the
//! writer has rolled to the next one: the descriptor stays open until the last holder lets go.

/// An open, preallocated WAL file: zero-filled, or recycled.
final class WALFile: Sendable {
    let io: any FileIO
    let fd: Int32
    let path: String
    /// The file's number (its name).
    let number: UInt64
    /// The LSN of the first record this file holds (or will hold).
    let baseLSN: LSN
    /// The random salt of this use of the file; mixed into every record checksum.
    let salt: UInt64
    /// The base seed of this file's record checksums.
    let recordSeed: UInt64
    /// Bytes reserved on disk (the file's length).
    let allocatedByteCount: Int64
    /// Stale bytes of an earlier use lie behind the records (Formats/wal.md § Recycled
    /// files): every append zeroes the record header after its last record.
    let recycled: Bool
    /// Not every block was written before records landed in it (reserved only, for groups
    /// over 1 MiB); carried to the spare the file becomes when it is recycled.
    let reservedOnly: Bool

    /// Creates, preallocates (and, if `zeroFill`, zero-fills) and durably publishes WAL file
    /// `number` in `directory`.
    init(
        io: any FileIO, directory: String, storeID: UInt64, number: UInt64, baseLSN: LSN,
        byteCount: Int64, zeroFill: Bool, permissions: UInt32
    ) throws(StoreError) {
        let path = directory + "/" + WALFormat.fileName(number)
        let salt = UInt64.random(in: 1...UInt64.max)
        let fd = try io.open(path, [.write, .create, .exclusive], permissions: permissions)
        do throws(StoreError) {
            // Reserve the space up front: a full disk fails here, before any commit depends on it.
            try io.allocate(fd, path: path, offset: 0, length: byteCount)
            // Written zeros, not just reserved space: a sync of an append then writes data only
            // (see WALSparePreparer).
            if zeroFill {
                try WALSparePreparer.writeZeros(io: io, fd: fd, path: path, range: Int64(WALFormat.headerByteCount)..<byteCount)
            }
            let header = WALFile.encodeHeader(storeID: storeID, number: number, baseLSN: baseLSN, salt: salt)
            try header.withBytes { (raw) throws(StoreError) in try io.write(fd, path: path, raw, at: 0) }
            try io.sync(fd, path: path)
            try io.syncDirectory(directory)
        } catch {
            io.close(fd)
            try? io.remove(path)
            throw error
        }
        self.io = io
        self.fd = fd
        self.path = path
        self.number = number
        self.baseLSN = baseLSN
        self.salt = salt
        self.recordSeed = WALFormat.recordSeed(storeID: storeID, fileNumber: number, salt: salt)
        self.allocatedByteCount = byteCount
        self.recycled = false
        self.reservedOnly = !zeroFill
    }

    /// Turns a spare into WAL file `number` in `directory`: writes the header, renames it into
    /// place and fsyncs the directory.
    ///
    /// A zero-filled spare's header becomes durable with the first synced record (an
    /// `fdatasync` covers the whole file); a crash before that leaves a last file whose header
    /// was never written, which recovery drops. A recycled spare still holds its earlier use's
    /// header, which must never show under the new name: its new header, with a zero record
    /// header behind it (so the new use reads as empty, not as stale records), is synced
    /// before the rename.
    init(activating spare: WALSpareFile, io: any FileIO, directory: String, storeID: UInt64, number: UInt64, baseLSN: LSN) throws(StoreError) {
        let path = directory + "/" + WALFormat.fileName(number)
        let salt = UInt64.random(in: 1...UInt64.max)
        var renamed = false
        do throws(StoreError) {
            var header = WALFile.encodeHeader(storeID: storeID, number: number, baseLSN: baseLSN, salt: salt, recycled: spare.recycled)
            if spare.recycled {
                header += [UInt8](repeating: 0, count: Int(min(Int64(WALFormat.recordHeaderByteCount), spare.byteCount - Int64(WALFormat.headerByteCount))))
            }
            try header.withBytes { (raw) throws(StoreError) in try io.write(spare.fd, path: spare.path, raw, at: 0) }
            if spare.recycled { try io.syncData(spare.fd, path: spare.path) }
            try io.rename(spare.path, to: path)
            renamed = true
            try io.syncDirectory(directory)
        } catch {
            io.close(spare.fd)
            try? io.remove(renamed ? path : spare.path)
            throw error
        }
        self.io = io
        self.fd = spare.fd
        self.path = path
        self.number = number
        self.baseLSN = baseLSN
        self.salt = salt
        self.recordSeed = WALFormat.recordSeed(storeID: storeID, fileNumber: number, salt: salt)
        self.allocatedByteCount = spare.byteCount
        self.recycled = spare.recycled
        self.reservedOnly = spare.reservedOnly
    }

    deinit { io.close(fd) }

    /// The 64-byte file header (Formats/wal.md § File header).
    static func encodeHeader(storeID: UInt64, number: UInt64, baseLSN: LSN, salt: UInt64, recycled: Bool = false) -> [UInt8] {
        var w = ByteWriter(capacity: WALFormat.headerByteCount)
        w.u64(WALFormat.magic)
        w.u32(recycled ? WALFormat.recycledFileVersion : WALFormat.freshFileVersion)
        w.u32(UInt32(WALFormat.headerByteCount))
        w.u64(storeID)
        w.u64(number)
        w.u64(baseLSN)
        w.u64(salt)
        w.u64(0)
        let seed = WALFormat.headerSeed(storeID: storeID, fileNumber: number)
        w.u64(Checksum.xxh3(Array(w.bytes[0..<WALFormat.headerChecksumOffset]), seed: seed))
        assert(w.count == WALFormat.headerByteCount)
        return w.bytes
    }
}
