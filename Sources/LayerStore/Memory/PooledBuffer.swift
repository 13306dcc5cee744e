//! A growable byte buffer whose storage comes from the ``PoolAllocator``: the WAL's record
//! staging buffer and the bytes of a segment being built. Growing takes the next size class
//! from the pool; the old storage goes back to it.
//!
//! Unsafe code: copies into pool storage, every copy checked against the capacity first.

/// Bytes in pool storage, appended to and handed out as a read-only view.
final class PooledBuffer {
    private var storage: UnsafeMutableRawBufferPointer
    private let pool: PoolAllocator
    /// The bytes written.
    private(set) var count = 0

    init(capacity: Int = 4096, pool: PoolAllocator = .shared) {
        self.pool = pool
        self.storage = pool.allocate(capacity)
    }

    deinit { pool.release(storage) }

    /// The bytes written. Valid until the next mutation, while `self` is alive.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<count]) }

    /// A copy as an array.
    var array: [UInt8] { [UInt8](bytes) }

    /// Makes room for `additional` more bytes.
    private func reserve(_ additional: Int) {
        let needed = count + additional
        guard needed > storage.count else { return }
        let larger = pool.allocate(needed)
        // Safe: `larger` holds at least `needed >= count` bytes.
        UnsafeMutableRawBufferPointer(rebasing: larger[0..<count]).copyMemory(from: bytes)
        pool.release(storage)
        storage = larger
    }

    /// Removes every byte, keeping the storage.
    func removeAll() { count = 0 }
}

extension PooledBuffer: ByteSink {
    func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { body(bytes) }

    func append(_ raw: UnsafeRawBufferPointer) {
        reserve(raw.count)
        // Safe: `reserve` made `count + raw.count <= storage.count`.
        UnsafeMutableRawBufferPointer(rebasing: storage[count..<(count + raw.count)]).copyMemory(from: raw)
        count += raw.count
    }

    func zeros(_ n: Int) {
        reserve(n)
        // Safe: as in `append`.
        UnsafeMutableRawBufferPointer(rebasing: storage[count..<(count + n)]).initializeMemory(as: UInt8.self, repeating: 0)
        count += n
    }

    func patch(bytes other: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + other.count <= count, "patch outside the written bytes")
        // Safe: the range lies inside the written bytes (checked above).
        UnsafeMutableRawBufferPointer(rebasing: storage[offset..<(offset + other.count)]).copyMemory(from: other)
    }
}
