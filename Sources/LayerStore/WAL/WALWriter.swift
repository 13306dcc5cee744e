//! Appends batch records to the WAL (Formats/wal.md § Records) and rolls to a new file when the
//! current one is full or a flush begins.
//!
//! Invariants:
//! - Used only with the store's writer lock held: appends are serial, LSNs contiguous.
//! - A record is written at `appendOffset`, which only advances after the write succeeded; a
//!   failed write is undone by writing zeros over it (or, if that fails too, stops the writer).
//! - Before the writer moves to a new file, the old one is `fdatasync`ed, so a later file never
//!   holds records while an earlier one may still lose some (recovery relies on this to tell a
//!   torn tail from damage).
//! - A file is created only when the first record needs it: opening a store or rolling at a
//!   flush writes nothing, and no WAL file exists without a record in it (or being written).

/// The single appender of a store's WAL.
final class WALWriter {
    private let io: any FileIO
    private let directory: String
    private let storeID: UInt64
    private let fileByteCount: Int64
    private let permissions: UInt32
    /// The file records are appended to; `nil` until the first record after open or a roll.
    private(set) var current: WALFile?
    /// The number the next new file gets.
    private(set) var nextFileNumber: UInt64
    /// Where the next record goes in `current`.
    private(set) var appendOffset: Int64 = 0
    /// The LSN the next record must start with.
    private(set) var nextLSN: LSN
    /// The WAL files on disk, oldest first: number and first LSN.
    private(set) var files: [(number: UInt64, baseLSN: LSN)]
    /// The files this writer created, their sizes and whether only reserved: the only ones it
    /// recycles. (A file replayed at the open may be mapped by a memtable that still reads
    /// from it.)
    private var created: [UInt64: (byteCount: Int64, reservedOnly: Bool)] = [:]
    /// The records of one group, staged for their single write: pool storage, reused.
    private var scratch = PooledBuffer(capacity: 1 << 16)
    /// Prepares the next file while the current one fills.
    private let spares: WALSparePreparer
    /// The size of the next spare: doubling from ``firstFileByteCount`` to `fileByteCount`, and
    /// at least twice the last group that started a file.
    private var nextSpareByteCount: Int64

    /// The size of a file the writer zero-fills itself (the first after open, or when no spare
    /// is ready): small, so that the commit waiting for it waits little.
    static let firstFileByteCount: Int64 = 1 << 20

    /// A writer whose first record will carry `nextLSN`, in a new file after the existing `files`.
    /// - Parameter leftoverSpares: names of spare files (in `directory`) an earlier writer left:
    ///   removed in the background.
    init(io: any FileIO, directory: String, storeID: UInt64, files: [(number: UInt64, baseLSN: LSN)], nextLSN: LSN,
         fileByteCount: Int64, permissions: UInt32, leftoverSpares: [String] = []) {
        self.io = io
        self.directory = directory
        self.storeID = storeID
        self.fileByteCount = fileByteCount
        self.permissions = permissions
        self.files = files
        self.nextFileNumber = (files.last?.number ?? 0) + 1
        self.nextLSN = nextLSN
        self.spares = WALSparePreparer(io: io, directory: directory, permissions: permissions, leftovers: leftoverSpares)
        self.nextSpareByteCount = min(fileByteCount, 2 * WALWriter.firstFileByteCount)
    }

    deinit { spares.close() }

    /// Waits until the spare being prepared (if any) is ready or given up (for tests).
    func waitForSparePreparation() { spares.waitUntilSettled() }

    /// The bytes a record with `payloadByteCount` bytes of payload occupies.
    static func recordByteCount(payload payloadByteCount: Int) -> Int {
        let raw = WALFormat.recordHeaderByteCount + payloadByteCount
        return (raw + WALFormat.recordAlignment - 1) / WALFormat.recordAlignment * WALFormat.recordAlignment
    }

    /// A failed append that could not be undone: the file's tail is unknown, so the writer stops.
    private(set) var failure: StoreError?

