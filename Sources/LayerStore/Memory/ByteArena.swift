//! Append-only byte storage whose buffers never move: bytes copied in stay at the same address
//! until the arena is freed, so borrowed views of them stay valid for the arena's lifetime.
//!
//! Unsafe code: allocates and frees raw chunks; every copy is bounds-checked against its chunk.

/// Raw chunks of bytes, freed together when the arena goes away.
final class ByteArena {
    private var chunks: [UnsafeMutableRawBufferPointer] = []
    private var used = 0
    private let chunkByteCount: Int

    init(chunkByteCount: Int = 1 << 16) {
        precondition(chunkByteCount > 0)
        self.chunkByteCount = chunkByteCount
    }

    deinit {
        for chunk in chunks { chunk.deallocate() }
    }

    /// Copies `bytes` in and returns a view of the copy, valid while the arena lives.
    func copy(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        if bytes.isEmpty { return UnsafeRawBufferPointer(start: nil, count: 0) }
        if chunks.isEmpty || used + bytes.count > chunks[chunks.count - 1].count {
            let size = max(chunkByteCount, bytes.count)
            chunks.append(.allocate(byteCount: size, alignment: 16))
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
