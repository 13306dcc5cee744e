//! Large zero-filled tables straight from the kernel: the memtable's hash slots and version
//! chunks.
//!
//! Why: a replay of millions of small records builds tables of hundreds of MiB. From malloc,
//! each 4 KiB page costs a fault and a clear on first touch, and the tables were also filled
//! with their empty value before use. Anonymous mappings come zeroed (the empty value of both
//! tables is all zeros, so nothing is written up front) and, from 2 MiB, start on a 2 MiB
//! boundary and are advised to use huge pages: one fault per 2 MiB instead of 512.
//!
//! Unsafe code: maps and unmaps raw memory; callers get the exact byte count they asked for
//! and must hand back the same buffer.

#if canImport(Glibc)
import Glibc
#endif

/// Zero-filled, page-aligned allocations for large tables.
enum ZeroedPages {
    /// Below this size an allocation comes from calloc: a mapping per small table would waste
    /// most of a page and a system call.
    static let mappingThreshold = 256 << 10

    /// `MADV_POPULATE_WRITE` (Linux 5.14), which Glibc's module does not name yet. Older
    /// kernels refuse it, and the pages then fault in on first touch as before.
    static let populateWrite: Int32 = 23

    /// `byteCount` zeroed bytes, freed with ``deallocate(_:)``.
    ///
    /// - Parameter populate: the caller will write all of it soon (a hash table's slots, which
    ///   keys reach in random order): its pages are faulted in now, writable, in one call.
    ///   Otherwise a probe's read maps the shared zero page and the insert's write then replaces
    ///   it, a second fault that also flushes the other cores' TLBs: a quarter of a small
    ///   record load's memtable time went to such faults in growing tables.
    static func allocate(byteCount: Int, populate: Bool = false) -> UnsafeMutableRawBufferPointer {
        precondition(byteCount > 0, "an empty table needs no memory")
        if byteCount < mappingThreshold {
            guard let raw = calloc(1, byteCount) else { fatalError("out of memory allocating \(byteCount) bytes") }
            return UnsafeMutableRawBufferPointer(start: raw, count: byteCount)
        }
        #if os(Linux)
        if byteCount >= hugePageByteCount {
            let raw = alignedMapping(byteCount: byteCount)
            Syscalls.advise(raw, length: byteCount, advice: MADV_HUGEPAGE)
            if populate { Syscalls.advise(raw, length: byteCount, advice: populateWrite) }
            return UnsafeMutableRawBufferPointer(start: raw, count: byteCount)
        }
        #endif
        switch Syscalls.mapAnonymous(length: byteCount) {
        case .success(let raw):
            #if os(Linux)
            if populate { Syscalls.advise(raw, length: byteCount, advice: populateWrite) }
            #endif
            return UnsafeMutableRawBufferPointer(start: raw, count: byteCount)
        case .failure(let errno):
            fatalError("out of memory mapping \(byteCount) bytes: \(errno)")
        }
    }

    /// The size of a huge page on x86-64 and most arm64 kernels.
    static let hugePageByteCount = 2 << 20

    /// `byteCount` bytes of fresh mapping starting on a huge-page boundary.
    ///
    /// Why: the kernel backs only the whole 2 MiB-aligned ranges of a mapping with huge pages,
    /// and `mmap` returns 4 KiB-aligned addresses: a 2 MiB table (a dimension's 2^18 hash
    /// slots) or a 2.5 MiB version chunk mostly held no aligned range at all, and every page
    /// of it faulted and cleared alone, and missed the TLB alone on each random probe. The
    /// mapping is made 2 MiB larger and trimmed to the aligned part, so ``deallocate(_:)``
    /// unmaps exactly what the caller holds.
    private static func alignedMapping(byteCount: Int) -> UnsafeMutableRawPointer {
        let padded = byteCount + hugePageByteCount
        switch Syscalls.mapAnonymous(length: padded) {
        case .success(let raw):
            let address = UInt(bitPattern: raw)
            let aligned = (address + UInt(hugePageByteCount) - 1) & ~(UInt(hugePageByteCount) - 1)
            let head = Int(aligned - address)
            let tail = padded - head - byteCount
            // Safe: `head + byteCount + tail == padded`, all inside the mapping just made.
            if head > 0 { Syscalls.unmap(raw, length: head) }
            if tail > 0 { Syscalls.unmap(raw + head + byteCount, length: tail) }
            return raw + head
        case .failure(let errno):
            fatalError("out of memory mapping \(padded) bytes: \(errno)")
        }
    }

    /// Gives back a buffer from ``allocate(byteCount:)``.
    static func deallocate(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        if buffer.count < mappingThreshold { free(base) } else { Syscalls.unmap(base, length: buffer.count) }
    }
}