    /// Appends one record per batch with one write (not yet durable); returns the first batch's
    /// first LSN (each next batch starts where the previous one ends).
    /// - Parameters:
    ///   - syncedLSN: every LSN up to this one is durable now; recorded in each record, so that
    ///     recovery can tell a crash's out-of-order writes from lost acknowledged data.
    ///   - beforeRoll: called with the last LSN of the old file once it is durable, when the
    ///     records do not fit and the writer rolls.
    func append(_ batches: [WriteBatch], syncedLSN: LSN, beforeRoll: (LSN) -> Void) throws(StoreError) -> LSN {
        precondition(!batches.isEmpty && batches.allSatisfy { $0.count > 0 }, "empty batches are not written")
        if let failure { throw failure }
        let total = batches.reduce(0) { $0 + Int64(WALWriter.recordByteCount(payload: $1.byteCount)) }
        if let file = current, appendOffset + total > file.allocatedByteCount {
            try roll(durable: beforeRoll)
        }
        let file: WALFile
        if let current { file = current } else { file = try createFile(minimumByteCount: total + Int64(WALFormat.headerByteCount)) }
        scratch.removeAll()
        let first = nextLSN
        var lsn = nextLSN
        for batch in batches {
            WALWriter.encodeRecord(batch, firstLSN: lsn, syncedLSN: min(syncedLSN, lsn - 1), seed: file.recordSeed,
                                   offset: UInt64(appendOffset) + UInt64(scratch.count), into: &scratch)
            lsn += LSN(batch.count)
        }
        assert(Int64(scratch.count) == total)
        if file.recycled {
            // The zero record header that ends this use's records: stale bytes lie behind it.
            scratch.zeros(Int(min(Int64(WALFormat.recordHeaderByteCount), file.allocatedByteCount - appendOffset - total)))
        }
        do throws(StoreError) {
            try io.write(file.fd, path: file.path, scratch.bytes, at: appendOffset)
        } catch {
            try undoFailedAppend(file, byteCount: scratch.count, cause: error)
            throw error
        }
        if scratch.count >= WALWriter.writeBackByteCountMin {
            io.startWriteBack(file.fd, path: file.path, offset: appendOffset, length: Int64(scratch.count))
        }
        appendOffset += total
        nextLSN = lsn
        return first
    }

    /// A write failed part-way: put zeros back where the record was going, so no torn record is
    /// left behind a later one (which would read as damage). If even that fails, the file's tail
    /// is unknown and the writer stops for good.
    private func undoFailedAppend(_ file: WALFile, byteCount: Int, cause: StoreError) throws(StoreError) {
        let zeros = [UInt8](repeating: 0, count: byteCount)
        do throws(StoreError) {
            try zeros.withBytes { (raw) throws(StoreError) in try io.write(file.fd, path: file.path, raw, at: appendOffset) }
        } catch {
            let stop = StoreError(.writerFailed, "a failed WAL write could not be undone; the store must be reopened: \(cause.message)",
                                  path: file.path, offset: UInt64(appendOffset), errno: cause.errno)
            failure = stop
            throw stop
        }
    }

    /// From this many bytes on, an append starts the device writing them at once. The caller
    /// fills the memtable before it syncs, and without the hint the device sits idle until the
    /// sync: a bulk load's 4 MiB commit then spends its memtable time and its write time one
    /// after the other. Below it the memtable's share is small and the call costs more than it
    /// hides.
    static let writeBackByteCountMin = 64 << 10

    /// Makes everything appended so far durable.
    func sync() throws(StoreError) {
        guard let current else { return }
        try io.syncData(current.fd, path: current.path)
    }

    /// Syncs the current file and closes it for appends: the next record starts a new file.
    /// - Parameter durable: called with the last LSN of the old file once it is durable.
    func roll(durable: (LSN) -> Void) throws(StoreError) {
        guard current != nil else { return }
        try sync()
        durable(nextLSN - 1)
        // The zeros behind the last record stay: the file goes as a whole once a flush has
        // checkpointed it (soon: a freeze rolls), and an `ftruncate` that frees tens of MiB of
        // blocks took up to 90 ms here, with the writer lock held.
        current = nil
    }

    /// Gives back the preallocated space behind the last record (at a clean close: the file is
    /// synced and nothing more will be appended to it).
    func trimAndClose() throws(StoreError) {
        // A closed store leaves no spare behind, whatever else happens here.
        defer { spares.close() }
        guard failure == nil, let file = current else { return }
        try sync()
        try io.truncate(file.fd, path: file.path, length: appendOffset)
        try io.sync(file.fd, path: file.path)
        current = nil
    }

