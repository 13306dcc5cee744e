//! What a POSIX file system (ext4-like; the assumptions of the ALICE study, Pillai et al.,
//! OSDI 2014) guarantees after a crash, applied to a recorded trace: for a crash after any
//! operation, which operations are certainly on disk and which may or may not be, and the disk
//! states that follow from choosing among the latter.
//!
//! The assumptions (Formats/store-layout.md § Crash analysis states the engine's side):
//! - File data: a `write` (or `posix_fallocate`) is durable once an `fsync` or `fdatasync` of
//!   the same file follows it. Before that, each write may be lost, kept, or torn: kept in
//!   some of its 512-byte sectors (pieces split at file offsets that are multiples of 512) and
//!   lost in others. A sector is never torn inside. Unsynced writes reach the disk in any order,
//!   so any subset may be kept; those kept are applied in trace order (a later write to the
//!   same bytes wins over an earlier one when both are kept).
//! - Space reserved by `posix_fallocate` and never written reads as zeros; so do the bytes
//!   between the old end of a file and a kept write beyond it.
//! - File size: growing it (`posix_fallocate`, `ftruncate` up, a write past the end) is made
//!   durable by `fsync` and by `fdatasync` (the size is needed to read the data back);
//!   shrinking it (`ftruncate` down) only by `fsync`.
//! - Names: creating a file (`open` with `O_CREAT`), `mkdir`, `rename` and `unlink` are durable
//!   only once an `fsync` of the directory holding the name follows (for a rename across
//!   directories, of both). An `fsync` or `fdatasync` of the file itself does not make its
//!   name durable. Before that, each such operation may be on disk or not, independently of the
//!   others (no ordering among directory operations is assumed); a rename is atomic: the name
//!   refers to the old file or the new one, never to neither or a mix.
//! - Nothing else is lost: an operation that the model says is durable is on disk, exactly.

struct DiskModel {
    /// How an operation that is not yet durable ends up after the crash.
    enum Fate: Equatable, CustomStringConvertible {
        case kept
        case dropped
        /// A write kept only in the sector pieces marked true.
        case torn([Bool])

        var description: String {
            switch self {
            case .kept: return "kept"
            case .dropped: return "dropped"
            case .torn(let pieces): return "torn(" + String(pieces.map { $0 ? "1" : "0" }) + ")"
            }
        }
    }

    /// The sector size at which unsynced writes may tear.
    static let sectorByteCount = 512

    let operations: [RecordedOperation]
    /// For each operation, the index of the sync that makes it durable (`Int.max` if none
    /// does). Marks and syncs are durable at their own index: they change nothing on disk.
    let durableAt: [Int]

    /// Builds the model of `operations`. With `ignoringSyncs` (for testing the checker itself)
    /// no sync makes anything durable: a deliberately broken file system.
    init(_ operations: [RecordedOperation], ignoringSyncs: Bool = false) {
        self.operations = operations
        var durableAt = Array(repeating: Int.max, count: operations.count)
        // Unsatisfied requirements per inode: (operation, needs a full fsync).
        var pending: [Int: [(operation: Int, needsFullSync: Bool)]] = [:]
        var remaining = Array(repeating: 0, count: operations.count)
        var latest = Array(repeating: 0, count: operations.count)
        var sizes: [Int: Int64] = [:]
        func require(_ index: Int, _ inode: Int, full: Bool) {
            pending[inode, default: []].append((index, full))
            remaining[index] += 1
        }
        func satisfy(_ inode: Int, at index: Int, full: Bool) {
            guard !ignoringSyncs, let list = pending[inode] else { return }
            var left: [(operation: Int, needsFullSync: Bool)] = []
            for entry in list {
                if entry.needsFullSync && !full { left.append(entry); continue }
                remaining[entry.operation] -= 1
                latest[entry.operation] = max(latest[entry.operation], index)
                if remaining[entry.operation] == 0 { durableAt[entry.operation] = latest[entry.operation] }
            }
            pending[inode] = left
        }
        for (index, operation) in operations.enumerated() {
            switch operation {
            case .createFile(let directory, _, let inode):
                require(index, directory, full: true)
                sizes[inode] = 0
            case .makeDirectory(let directory, _, _), .unlink(let directory, _, _):
                require(index, directory, full: true)
            case .rename(let from, _, let to, _, _):
                require(index, to, full: true)
                if from != to { require(index, from, full: true) }
            case .write(let inode, let offset, let bytes):
                require(index, inode, full: false)
                sizes[inode] = max(sizes[inode, default: 0], offset + Int64(bytes.count))
            case .allocate(let inode, let offset, let length):
                require(index, inode, full: false)
                sizes[inode] = max(sizes[inode, default: 0], offset + length)
            case .truncate(let inode, let length):
                require(index, inode, full: length < sizes[inode, default: 0])
                sizes[inode] = length
            case .sync(let inode):
                durableAt[index] = index
                satisfy(inode, at: index, full: true)
            case .syncData(let inode):
                durableAt[index] = index
                satisfy(inode, at: index, full: false)
            case .commitStarted, .commitAcknowledged:
                durableAt[index] = index
            }
        }
        self.durableAt = durableAt
    }

    /// The operations before crash point `crashPoint` (a crash after `crashPoint` entries of the
    /// trace) that are not durable there, in trace order.
    func volatileOperations(before crashPoint: Int) -> [Int] {
        (0..<crashPoint).filter { durableAt[$0] >= crashPoint }
    }

    /// The disk after a crash at `crashPoint`, with `fates` for the volatile operations (a
    /// volatile operation not in `fates` is kept).
    func image(at crashPoint: Int, fates: [Int: Fate]) -> DiskImage {
        var image = DiskImage()
        for index in 0..<crashPoint {
            let operation = operations[index]
            guard operation.isDiskOperation else { continue }
            if durableAt[index] < crashPoint {
                image.apply(operation)
                continue
            }
            switch fates[index] ?? .kept {
            case .kept: image.apply(operation)
            case .dropped: break
            case .torn(let pieces): image.apply(operation, keptPieces: pieces)
            }
        }
        return image
    }

    /// The sector pieces of a write of `count` bytes at `offset`, as ranges of the write's own
    /// bytes: split wherever the file offset is a multiple of the sector size.
    static func pieces(offset: Int64, count: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        while start < count {
            let fileOffset = Int(offset) + start
            let next = min(count, start + sectorByteCount - fileOffset % sectorByteCount)
            out.append(start..<next)
            start = next
        }
        return out
    }

    /// How many sector pieces operation `index` has (1 for anything but a write).
    func pieceCount(_ index: Int) -> Int {
        if case .write(_, let offset, let bytes) = operations[index] {
            return DiskModel.pieces(offset: offset, count: bytes.count).count
        }
        return 1
    }
}
