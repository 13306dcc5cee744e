//! Page-aligned, reusable buffers (ADR-001, phase 3): the memtable's arena chunks and the block
//! cache's decoded blocks come from here and return here, so a store in its steady state reuses
//! the same memory instead of asking malloc (and, for large sizes, the kernel) again.
//!
//! Invariants:
//! - A buffer's capacity is its size class: a power of two of at least one page. Buffers larger
//!   than the largest class are allocated and freed directly.
//! - The pool keeps at most `retainedByteCountMax` bytes of free buffers; beyond that a released
//!   buffer is freed.
//! - Buffers come out uninitialised-but-owned and go back whole: the pool never hands the same
//!   buffer to two owners.
//!
//! Unsafe code: allocates, reuses and frees raw memory.

import Synchronization

/// A pool of page-aligned buffers in power-of-two size classes.
package final class PoolAllocator: @unchecked Sendable {
    /// The pool the store's components share.
    package static let shared = PoolAllocator(retainedByteCountMax: 256 << 20)

    /// The smallest size class: one page.
    static let smallestClassByteCount = max(4096, Syscalls.pageSize)
    /// The largest pooled class; larger buffers bypass the pool.
    static let largestClassByteCount = 64 << 20

    // Safe to share: the free lists and counters are only touched with `lock` held.
    private let lock = Lock()
    private var free: [Int: [UnsafeMutableRawBufferPointer]] = [:]
    private var retainedByteCount = 0
    private let retainedByteCountMax: Int
    private let allocations = Atomic<Int>(0)
    private let reuses = Atomic<Int>(0)

    package init(retainedByteCountMax: Int) {
        self.retainedByteCountMax = retainedByteCountMax
    }

    /// The size class that holds `byteCount` bytes.
    static func sizeClass(_ byteCount: Int) -> Int {
        var size = smallestClassByteCount
        while size < byteCount { size <<= 1 }
        return size
    }

    /// A page-aligned buffer of at least `byteCount` bytes (its count is the size class).
    package func allocate(_ byteCount: Int) -> UnsafeMutableRawBufferPointer {
        let size = PoolAllocator.sizeClass(byteCount)
        if size <= PoolAllocator.largestClassByteCount, let reused = lock.withLock({ () -> UnsafeMutableRawBufferPointer? in
            guard let buffer = free[size]?.popLast() else { return nil }
            retainedByteCount -= size
            return buffer
        }) {
            reuses.wrappingAdd(1, ordering: .relaxed)
            return reused
        }
        allocations.wrappingAdd(1, ordering: .relaxed)
        return .allocate(byteCount: size, alignment: PoolAllocator.smallestClassByteCount)
    }

    /// Gives a buffer from ``allocate(_:)`` back; it must not be used afterwards.
    package func release(_ buffer: UnsafeMutableRawBufferPointer) {
        let size = buffer.count
        precondition(size == PoolAllocator.sizeClass(size), "released a buffer this pool did not hand out")
        let kept = size <= PoolAllocator.largestClassByteCount && lock.withLock { () -> Bool in
            guard retainedByteCount + size <= retainedByteCountMax else { return false }
            free[size, default: []].append(buffer)
            retainedByteCount += size
            return true
        }
        if !kept { buffer.deallocate() }
    }

    /// (fresh allocations, reuses) since creation.
    package var statistics: (allocations: Int, reuses: Int) {
        (allocations.load(ordering: .relaxed), reuses.load(ordering: .relaxed))
    }

    deinit {
        for buffers in free.values { for buffer in buffers { buffer.deallocate() } }
    }
}
