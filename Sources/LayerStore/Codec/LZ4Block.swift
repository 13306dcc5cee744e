//! LZ4 block compression for cold segments. The LZ4 block format has no checksum of its own:
//! every stored block is covered by LayerStore's XXH3 checksum, verified before decompression,
//! and decompression must produce exactly the block's recorded raw length.
//!
//! Unsafe code: this is one of the four files that pass raw pointers to C; every length is
//! checked against `Int32` and against its buffer first.

import CLZ4

/// LZ4 block compression (liblz4's block API, default acceleration).
enum LZ4Block {
    /// The largest input LZ4's block API accepts.
    static let inputByteCountMax = Int(LZ4_MAX_INPUT_SIZE)

    /// The LZ4 block of `raw`, appended to `out`.
    /// - Precondition: `raw.count <= inputByteCountMax` (blocks are far smaller).
    static func compress(_ raw: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        precondition(raw.count <= inputByteCountMax, "block too large for LZ4")
        let bound = Int(LZ4_compressBound(Int32(raw.count)))
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = out.withUnsafeMutableBytes { dst -> Int32 in
            // Safe: `dst` has `bound` bytes from `start`, the capacity LZ4 is told.
            LZ4_compress_default(
                raw.baseAddress?.assumingMemoryBound(to: CChar.self),
                (dst.baseAddress! + start).assumingMemoryBound(to: CChar.self),
                Int32(raw.count), Int32(bound))
        }
        precondition(written > 0 || raw.isEmpty, "LZ4 compression with a sufficient bound cannot fail")
        out.removeLast(bound - Int(written))
    }

    /// Decompresses `stored` into `destination`, which must be exactly the raw length.
    /// - Returns: `false` if the input is malformed or does not produce exactly that length.
    static func decompress(_ stored: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        guard stored.count <= Int(Int32.max), destination.count <= Int(Int32.max),
            let src = stored.baseAddress, let dst = destination.baseAddress
        else { return stored.isEmpty && destination.isEmpty }
        // Safe: LZ4_decompress_safe never writes beyond `dstCapacity` nor reads beyond
        // `compressedSize`, both the exact sizes of our buffers.
        let n = LZ4_decompress_safe(src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
                                    Int32(stored.count), Int32(destination.count))
        return Int(n) == destination.count
    }
}

/// LZ4 block compression as the tools see it (benchmarks measure the limit with it).
package enum LZ4Codec {
    /// The LZ4 block of `raw`.
    package static func compress(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        LZ4Block.compress(raw, into: &out)
        return out
    }

    /// Decompresses into exactly `destination.count` bytes; `false` on malformed input.
    package static func decompress(_ stored: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        LZ4Block.decompress(stored, into: destination)
    }
}
