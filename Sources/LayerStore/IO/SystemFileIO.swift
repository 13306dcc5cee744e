//! The production ``FileIO``: each operation is one system call from ``Syscalls``, with its
//! errno turned into a ``StoreError`` naming the operation and the path.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The ``FileIO`` that talks to the operating system.
package struct SystemFileIO: FileIO {
    /// How long a writer open tries a held lock again before it fails (``lock(_:path:)``).
    package var lockRetryNanoseconds = SystemFileIO.defaultLockRetryNanoseconds

    package init() {}

    /// - Parameter lockRetryNanoseconds: how long a writer open tries a held lock again (tests).
    package init(lockRetryNanoseconds: UInt64) {
        self.lockRetryNanoseconds = lockRetryNanoseconds
    }

    /// A file this call creates gets exactly `permissions`, whatever the process's umask
    /// (``StoreOptions/filePermissions``); an existing file keeps its mode. To know whether it
    /// creates the file, a create that is not exclusive first tries an exclusive one.
    package func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StoreError) -> Int32 {
        var flags: Int32 = options.contains(.write) ? O_RDWR : O_RDONLY
        if options.contains(.create) { flags |= O_CREAT }
        if options.contains(.exclusive) { flags |= O_EXCL }
        if options.contains(.directory) { flags = O_RDONLY | O_DIRECTORY }
        if flags & O_CREAT != 0 && flags & O_EXCL == 0 {
            switch Syscalls.open(path, flags: flags | O_EXCL, mode: mode_t(permissions)) {
            case .success(let fd): return try setMode(fd, path: path, permissions)
            case .failure(let e) where e.rawValue == EEXIST: flags &= ~O_CREAT
            case .failure(let e): throw .system("open", path: path, errno: e.rawValue)
            }
        }
        switch Syscalls.open(path, flags: flags, mode: mode_t(permissions)) {
        case .success(let fd): return flags & O_CREAT != 0 ? try setMode(fd, path: path, permissions) : fd
        case .failure(let e): throw .system("open", path: path, errno: e.rawValue)
        }
    }

    /// Gives the file just created as `fd` exactly `permissions` (`open` applied the umask).
    private func setMode(_ fd: Int32, path: String, _ permissions: UInt32) throws(StoreError) -> Int32 {
        if case .failure(let e) = Syscalls.fchmod(fd, mode: mode_t(permissions)) {
            _ = Syscalls.close(fd)
            throw .system("fchmod", path: path, errno: e.rawValue)
        }
        return fd
    }

    package func close(_ fd: Int32) { _ = Syscalls.close(fd) }

    package func read(_ fd: Int32, path: String, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StoreError) -> Int {
        switch Syscalls.pread(fd, buffer, offset: offset) {
        case .success(let n): return n
        case .failure(let e): throw .system("pread", path: path, errno: e.rawValue)
        }
    }

    package func write(_ fd: Int32, path: String, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StoreError) {
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            switch Syscalls.pwrite(fd, rest, offset: offset + Int64(done)) {
            case .success(0): throw .system("pwrite", path: path, errno: ENOSPC)
            case .success(let n): done += n
            case .failure(let e): throw .system("pwrite", path: path, errno: e.rawValue)
            }
        }
    }

    package func sync(_ fd: Int32, path: String) throws(StoreError) {
        if case .failure(let e) = Syscalls.fsync(fd) { throw .system("fsync", path: path, errno: e.rawValue) }
    }

    package func syncData(_ fd: Int32, path: String) throws(StoreError) {
        if case .failure(let e) = Syscalls.fdatasync(fd) { throw .system("fdatasync", path: path, errno: e.rawValue) }
    }

    /// Failures are ignored: the sync that follows writes the range anyway and reports errors.
    package func startWriteBack(_ fd: Int32, path: String, offset: Int64, length: Int64) {
        _ = Syscalls.startWriteBack(fd, offset: offset, length: length)
    }

    package func allocate(_ fd: Int32, path: String, offset: Int64, length: Int64) throws(StoreError) {
        if case .failure(let e) = Syscalls.fallocate(fd, offset: offset, length: length) {
            throw .system("posix_fallocate", path: path, errno: e.rawValue)
        }
    }

    package func truncate(_ fd: Int32, path: String, length: Int64) throws(StoreError) {
        if case .failure(let e) = Syscalls.ftruncate(fd, length: length) { throw .system("ftruncate", path: path, errno: e.rawValue) }
    }

    package func size(_ fd: Int32, path: String) throws(StoreError) -> Int64 {
        switch Syscalls.fileSize(fd) {
        case .success(let n): return n
        case .failure(let e): throw .system("fstat", path: path, errno: e.rawValue)
        }
    }

    package func map(_ fd: Int32, path: String, length: Int, writable: Bool) throws(StoreError) -> UnsafeMutableRawPointer {
        switch Syscalls.map(fd, length: length, writable: writable) {
        case .success(let p): return p
        case .failure(let e): throw .system("mmap", path: path, errno: e.rawValue)
        }
    }

    package func syncMapping(_ pointer: UnsafeMutableRawPointer, length: Int, path: String) throws(StoreError) {
        if case .failure(let e) = Syscalls.msync(pointer, length: length) { throw .system("msync", path: path, errno: e.rawValue) }
    }

    package func rename(_ from: String, to: String) throws(StoreError) {
        if case .failure(let e) = Syscalls.rename(from, to) { throw .system("rename to \(to)", path: from, errno: e.rawValue) }
    }

    package func link(_ existing: String, to new: String) throws(StoreError) {
        if case .failure(let e) = Syscalls.link(existing, new) { throw .system("link to \(new)", path: existing, errno: e.rawValue) }
    }

    package func remove(_ path: String) throws(StoreError) {
        if case .failure(let e) = Syscalls.unlink(path) { throw .system("unlink", path: path, errno: e.rawValue) }
    }

    /// The new directory gets exactly `permissions`, whatever the umask (as files do in `open`).
    package func makeDirectory(_ path: String, permissions: UInt32) throws(StoreError) {
        if case .failure(let e) = Syscalls.mkdir(path, mode: mode_t(permissions)) { throw .system("mkdir", path: path, errno: e.rawValue) }
        if case .failure(let e) = Syscalls.chmod(path, mode: mode_t(permissions)) { throw .system("chmod", path: path, errno: e.rawValue) }
    }

    package func syncDirectory(_ path: String) throws(StoreError) {
        let fd = try open(path, [.directory], permissions: 0)
        defer { close(fd) }
        try sync(fd, path: path)
    }

    package func list(_ path: String) throws(StoreError) -> [String] {
        switch Syscalls.listDirectory(path) {
        case .success(let names): return names.sorted()
        case .failure(let e): throw .system("opendir", path: path, errno: e.rawValue)
        }
    }

    package func kind(of path: String) throws(StoreError) -> FileKind {
        switch Syscalls.kind(of: path) {
        case .success(let k): return k
        case .failure(let e): throw .system("stat", path: path, errno: e.rawValue)
        }
    }

    package func availableByteCount(_ path: String) throws(StoreError) -> UInt64 {
        switch Syscalls.availableBytes(path) {
        case .success(let n): return n
        case .failure(let e): throw .system("statvfs", path: path, errno: e.rawValue)
        }
    }

    /// By default a held lock is tried again for this long before the open fails `locked`.
    ///
    /// Why: a lock found held may be our own, just released. A child process holds a copy of
    /// every descriptor of its parent from its fork until its exec closes the `O_CLOEXEC` ones,
    /// and a `flock` lasts while any copy is open. So a store closed and opened again while
    /// another thread of the process spawns a program could find the lock it had just
    /// released still held, for as long as the child takes to reach its exec (the test suite,
    /// whose CLI tests spawn processes, saw this as a spurious `locked`). A real second writer
    /// holds the lock for longer than this and is refused as before.
    package static let defaultLockRetryNanoseconds: UInt64 = 50_000_000

    package func lock(_ fd: Int32, path: String) throws(StoreError) {
        let start = Syscalls.monotonicNanoseconds()
        while true {
            switch Syscalls.lockExclusive(fd) {
            case .success: return
            case .failure(let e) where e.rawValue == EWOULDBLOCK || e.rawValue == EAGAIN:
                guard Syscalls.monotonicNanoseconds() &- start < lockRetryNanoseconds else {
                    throw StoreError(.locked, "another writer holds the store", path: path, errno: e.rawValue)
                }
                // A child reaches its exec within microseconds to milliseconds.
                usleep(1_000)
            case .failure(let e):
                throw .system("flock", path: path, errno: e.rawValue)
            }
        }
    }
}
