//! Spare WAL files, ready ahead of need off the commit path: zero-filled new files, and
//! recycled ones.
//!
//! Why zero-fill: appending into space reserved with `fallocate` converts an unwritten extent
//! on every `fdatasync`, a journal commit of metadata on top of the data; overwriting blocks
//! that were already written (with zeros) syncs the data alone. Measured here on 4 KiB
//! appends: fdatasync p50 75–102 µs into a zero-filled file, 136–153 µs into a fallocated one.
//! Zero-filling 64 MiB takes a while, so the next file is prepared in the background while the
//! current one fills, under a temporary name (`wal/spare-<n>.tmp`, never read by recovery and
//! removed by a writer's open), and renamed into place when a roll needs it. If no spare is
//! ready, the writer zero-fills a small file itself (Formats/store-layout.md § Writes and WAL
//! rolls): the sizes then grow again, doubling up to `walFileByteCount`, so a store that
//! writes little never writes megabytes of zeros.
//!
//! Why recycle: zeros cost the disk as much as records. Under a steady load every byte of WAL
//! was written twice, zeros first, and a spare's `fsync` of tens of MiB of zeros queued in front
//! of the commits' own syncs (durable load, 4 KiB values: 155 MB/s with zero-filled spares,
//! 255–273 MB/s without them). A WAL file a flush's checkpoint no longer needs has blocks that
//! are allocated and written: the writer renames it to a spare's name instead of removing it
//! (``WALWriter``), and the next file starts in it with a new header (format version 2) over
//! the old records (Formats/wal.md § Recycled files).

import Dispatch

/// A spare WAL file under a temporary name, not yet holding this use's header: zero-filled
/// and fsynced, or recycled.
struct WALSpareFile: Sendable {
    let fd: Int32
    let path: String
    let byteCount: Int64
    /// An earlier WAL file's bytes rather than zeros (Formats/wal.md § Recycled files).
    var recycled = false
    /// Not every block written (prepared, or first used, for groups over 1 MiB): a small
    /// commit's sync into it would convert extents.
    var reservedOnly = false
}

/// Keeps spare WAL files ready: prepares zero-filled ones in the background, and takes
/// recycled ones from the writer.
final class WALSparePreparer: @unchecked Sendable {
    // Safe to share: every var is only touched with `lock` held.
    private let io: any FileIO
    private let directory: String
    private let permissions: UInt32
    private let queue = DispatchQueue(label: "LayerStore.walSpare")
    private let lock = Lock()
    private var preparing = false
    private var ready: [WALSpareFile] = []
    private var counter = 0
    private var closed = false

    /// Spares kept ready at most: one for the next roll, one more so that a file recycled
    /// while a zero-filled one waits is not thrown away.
    static let readyCountMax = 2

    /// A preparer whose first work is removing `leftovers` (names of spares an earlier writer
    /// left in `directory`): their blocks are freed off the open's path, before any spare of
    /// this writer is made, and no name this preparer gives out is one of them.
    init(io: any FileIO, directory: String, permissions: UInt32, leftovers: [String] = []) {
        self.io = io
        self.directory = directory
        self.permissions = permissions
        counter = leftovers.compactMap(Self.number(ofSpareName:)).max() ?? 0
        if !leftovers.isEmpty {
            queue.async {
                for name in leftovers { try? io.remove(directory + "/" + name) }
            }
        }
    }

    /// `n` for a name `spare-<n>.tmp`, else `nil`.
    static func number(ofSpareName name: String) -> Int? {
        guard name.hasPrefix("spare-"), name.hasSuffix(StoreLayout.tempSuffix) else { return nil }
        return Int(name.dropFirst("spare-".count).dropLast(StoreLayout.tempSuffix.count))
    }

    /// Starts preparing a spare of `byteCount` bytes unless a spare is ready or being prepared:
    /// reserved, and zero-filled if `zeroFill` (``WALWriter/zeroFillGroupByteCountMax``).
    func request(byteCount: Int64, zeroFill: Bool) {
        let name: String? = lock.withLock {
            guard !closed, !preparing, ready.isEmpty else { return nil }
            preparing = true
            return nextNameLocked()
        }
        guard let name else { return }
        queue.async { [self] in
            let path = directory + "/" + name
            let spare = try? WALSparePreparer.reservedFile(io: io, path: path, byteCount: byteCount, zeroFill: zeroFill, permissions: permissions)
            let unwanted: WALSpareFile? = lock.withLock {
                preparing = false
                guard let spare else { return nil }
                if closed || ready.count >= WALSparePreparer.readyCountMax { return spare }
                ready.append(spare)
                return nil
            }
            if let unwanted { discard(unwanted) }
        }
    }

