//! One entry of a crash trace: a mutating file-system operation as the disk model sees it, or a
//! mark the workload leaves between operations (a commit began, a commit was acknowledged).
//!
//! Files and directories are named by inode numbers that the recorder hands out, never by path:
//! a rename moves a name, and the writes and syncs that come later still act on the same file.
//! Inode 0 is the recording root.

/// An entry of a ``RecordingFileIO`` trace.
enum RecordedOperation: Sendable, CustomStringConvertible {
    /// A new file `inode` named `name` in directory `directory` (`open` with `O_CREAT` that made it).
    case createFile(directory: Int, name: String, inode: Int)
    /// A new directory `inode` named `name` in `directory`.
    case makeDirectory(directory: Int, name: String, inode: Int)
    /// `inode` moved from one name to another; whatever the new name held is replaced.
    case rename(fromDirectory: Int, fromName: String, toDirectory: Int, toName: String, inode: Int)
    /// The name `name` of `inode` removed from `directory`.
    case unlink(directory: Int, name: String, inode: Int)
    /// `bytes` written at `offset` (`pwrite`, or a writable mapping's pages at `msync`).
    case write(inode: Int, offset: Int64, bytes: [UInt8])
    /// `posix_fallocate(offset, length)`: the file grows to at least `offset + length`, zeros.
    case allocate(inode: Int, offset: Int64, length: Int64)
    /// `ftruncate(length)`.
    case truncate(inode: Int, length: Int64)
    /// `fsync` of a file or a directory.
    case sync(inode: Int)
    /// `fdatasync` (or `msync(MS_SYNC)`) of a file.
    case syncData(inode: Int)
    /// The workload began commit number `index` (0-based): from here its record may be on disk.
    case commitStarted(Int)
    /// Commit number `index` returned: from here it must survive every crash.
    case commitAcknowledged(Int)

    /// Whether this entry changes what may be on disk (marks do not).
    var isDiskOperation: Bool {
        switch self {
        case .commitStarted, .commitAcknowledged: return false
        default: return true
        }
    }

    var description: String {
        switch self {
        case .createFile(let d, let n, let i): return "create \(d)/\(n) = #\(i)"
        case .makeDirectory(let d, let n, let i): return "mkdir \(d)/\(n) = #\(i)"
        case .rename(let fd, let fn, let td, let tn, let i): return "rename \(fd)/\(fn) -> \(td)/\(tn) (#\(i))"
        case .unlink(let d, let n, let i): return "unlink \(d)/\(n) (#\(i))"
        case .write(let i, let o, let b): return "write #\(i) [\(o), \(o + Int64(b.count)))"
        case .allocate(let i, let o, let l): return "allocate #\(i) [\(o), \(o + l))"
        case .truncate(let i, let l): return "truncate #\(i) to \(l)"
        case .sync(let i): return "fsync #\(i)"
        case .syncData(let i): return "fdatasync #\(i)"
        case .commitStarted(let c): return "commit \(c) started"
        case .commitAcknowledged(let c): return "commit \(c) acknowledged"
        }
    }
}
