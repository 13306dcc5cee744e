//! A whole file mapped read-only on first use, not when it is opened.
//!
//! Why: an open maps every listed segment, and one `mmap` costs more than all of the open's
//! other work on that segment (perf: 17% of a cold open to the first value, 20 segments). A
//! process that opens a store to read one value uses one of them. The file stays open until it
//! is mapped, so a segment a writer unlinks meanwhile (compaction) is still mapped whole.
//!
//! Invariants:
//! - `base` is 0 until the mapping exists, then its address for good; `region` owns it.
//! - `fd` is open exactly while the file is not mapped.
//! - Every pointer handed out lies inside `0 ..< count` (checked before it is formed).
//!
//! Unsafe code: this is one of the files that form raw pointers.

import Synchronization

/// A read-only mapping of a file's first `count` bytes, made on first use.
final class DeferredRegion: @unchecked Sendable {
    // Safe to share: `fd` and `region` change only under `lock`; `base` is published with a
    // release store after the mapping exists, and read with an acquire load.
    private let lock = Lock()
    private var fd: Int32
    private var region: MmapRegion?
    private let base = Atomic<UInt>(0)
    /// The mapped length in bytes.
    let count: Int
    let path: String
    private let io: any FileIO
    private let manager: MmapManager

    /// Takes ownership of `fd` (open for reading, at least `count` bytes long): it is closed
    /// once the file is mapped, or when `self` goes away unmapped.
    init(io: any FileIO, fd: Int32, path: String, count: Int, manager: MmapManager) {
        precondition(count > 0, "cannot map an empty file")
        self.io = io
        self.fd = fd
        self.path = path
        self.count = count
        self.manager = manager
    }

    /// Maps the file now (a segment that is about to be read anyway, or a caller that wants
    /// mapping errors at once).
    func mapNow() throws(StoreError) {
        _ = try mappedBase()
    }

    deinit {
        if fd >= 0 { io.close(fd) }
    }

    /// Gives `fd` back to the caller unclosed (an unmapped region whose owner failed to open:
    /// the caller that handed the descriptor over closes it, or tries again).
    func release() {
        lock.withLock { if region == nil { fd = -1 } }
    }

    /// The bytes in `range`, or `nil` if the range does not lie inside the file; maps it first
    /// if this is the first use.
    /// - Throws: the mapping's failure (`ioFailure`, or `noSpace` for address space).
    @inline(__always)
    func bytes(_ range: Range<Int>) throws(StoreError) -> UnsafeRawBufferPointer? {
        guard range.lowerBound >= 0, range.upperBound <= count else { return nil }
        var address = base.load(ordering: .acquiring)
        if address == 0 { address = try mappedBase() }
        // Safe: the range was just checked against the mapping's bounds, and the mapping lives
        // as long as `self`.
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: address)! + range.lowerBound, count: range.count)
    }

    /// The mapping itself, made if needed (backups write from it, tests look at its address).
    func mapped() throws(StoreError) -> MmapRegion {
        _ = try mappedBase()
        return lock.withLock { region! }
    }

    /// Whether the file is mapped yet.
    var isMapped: Bool { base.load(ordering: .acquiring) != 0 }

    private func mappedBase() throws(StoreError) -> UInt {
        try lock.withLock { () throws(StoreError) -> UInt in
            if let region { return UInt(bitPattern: region.bytes.baseAddress!) }
            let made = try MmapRegion(io: io, fd: fd, path: path, count: count, manager: manager)
            made.advise(manager.segmentAdvice)
            io.close(fd)
            fd = -1
            region = made
            let address = UInt(bitPattern: made.bytes.baseAddress!)
            base.store(address, ordering: .releasing)
            return address
        }
    }
}