    /// A temporary name for a WAL file the writer means to recycle, or `nil` if no spare is
    /// wanted now (closed, or enough are ready): then the writer removes the file.
    func nameForRecycling() -> String? {
        lock.withLock {
            guard !closed, ready.count < WALSparePreparer.readyCountMax else { return nil }
            return nextNameLocked()
        }
    }

    /// Keeps a recycled file (renamed to a name from ``nameForRecycling()``, the rename durable)
    /// as a ready spare.
    func addRecycled(_ spare: WALSpareFile) {
        precondition(spare.recycled)
        let unwanted: WALSpareFile? = lock.withLock {
            if closed || ready.count >= WALSparePreparer.readyCountMax { return spare }
            ready.append(spare)
            return nil
        }
        if let unwanted { discard(unwanted) }
    }

    private func nextNameLocked() -> String {
        counter += 1
        return "spare-\(counter)" + StoreLayout.tempSuffix
    }

    /// A ready spare that holds at least `minimumByteCount` bytes, and whose blocks are written
    /// if `written` (a small group's file: zero-filled or recycled); `nil` otherwise (the caller
    /// makes its own file). Ready spares that do not fit the need are removed, so that the
    /// caller's next request can prepare one that does: kept, a small one held the preparer's
    /// slot while every batch larger than it made its own file, zero-filled and fsynced on the
    /// commit path, and one only reserved (left by a bulk load) made every later small
    /// commit's sync convert extents.
    func take(minimumByteCount: Int64, written: Bool) -> WALSpareFile? {
        let (fitting, unfit): (WALSpareFile?, [WALSpareFile]) = lock.withLock {
            let fits = { (s: WALSpareFile) in s.byteCount >= minimumByteCount && !(written && s.reservedOnly) }
            let unfit = ready.filter { !fits($0) }
            ready.removeAll { !fits($0) }
            return (ready.isEmpty ? nil : ready.removeFirst(), unfit)
        }
        for spare in unfit { discard(spare) }
        return fitting
    }

    /// Waits until no preparation is running (for tests).
    func waitUntilSettled() { queue.sync {} }

    /// Waits for a running preparation and removes the spare. Later requests do nothing.
    func close() {
        lock.withLock { closed = true }
        queue.sync {}
        let spares: [WALSpareFile] = lock.withLock {
            defer { ready.removeAll() }
            return ready
        }
        for spare in spares { discard(spare) }
    }

    private func discard(_ spare: WALSpareFile) {
        io.close(spare.fd)
        try? io.remove(spare.path)
    }

    /// Creates `path` (replacing nothing), reserves `byteCount` bytes, writes zeros over all of
    /// them if `zeroFill` (so its blocks are written before any record lands in them) and
    /// fsyncs the file. On failure the file is removed.
    static func reservedFile(io: any FileIO, path: String, byteCount: Int64, zeroFill: Bool, permissions: UInt32) throws(StoreError) -> WALSpareFile {
        let fd = try io.open(path, [.write, .create, .exclusive], permissions: permissions)
        do throws(StoreError) {
            // A full disk fails here, before any commit depends on the space.
            try io.allocate(fd, path: path, offset: 0, length: byteCount)
            if zeroFill { try writeZeros(io: io, fd: fd, path: path, range: 0..<byteCount) }
            try io.sync(fd, path: path)
        } catch {
            io.close(fd)
            try? io.remove(path)
            throw error
        }
        return WALSpareFile(fd: fd, path: path, byteCount: byteCount, reservedOnly: !zeroFill)
    }

    /// Writes zeros over `range` of the file, in large writes.
    static func writeZeros(io: any FileIO, fd: Int32, path: String, range: Range<Int64>) throws(StoreError) {
        var offset = range.lowerBound
        while offset < range.upperBound {
            let count = Int(min(Int64(zeros.count), range.upperBound - offset))
            try zeros.withBytes { (raw) throws(StoreError) in
                try io.write(fd, path: path, UnsafeRawBufferPointer(rebasing: raw[0..<count]), at: offset)
            }
            offset += Int64(count)
        }
    }

    private static let zeros = [UInt8](repeating: 0, count: 1 << 20)
}
