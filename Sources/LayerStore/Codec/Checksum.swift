//! XXH3-64 checksums bound to their place.
//!
//! Every checksum in every LayerStore file is a full 64-bit XXH3 with a seed derived from the
//! file's identity and the checked bytes' offset (Formats/README.md, "Checksums"). A valid block
//! copied to another offset or another file, or a stale WAL record from an earlier use of a
//! file, fails its check.

import CXXHash

/// XXH3-64 hashing and the seeds that bind checksums to files and offsets.
package enum Checksum {
    /// XXH3-64 of `bytes` with `seed`.
    @inline(__always)
    package static func xxh3(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        layerstore_xxh3_long(bytes.baseAddress, bytes.count, seed)
    }

    /// XXH3-64 of an array's bytes with `seed`.
    package static func xxh3(_ bytes: [UInt8], seed: UInt64) -> UInt64 {
        bytes.withUnsafeBytes { xxh3($0, seed: seed) }
    }

    /// The seed for a checksum of bytes at `offset` in a file whose identity seed is `fileSeed`.
    @inline(__always)
    package static func seed(file fileSeed: UInt64, offset: UInt64) -> UInt64 {
        fileSeed ^ offset
    }

    /// A file's identity seed: XXH3-64 (seed 0) of the little-endian words `parts`.
    /// Segments use (kind, store id, segment id, version); WAL files (kind, store id, file number,
    /// salt); manifests (kind, generation).
    package static func fileSeed(_ parts: UInt64...) -> UInt64 {
        var writer = ByteWriter(capacity: parts.count * 8)
        for part in parts { writer.u64(part) }
        return xxh3(writer.bytes, seed: 0)
    }

    /// Hash of a key for a segment's hash index (XXH3-64, seed 0).
    @inline(__always)
    package static func keyHash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits(key.baseAddress, key.count)
    }
}
