//! The only file that calls libc for file operations. Every call retries on `EINTR` and returns
//! `Result<_, Errno>`-shaped values (`-errno` on failure is never leaked upward): callers get an
//! `Int32` errno to turn into a ``StoreError`` in one place.
//!
//! Unsafe code: pointers passed in are lent for the duration of one call and never stored.

import CWriteBack
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Syscalls {
    /// Repeats `body` while it fails with `EINTR`; returns its result or `-errno`.
    @inline(__always)
    private static func retrying(_ body: () -> Int) -> Result<Int, Errno> {
        while true {
            let result = body()
            if result >= 0 { return .success(result) }
            let code = errno
            if code != EINTR { return .failure(Errno(code)) }
        }
    }

    /// The corresponding C function is `open(2)` with `O_CLOEXEC`.
    static func open(_ path: String, flags: Int32, mode: mode_t) -> Result<Int32, Errno> {
        retrying { Int(Glibc.open(path, flags | O_CLOEXEC, mode)) }.map { Int32($0) }
    }

    /// The corresponding C function is `close(2)`. `EINTR` is not retried: on Linux the
    /// descriptor is released either way, and a retry could close a reused number.
    static func close(_ fd: Int32) -> Result<Void, Errno> {
        Glibc.close(fd) == 0 ? .success(()) : .failure(Errno(errno))
    }

    /// The corresponding C function is `pread(2)`; one call, possibly short.
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int64) -> Result<Int, Errno> {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .success(0) }
        return retrying { Glibc.pread(fd, base, buffer.count, off_t(offset)) }
    }

    /// The corresponding C function is `pwrite(2)`; one call, possibly short.
    static func pwrite(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int64) -> Result<Int, Errno> {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .success(0) }
        return retrying { Glibc.pwrite(fd, base, buffer.count, off_t(offset)) }
    }

    /// The corresponding C function is `fsync(2)`; on Apple platforms `fcntl(F_FULLFSYNC)`, since
    /// a plain `fsync` there does not flush the drive's cache.
    static func fsync(_ fd: Int32) -> Result<Void, Errno> {
        #if canImport(Darwin)
        if fcntl(fd, F_FULLFSYNC) == 0 { return .success(()) }
        #endif
        return retrying { Int(Glibc.fsync(fd)) }.map { _ in () }
    }

    /// The corresponding C function is `fdatasync(2)`; on Apple platforms `fcntl(F_FULLFSYNC)`.
    static func fdatasync(_ fd: Int32) -> Result<Void, Errno> {
        #if canImport(Darwin)
        return fsync(fd)
        #else
        return retrying { Int(Glibc.fdatasync(fd)) }.map { _ in () }
        #endif
    }

    /// Starts writing the file's dirty pages in `[offset, offset + length)` to the device without
    /// waiting (Linux's `sync_file_range(2)` with `SYNC_FILE_RANGE_WRITE`; nothing elsewhere).
    /// Durability still needs a sync: this neither flushes the device's cache nor metadata.
    static func startWriteBack(_ fd: Int32, offset: Int64, length: Int64) -> Result<Void, Errno> {
        #if os(Linux)
        while true {
            let code = layerstore_start_write_back(fd, offset, length)
            if code == 0 { return .success(()) }
            if code != EINTR { return .failure(Errno(code)) }
        }
        #else
        return .failure(Errno(ENOSYS))
        #endif
    }

    /// The corresponding C function is `posix_fallocate(3)`, which returns its error directly.
    static func fallocate(_ fd: Int32, offset: Int64, length: Int64) -> Result<Void, Errno> {
        while true {
            let code = posix_fallocate(fd, off_t(offset), off_t(length))
            if code == 0 { return .success(()) }
            if code != EINTR { return .failure(Errno(code)) }
        }
    }

    /// The corresponding C function is `ftruncate(2)`.
    static func ftruncate(_ fd: Int32, length: Int64) -> Result<Void, Errno> {
        retrying { Int(Glibc.ftruncate(fd, off_t(length))) }.map { _ in () }
    }

    /// The file's size in bytes (`fstat(2)`).
    static func fileSize(_ fd: Int32) -> Result<Int64, Errno> {
        var info = stat()
        return retrying { Int(fstat(fd, &info)) }.map { _ in Int64(info.st_size) }
    }

    /// The corresponding C function is `rename(2)`.
    static func rename(_ from: String, _ to: String) -> Result<Void, Errno> {
        retrying { Int(Glibc.rename(from, to)) }.map { _ in () }
    }

    /// The corresponding C function is `link(2)`.
    static func link(_ existing: String, _ new: String) -> Result<Void, Errno> {
        retrying { Int(Glibc.link(existing, new)) }.map { _ in () }
    }

    /// The corresponding C function is `unlink(2)`.
    static func unlink(_ path: String) -> Result<Void, Errno> {
        retrying { Int(Glibc.unlink(path)) }.map { _ in () }
    }

    /// The corresponding C function is `mkdir(2)`.
    static func mkdir(_ path: String, mode: mode_t) -> Result<Void, Errno> {
        retrying { Int(Glibc.mkdir(path, mode)) }.map { _ in () }
    }

    /// The corresponding C function is `fchmod(2)`.
    static func fchmod(_ fd: Int32, mode: mode_t) -> Result<Void, Errno> {
        retrying { Int(Glibc.fchmod(fd, mode)) }.map { _ in () }
    }

    /// The corresponding C function is `chmod(2)`.
    static func chmod(_ path: String, mode: mode_t) -> Result<Void, Errno> {
        retrying { Int(Glibc.chmod(path, mode)) }.map { _ in () }
    }

    /// What is at `path`: nothing, a directory, or another kind of file.
    static func kind(of path: String) -> Result<FileKind, Errno> {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            return code == ENOENT ? .success(.missing) : .failure(Errno(code))
        }
        return .success((info.st_mode & S_IFMT) == S_IFDIR ? .directory : .file)
    }

    /// The names in a directory, without `.` and `..`, unsorted.
    static func listDirectory(_ path: String) -> Result<[String], Errno> {
        guard let dir = opendir(path) else { return .failure(Errno(errno)) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names)
    }

    /// The corresponding C function is `flock(2)` with `LOCK_EX | LOCK_NB`.
    static func lockExclusive(_ fd: Int32) -> Result<Void, Errno> {
        retrying { Int(flock(fd, LOCK_EX | LOCK_NB)) }.map { _ in () }
    }

    /// The corresponding C function is `mmap(2)` of a whole file from offset 0.
    static func map(_ fd: Int32, length: Int, writable: Bool) -> Result<UnsafeMutableRawPointer, Errno> {
        let protection = writable ? (PROT_READ | PROT_WRITE) : PROT_READ
        let pointer = mmap(nil, length, protection, MAP_SHARED, fd, 0)
        guard let pointer, pointer != MAP_FAILED else { return .failure(Errno(errno)) }
        return .success(pointer)
    }

    /// The corresponding C function is `mmap(2)` of private anonymous memory: zero-filled pages
    /// the kernel provides on first touch.
    static func mapAnonymous(length: Int) -> Result<UnsafeMutableRawPointer, Errno> {
        let pointer = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let pointer, pointer != MAP_FAILED else { return .failure(Errno(errno)) }
        return .success(pointer)
    }

    /// The corresponding C function is `munmap(2)`.
    static func unmap(_ pointer: UnsafeMutableRawPointer, length: Int) {
        let result = munmap(pointer, length)
        assert(result == 0, "munmap of a region we mapped cannot fail")
    }

    /// The corresponding C function is `msync(2)` with `MS_SYNC`.
    static func msync(_ pointer: UnsafeMutableRawPointer, length: Int) -> Result<Void, Errno> {
        retrying { Int(Glibc.msync(pointer, length, MS_SYNC)) }.map { _ in () }
    }

    /// The corresponding C function is `madvise(2)`; advice is a hint, failures are ignored.
    static func advise(_ pointer: UnsafeMutableRawPointer, length: Int, advice: Int32) {
        _ = madvise(pointer, length, advice)
    }

    /// Bytes available to an unprivileged writer on the file system holding `path` (`statvfs`).
    static func availableBytes(_ path: String) -> Result<UInt64, Errno> {
        var info = statvfs()
        if statvfs(path, &info) != 0 { return .failure(Errno(errno)) }
        return .success(UInt64(info.f_bavail) * UInt64(info.f_frsize))
    }

    /// The system's page size in bytes.
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// An operating system error number.
struct Errno: Error, Equatable {
    let rawValue: Int32
    init(_ rawValue: Int32) { self.rawValue = rawValue }
}

/// What a path names.
package enum FileKind: Equatable, Sendable {
    case missing, directory, file
}

extension Syscalls {
    /// Nanoseconds of a monotonic clock, for durations.
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Nanoseconds since the Unix epoch (`CLOCK_REALTIME`): segment timestamps for cold tiering.
    static func wallClockNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
