//! Append-only byte storage whose buffers never move: bytes copied in stay at the same address
//! until the arena is freed, so borrowed views of them stay valid for the arena's lifetime.
//!
//! Unsafe code: allocates and frees raw chunks; every copy is bounds-checked against its chunk.

/// Raw chunks of bytes, freed together when the arena goes away. Not thread-safe: its owner
/// serialises appends (the memtable under its lock; a scan on its own thread).
final class ByteArena {
    // Its owner serialises every use (above): the dynamic exclusivity checks Swift would make
    // on each copy only cost time.
    @exclusivity(unchecked) private var chunks: [UnsafeMutableRawBufferPointer] = []
    @exclusivity(unchecked) private var used = 0
    private let chunkByteCount: Int
    private let pool: PoolAllocator

    /// - Parameter pool: where chunks come from and go back to.
    init(chunkByteCount: Int = 1 << 16, pool: PoolAllocator = .shared) {
        precondition(chunkByteCount > 0)
        self.chunkByteCount = chunkByteCount
        self.pool = pool
    }

    deinit {
        for chunk in chunks { pool.release(chunk) }
    }

    /// Copies `bytes` in and returns a view of the copy, valid while the arena lives.
    func copy(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        if bytes.isEmpty { return UnsafeRawBufferPointer(start: nil, count: 0) }
        if chunks.isEmpty || used + bytes.count > chunks[chunks.count - 1].count {
            chunks.append(pool.allocate(max(chunkByteCount, bytes.count)))
            used = 0
        }
        let chunk = chunks[chunks.count - 1]
        // Safe: `used + bytes.count <= chunk.count` holds by the check above.
        let target = UnsafeMutableRawBufferPointer(rebasing: chunk[used..<(used + bytes.count)])
        target.copyMemory(from: bytes)
        used += bytes.count
        return UnsafeRawBufferPointer(target)
    }

    /// Copies an array's bytes in.
    func copy(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        bytes.withUnsafeBytes { copy($0) }
    }
}

/// A run of bytes compared and hashed by content: the memtable's keys and values, which live in
/// its arena (stable for the memtable's life), and lookup probes pointing at a caller's key for
/// the duration of one lookup.
struct ArenaBytes: Hashable {
    // Safe: either points into an arena that outlives the struct (the memtable owns both), or
    // is a probe used only while the caller's buffer is alive.
    let buffer: UnsafeRawBufferPointer

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    static func == (a: ArenaBytes, b: ArenaBytes) -> Bool { keysEqual(a.buffer, b.buffer) }

    func hash(into hasher: inout Hasher) { hasher.combine(bytes: buffer) }

    /// A copy as an array.
    var array: [UInt8] { [UInt8](buffer) }
}
