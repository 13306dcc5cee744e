//! The one error type of LayerStore's public API.
//!
//! Every failure a caller can meet — bad arguments, damaged files, a full disk, a second writer,
//! a closed store — surfaces as a `StoreError` with a matchable `code`, a message meant for a
//! person, and where it applies the file, the byte offset and the operating system's errno.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error thrown by a ``Store``, a ``Snapshot`` or one of LayerStore's tools.
///
/// Match on ``code`` to decide what to do; show ``description`` to a person:
/// ```swift
/// do { try Store(path: dir) } catch where error.code == .locked { … }
/// ```
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Stable: tools and callers switch on it.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// An argument is malformed: an invalid dimension name, an empty key, a bad option.
        case invalidArgument
        /// A key, value, batch or name is larger than ``Limits`` allows.
        case limitExceeded
        /// The store directory does not exist and the options do not allow creating it.
        case storeNotFound
        /// The directory exists but holds no LayerStore store (and is not empty).
        case notAStore
        /// The store was written by a newer format version than this library reads.
        case unsupportedFormat
        /// Another writer (this process or another) holds the store's `LOCK`.
        case locked
        /// A write was attempted on a store opened read-only.
        case readOnly
        /// The store was closed.
        case closed
        /// A file's bytes fail their checksum or their structure: damage, not a crash artefact.
        case corrupted
        /// The disk is full (`ENOSPC` / `EDQUOT`); nothing that failed was acknowledged.
        case noSpace
        /// An operating-system call failed; ``errno`` says how.
        case ioFailure
        /// An earlier durability failure (a failed `fsync`) stopped the writer. Every later write
        /// fails with this code until the store is closed, reopened and recovered.
        case writerFailed
        /// Stored bytes could not be decoded as the type a convenience API was asked for (wrong
        /// length, invalid UTF-8, or the ``ValueCoder`` failed). The bytes are intact: read them
        /// with the bytes API.
        case decodingFailed
    }

    /// The kind of failure.
    public let code: Code
    /// A sentence for a person: what failed and, where known, why.
    public let message: String
    /// The file or directory involved, if any.
    public let path: String?
    /// The byte offset in ``path`` where damage was found, if any.
    public let offset: UInt64?
    /// The operating system's error number, if a system call failed.
    public let errno: Int32?

    /// Creates an error. Tools and tests use this; the library builds its errors internally.
    public init(
        _ code: Code, _ message: String, path: String? = nil, offset: UInt64? = nil, errno: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
    }

    /// The code, the message, and the file, offset and errno where known, on one line.
    public var description: String {
        var text = "\(code.rawValue): \(message)"
        if let path { text += " [\(path)" + (offset.map { " @ \($0)" } ?? "") + "]" }
        if let errno { text += " (errno \(errno): \(String(cString: strerror(errno))))" }
        return text
    }

    /// An error for a failed system call, classified by errno (a full disk is ``Code/noSpace``).
    static func system(_ operation: String, path: String?, errno: Int32) -> StoreError {
        let code: Code = (errno == ENOSPC || errno == EDQUOT) ? .noSpace : .ioFailure
        return StoreError(code, "\(operation) failed", path: path, errno: errno)
    }

    /// An error for bytes that fail their checksum or structure.
    static func corrupted(_ message: String, path: String?, offset: UInt64? = nil) -> StoreError {
        StoreError(.corrupted, message, path: path, offset: offset)
    }
}
