//! The machine's own LZ4 speed on the demo's values: the limit the cold tier is measured against.

import LayerStore

enum LZ4Limit {
    /// Compresses `raw` in blocks of `blockSize`, then times decompressing them all (best of 5).
    static func measure(_ raw: [UInt8], blockSize: Int) throws -> (ratio: Double, gigabytesPerSecond: Double) {
        var blocks: [(compressed: [UInt8], rawCount: Int)] = []
        var compressedBytes = 0
        var start = 0
        while start < raw.count {
            let end = min(raw.count, start + blockSize)
            let compressed = raw[start..<end].withUnsafeBytes { LZ4Codec.compress($0) }
            compressedBytes += compressed.count
            blocks.append((compressed, end - start))
            start = end
        }
        var output = [UInt8](repeating: 0, count: blockSize)
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = monotonicNanoseconds()
            for block in blocks {
                let ok = block.compressed.withUnsafeBytes { src in
                    output.withUnsafeMutableBytes { dst in
                        LZ4Codec.decompress(src, into: UnsafeMutableRawBufferPointer(rebasing: dst[0..<block.rawCount]))
                    }
                }
                guard ok else { throw StoreError(.corrupted, "LZ4 round trip failed") }
            }
            best = min(best, Double(monotonicNanoseconds() - t0) / 1e9)
        }
        return (Double(raw.count) / Double(compressedBytes), Double(raw.count) / best / 1e9)
    }
}
