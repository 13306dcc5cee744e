//! The I/O seam: every file operation LayerStore performs goes through a `FileIO`.
//!
//! Production uses ``SystemFileIO``, which calls the system. Tests substitute implementations
//! that inject errors (EIO, ENOSPC), tear writes, or record every operation to rebuild the disk
//! at each possible crash point. Nothing above this layer calls libc for files.
//!
//! Every operation names the path it acts on, so errors carry it and fault injection can target
//! one file or one kind of file.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to open a file.
package struct OpenOptions: OptionSet, Sendable {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Open for reading and writing (otherwise read-only).
    package static let write = OpenOptions(rawValue: 1)
    /// Create the file if it is missing.
    package static let create = OpenOptions(rawValue: 2)
    /// Fail if the file exists (with `.create`).
    package static let exclusive = OpenOptions(rawValue: 4)
    /// Open a directory (to fsync it).
    package static let directory = OpenOptions(rawValue: 8)
}

/// The file operations LayerStore needs, each failing with a ``StoreError``.
///
/// Implementations must be safe to call from any thread.
package protocol FileIO: Sendable {
    /// Opens `path` and returns its descriptor.
    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StoreError) -> Int32
    /// Closes a descriptor; errors are ignored (nothing durable depends on `close`).
    func close(_ fd: Int32)
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at end of file).
    func read(_ fd: Int32, path: String, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StoreError) -> Int
    /// Writes all of `bytes` at `offset`.
    func write(_ fd: Int32, path: String, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StoreError)
    /// Makes the file's data and metadata durable (`fsync`; `F_FULLFSYNC` on Apple platforms).
    func sync(_ fd: Int32, path: String) throws(StoreError)
    /// Makes the file's data durable (`fdatasync`; `F_FULLFSYNC` on Apple platforms).
    func syncData(_ fd: Int32, path: String) throws(StoreError)
    /// Starts writing `[offset, offset + length)` of the file to the device without waiting for
    /// it, so that a later sync finds the write under way. A hint: it makes nothing durable,
    /// and an implementation that cannot do it does nothing (a sync still writes everything).
    func startWriteBack(_ fd: Int32, path: String, offset: Int64, length: Int64)
    /// Reserves disk blocks for `[offset, offset + length)` (`posix_fallocate`), growing the file.
    func allocate(_ fd: Int32, path: String, offset: Int64, length: Int64) throws(StoreError)
    /// Sets the file's length.
    func truncate(_ fd: Int32, path: String, length: Int64) throws(StoreError)
    /// The file's length in bytes.
    func size(_ fd: Int32, path: String) throws(StoreError) -> Int64
    /// Maps the first `length` bytes of the file, shared; read-only unless `writable`.
    func map(_ fd: Int32, path: String, length: Int, writable: Bool) throws(StoreError) -> UnsafeMutableRawPointer
    /// Writes a writable mapping's dirty pages back and waits (`msync(MS_SYNC)`).
    func syncMapping(_ pointer: UnsafeMutableRawPointer, length: Int, path: String) throws(StoreError)
    /// Atomically renames `from` to `to`, replacing `to`.
    func rename(_ from: String, to: String) throws(StoreError)
    /// Gives the file `existing` a second name `new` (a hard link; `new` must not exist).
    func link(_ existing: String, to new: String) throws(StoreError)
    /// Removes a file.
    func remove(_ path: String) throws(StoreError)
    /// Creates a directory.
    func makeDirectory(_ path: String, permissions: UInt32) throws(StoreError)
    /// Makes a directory's entries (creations, renames, removals) durable.
    func syncDirectory(_ path: String) throws(StoreError)
    /// The names in a directory, sorted.
    func list(_ path: String) throws(StoreError) -> [String]
    /// What `path` names.
    func kind(of path: String) throws(StoreError) -> FileKind
    /// Bytes free for new data on the file system holding `path`.
    func availableByteCount(_ path: String) throws(StoreError) -> UInt64
    /// Takes an exclusive, non-blocking advisory lock on the open file (`flock`).
    /// Fails with ``StoreError/Code/locked`` when another descriptor holds it.
    func lock(_ fd: Int32, path: String) throws(StoreError)
}

extension FileIO {
    /// An implementation without write-back control leaves all writing to the next sync.
    func startWriteBack(_ fd: Int32, path: String, offset: Int64, length: Int64) {}

    /// An implementation that cannot link says so as the system does across file systems
    /// (`EXDEV`): callers then copy the bytes instead.
    func link(_ existing: String, to new: String) throws(StoreError) {
        throw .system("link to \(new)", path: existing, errno: EXDEV)
    }

    /// Reads exactly `buffer.count` bytes at `offset`, or throws `corrupted` if the file ends first.
    func readExactly(_ fd: Int32, path: String, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StoreError) {
        var done = 0
        while done < buffer.count {
            let n = try read(fd, path: path, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + Int64(done))
            if n == 0 {
                throw StoreError.corrupted("file ends before \(buffer.count) bytes at \(offset)", path: path, offset: UInt64(offset) + UInt64(done))
            }
            done += n
        }
    }

    /// Reads a whole (small) file into memory.
    func readWholeFile(_ path: String) throws(StoreError) -> [UInt8] {
        let fd = try open(path, [], permissions: 0)
        defer { close(fd) }
        let length = try size(fd, path: path)
        guard length <= Int64(Limits.batchByteCountMax) * 4 else {
            throw StoreError.corrupted("file of \(length) bytes is larger than expected", path: path)
        }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        var failure: StoreError?
        bytes.withUnsafeMutableBytes { buffer in
            do throws(StoreError) { try readExactly(fd, path: path, into: buffer, at: 0) } catch { failure = error }
        }
        if let failure { throw failure }
        return bytes
    }

    /// The first `count` bytes of a file (fewer if it is shorter).
    func readPrefix(_ path: String, count: Int) throws(StoreError) -> [UInt8] {
        let fd = try open(path, [], permissions: 0)
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withMutableBytes { (raw) throws(StoreError) in try read(fd, path: path, into: raw, at: 0) }
        return Array(bytes.prefix(n))
    }

    /// Creates `path` with `bytes`, fsyncs it: the durable first half of an atomic publish.
    func writeNewFile(_ path: String, _ bytes: [UInt8], permissions: UInt32) throws(StoreError) {
        let fd = try open(path, [.write, .create, .exclusive], permissions: permissions)
        defer { close(fd) }
        var failure: StoreError?
        bytes.withUnsafeBytes { buffer in
            do throws(StoreError) { try write(fd, path: path, buffer, at: 0) } catch { failure = error }
        }
        if let failure { throw failure }
        try sync(fd, path: path)
    }
}