    private func createFile(minimumByteCount: Int64) throws(StoreError) -> WALFile {
        let number = nextFileNumber
        let zeroFill = minimumByteCount <= WALWriter.zeroFillGroupByteCountMax
        let file: WALFile
        if let spare = spares.take(minimumByteCount: minimumByteCount, written: zeroFill) {
            file = try WALFile(activating: spare, io: io, directory: directory, storeID: storeID, number: number, baseLSN: nextLSN)
        } else {
            let byteCount = max(min(fileByteCount, WALWriter.firstFileByteCount), minimumByteCount)
            file = try WALFile(io: io, directory: directory, storeID: storeID, number: number, baseLSN: nextLSN,
                               byteCount: byteCount, zeroFill: zeroFill, permissions: permissions)
        }
        // The next spare holds at least two groups of this size, so batches of megabytes do
        // not roll (and wait for a file) at every commit.
        nextSpareByteCount = min(max(nextSpareByteCount, WALWriter.spareByteCount(fitting: minimumByteCount)), max(fileByteCount, minimumByteCount))
        spares.request(byteCount: nextSpareByteCount, zeroFill: zeroFill)
        nextSpareByteCount = min(fileByteCount, 2 * nextSpareByteCount)
        nextFileNumber += 1
        current = file
        appendOffset = Int64(WALFormat.headerByteCount)
        files.append((number, nextLSN))
        created[number] = (file.allocatedByteCount, file.reservedOnly)
        return file
    }

    /// Zeros are written into a new file only for groups up to this size. A small commit's
    /// `fdatasync` into reserved, unwritten space converts extents (a journal commit on top of
    /// the data: 4 KiB appends p50 136–153 µs against 75–102 µs into zeros), but for groups of
    /// megabytes the zeros cost the disk as much as the records, and a spare's `fsync` of tens
    /// of MiB of them queued in front of the commits' own syncs (durable load of 4 KiB values:
    /// 155 MB/s with zero-filled files, 255–273 MB/s with reserved ones).
    static let zeroFillGroupByteCountMax: Int64 = 1 << 20

    /// The smallest power of two (from ``firstFileByteCount``) that holds two groups of
    /// `groupByteCount` bytes.
    static func spareByteCount(fitting groupByteCount: Int64) -> Int64 {
        var size = firstFileByteCount
        while size < 2 * groupByteCount { size *= 2 }
        return size
    }

    /// Drops the files whose every record is at or below `threshold` (never the current one),
    /// then fsyncs the directory so a dropped file cannot reappear behind a newer one. A file
    /// this writer created becomes a recycled spare if one is wanted (renamed, its bytes kept:
    /// Formats/wal.md § Recycled files); the others are removed.
    func dropFiles(coveredBy threshold: LSN) throws(StoreError) {
        var removed = false
        var recycled: WALSpareFile?
        defer { if let recycled { io.close(recycled.fd) } }
        while let first = files.first, first.number != current?.number {
            let lastLSN = files.count > 1 ? files[1].baseLSN - 1 : nextLSN - 1
            guard lastLSN <= threshold else { break }
            let path = directory + "/" + WALFormat.fileName(first.number)
            if recycled == nil, let own = created[first.number], let name = spares.nameForRecycling() {
                let sparePath = directory + "/" + name
                try io.rename(path, to: sparePath)
                if let fd = try? io.open(sparePath, [.write], permissions: permissions) {
                    recycled = WALSpareFile(fd: fd, path: sparePath, byteCount: own.byteCount, recycled: true, reservedOnly: own.reservedOnly)
                } else {
                    try? io.remove(sparePath)
                }
            } else {
                try io.remove(path)
            }
            created[first.number] = nil
            files.removeFirst()
            removed = true
        }
        if removed { try io.syncDirectory(directory) }
        // Only now, with its rename durable, may the file take a new header.
        if let spare = recycled {
            recycled = nil
            spares.addRecycled(spare)
        }
    }

    /// Appends the record for `batch` at file offset `offset` of a file whose record seed is
    /// `seed` (Formats/wal.md § Records), padding included.
    static func encodeRecord<Sink: ByteSink>(_ batch: WriteBatch, firstLSN: LSN, syncedLSN: LSN, seed: UInt64, offset: UInt64, into out: inout Sink) {
        precondition(syncedLSN < firstLSN, "a record cannot be durable before it is written")
        let start = out.count
        out.u64(0)  // checksum, patched below
        out.u32(UInt32(batch.byteCount))
        out.u8(WALFormat.recordKindBatch)
        out.zeros(3)
        out.u64(firstLSN)
        out.u32(UInt32(batch.count))
        // How far behind the durable point was: firstLSN - syncedLSN, saturated (max = unknown).
        out.u32(UInt32(clamping: firstLSN - syncedLSN))
        out.append(batch.payload.bytes)
        let end = start + WALFormat.recordHeaderByteCount + batch.byteCount
        let sum = out.withContiguousBytes { raw in
            Checksum.xxh3(UnsafeRawBufferPointer(rebasing: raw[(start + 8)..<end]), seed: seed ^ offset)
        }
        out.patch(u64: sum, at: start)
        out.pad(to: WALFormat.recordAlignment)
    }
}
