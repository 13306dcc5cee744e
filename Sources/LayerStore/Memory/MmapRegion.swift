//! One read-only (or, while a segment is being built, writable) mapping of one file.
//!
//! Invariants:
//! - `base ..< base + count` stays mapped for the region's whole life; `deinit` unmaps it.
//! - A region handed to readers is never written through: segments are immutable once published.
//! - Every pointer derived from a region is checked against `count` before it is formed; readers
//!   keep the region (through their snapshot) alive for as long as they use such a pointer.
//!
//! Unsafe code: this is one of the four files that form raw pointers.

import Synchronization

/// A mapping of a file's first `count` bytes, unmapped when the last reference goes away.
package final class MmapRegion: @unchecked Sendable {
    // Safe to share: the pointer and the length never change after init, and the mapped bytes of
    // a published file are never written; unmapping happens only in deinit, when nobody refers to
    // the region any more.
    private let base: UnsafeMutableRawPointer
    /// The mapped length in bytes.
    package let count: Int
    /// The file that was mapped (for error messages).
    package let path: String
    private let manager: MmapManager

    /// Maps `count` bytes of the open file `fd`. The caller may close `fd` afterwards: the mapping
    /// keeps the file's pages reachable, even if the file is later unlinked.
    package init(
        io: any FileIO, fd: Int32, path: String, count: Int, writable: Bool = false, manager: MmapManager
    ) throws(StoreError) {
        precondition(count > 0, "cannot map an empty file")
        self.base = try io.map(fd, path: path, length: count, writable: writable)
        self.count = count
        self.path = path
        self.manager = manager
        manager.didMap(self)
    }

    deinit {
        Syscalls.unmap(base, length: count)
        manager.didUnmap(count)
    }

    /// All mapped bytes. Valid while `self` is alive; callers keep `self` alive around any use.
    package var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    /// The bytes in `range`, or `nil` if the range does not lie inside the mapping.
    @inline(__always)
    package func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer? {
        guard range.lowerBound >= 0, range.upperBound <= count else { return nil }
        // Safe: the range was just checked against the mapping's bounds.
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Writable access while a new segment is built through its mapping (never after publish).
    package func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(StoreError) -> R) throws(StoreError) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// Writes dirty pages back and waits: `msync(MS_SYNC)`.
    package func sync(io: any FileIO) throws(StoreError) {
        try io.syncMapping(base, length: count, path: path)
    }

    /// Tells the kernel how the region will be read.
    package func advise(_ advice: MmapManager.Advice) {
        // A new mapping already has the default advice: no system call for it (an open maps
        // every segment, and each call counts there).
        guard advice != .normal else { return }
        Syscalls.advise(base, length: count, advice: advice.rawValue)
    }
}
