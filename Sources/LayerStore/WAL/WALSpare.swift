//! Zero-filled WAL files, prepared ahead of need off the commit path.
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

import Dispatch

/// A zero-filled, fsynced WAL file under a temporary name, not yet holding a header.
struct WALSpareFile: Sendable {
    let fd: Int32
    let path: String
    let byteCount: Int64
}

/// Prepares the next WAL file in the background.
final class WALSparePreparer: @unchecked Sendable {
    // Safe to share: `state` and `counter` are only touched with `lock` held.
    private enum State {
        case idle
        case preparing
        case ready(WALSpareFile)
    }

    private let io: any FileIO
    private let directory: String
    private let permissions: UInt32
    private let queue = DispatchQueue(label: "LayerStore.walSpare")
    private let lock = Lock()
    private var state = State.idle
    private var counter = 0
    private var closed = false

    init(io: any FileIO, directory: String, permissions: UInt32) {
        self.io = io
        self.directory = directory
        self.permissions = permissions
    }

    /// Starts preparing a spare of `byteCount` bytes unless one is ready or being prepared.
    func request(byteCount: Int64) {
        let name: String? = lock.withLock {
            guard !closed, case .idle = state else { return nil }
            state = .preparing
            counter += 1
            return "spare-\(counter)" + StoreLayout.tempSuffix
        }
        guard let name else { return }
        queue.async { [self] in
            let path = directory + "/" + name
            let spare = try? WALSparePreparer.zeroFilledFile(io: io, path: path, byteCount: byteCount, permissions: permissions)
            let unwanted: WALSpareFile? = lock.withLock {
                guard let spare else {
                    state = .idle
                    return nil
                }
                if closed { return spare }
                state = .ready(spare)
                return nil
            }
            if let unwanted { discard(unwanted) }
        }
    }

    /// The ready spare if it holds at least `minimumByteCount` bytes; `nil` otherwise (the
    /// caller makes its own file). A spare too small stays for a later, smaller need.
    func take(minimumByteCount: Int64) -> WALSpareFile? {
        lock.withLock {
            guard case .ready(let spare) = state, spare.byteCount >= minimumByteCount else { return nil }
            state = .idle
            return spare
        }
    }

    /// Waits until no preparation is running (for tests).
    func waitUntilSettled() { queue.sync {} }

    /// Waits for a running preparation and removes the spare. Later requests do nothing.
    func close() {
        lock.withLock { closed = true }
        queue.sync {}
        let spare: WALSpareFile? = lock.withLock {
            guard case .ready(let spare) = state else { return nil }
            state = .idle
            return spare
        }
        if let spare { discard(spare) }
    }

    private func discard(_ spare: WALSpareFile) {
        io.close(spare.fd)
        try? io.remove(spare.path)
    }

    /// Creates `path` (replacing nothing), reserves `byteCount` bytes, writes zeros over all of
    /// them and fsyncs the file, so its blocks are allocated and written before any record
    /// lands in them. On failure the file is removed.
    static func zeroFilledFile(io: any FileIO, path: String, byteCount: Int64, permissions: UInt32) throws(StoreError) -> WALSpareFile {
        let fd = try io.open(path, [.write, .create, .exclusive], permissions: permissions)
        do throws(StoreError) {
            // A full disk fails here, before any commit depends on the space.
            try io.allocate(fd, path: path, offset: 0, length: byteCount)
            try writeZeros(io: io, fd: fd, path: path, range: 0..<byteCount)
            try io.sync(fd, path: path)
        } catch {
            io.close(fd)
            try? io.remove(path)
            throw error
        }
        return WALSpareFile(fd: fd, path: path, byteCount: byteCount)
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
