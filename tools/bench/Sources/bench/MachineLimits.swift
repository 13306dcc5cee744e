//! The machine's own limits, measured in the same run as the engines: memory read bandwidth
//! and XXH3 over the profile's values in a mapped file in the page cache, LZ4 compression and
//! decompression of the same values at 4, 16 and 64 KiB blocks, fdatasync latency of a 4 KiB
//! append and of a 4 KiB in-place overwrite, sequential write bandwidth with one fsync.
//! The only file of the harness that maps memory or calls LZ4 directly.

import BenchReport
import CBenchLZ4
import CBenchXXHash
import Foundation
import LayerStoreWorkload

struct MachineLimits {
    let data: DataSet
    let params: RunParameters
    let recorder: Recorder
    /// A scratch directory, removed by the caller.
    let dir: String

    func record(_ metric: String, _ value: Double) { recorder.add(Engines.limit, data.profile.name, metric, value) }

    func log(_ message: String) {
        let line = "  [\(data.profile.name) limits] \(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func measure() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/values.dat"
        try writeValues(to: file)
        try mapped(file) { raw in
            try memoryAndHash(raw)
            try lz4(UnsafeRawBufferPointer(rebasing: raw[0..<min(raw.count, params.lz4SampleBytes)]))
        }
        try syncLatencies()
        try sequentialWrite()
    }

    /// Every value of the profile, back to back, in key order (what a scan reads).
    private func writeValues(to file: String) throws {
        let profile = data.profile
        guard FileManager.default.createFile(atPath: file, contents: nil) else { throw BenchError("limits: cannot create \(file)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        var chunk = [UInt8]()
        chunk.reserveCapacity(4 << 20)
        for dim in 0..<profile.dimensionCount {
            for rec in 0..<profile.recordsPerDimension {
                chunk += Workload.value(dimension: dim, record: rec, count: profile.valueByteCount)
                if chunk.count >= 4 << 20 { try handle.write(contentsOf: chunk); chunk.removeAll(keepingCapacity: true) }
            }
        }
        try handle.write(contentsOf: chunk)
    }

    private func mapped(_ file: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { throw BenchError("limits: cannot open \(file)") }
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        let size = Int(info.st_size)
        guard let base = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw BenchError("limits: mmap failed")
        }
        defer { munmap(base, size) }
        // Safe: `size` bytes are mapped at `base` until the munmap above.
        try body(UnsafeRawBufferPointer(start: base, count: size))
    }

    /// Best of three passes each: a summing loop, XXH3 per value (checked), XXH3 over all.
    private func memoryAndHash(_ raw: UnsafeRawBufferPointer) throws {
        let words = raw.count / 8
        var best = (sum: Double.infinity, values: Double.infinity, whole: Double.infinity)
        var checksum: UInt64 = 0
        for _ in 0..<4 {  // the first pass faults the pages in; it is timed too, and rarely the best
            var t0 = now()
            var s0: UInt64 = 0, s1: UInt64 = 0, s2: UInt64 = 0, s3: UInt64 = 0
            var i = 0
            while i + 4 <= words {
                s0 &+= raw.load(fromByteOffset: i * 8, as: UInt64.self)
                s1 &+= raw.load(fromByteOffset: i * 8 + 8, as: UInt64.self)
                s2 &+= raw.load(fromByteOffset: i * 8 + 16, as: UInt64.self)
                s3 &+= raw.load(fromByteOffset: i * 8 + 24, as: UInt64.self)
                i += 4
            }
            checksum = s0 &+ s1 &+ s2 &+ s3
            best.sum = min(best.sum, seconds(t0, now()))
            t0 = now()
            let size = data.profile.valueByteCount
            var sum: UInt64 = 0
            var offset = 0
            while offset + size <= raw.count {
                sum &+= bench_xxh3(raw.baseAddress! + offset, size)
                offset += size
            }
            best.values = min(best.values, seconds(t0, now()))
            guard sum == data.hashSums.reduce(0, &+) else { throw BenchError.wrongAnswer("limits", "XXH3 of the values", "sum differs from the generator's") }
            t0 = now()
            checksum ^= bench_xxh3(raw.baseAddress, raw.count)
            best.whole = min(best.whole, seconds(t0, now()))
        }
        withExtendedLifetime(checksum) {}
        let bytes = Double(raw.count)
        record("limit.membw_gbps", bytes / best.sum / 1e9)
        record("limit.xxh3_values_gbps", bytes / best.values / 1e9)
        record("limit.xxh3_whole_gbps", bytes / best.whole / 1e9)
        log("memory \(format(bytes / best.sum / 1e9)) GB/s, XXH3 per value \(format(bytes / best.values / 1e9)) GB/s, whole \(format(bytes / best.whole / 1e9)) GB/s")
    }

    private func lz4(_ sample: UnsafeRawBufferPointer) throws {
        for block in [4 << 10, 16 << 10, 64 << 10] {
            let bound = Int(LZ4_compressBound(Int32(block)))
            let count = (sample.count + block - 1) / block
            var compressed = [UInt8](repeating: 0, count: count * bound)
            var sizes = [Int](repeating: 0, count: count)
            let t0 = now()
            compressed.withUnsafeMutableBytes { out in
                for b in 0..<count {
                    let start = b * block, length = min(block, sample.count - start)
                    sizes[b] = Int(LZ4_compress_default(sample.baseAddress!.advanced(by: start).assumingMemoryBound(to: CChar.self),
                                                        out.baseAddress!.advanced(by: b * bound).assumingMemoryBound(to: CChar.self),
                                                        Int32(length), Int32(bound)))
                }
            }
            let compress = seconds(t0, now())
            var output = [UInt8](repeating: 0, count: block)
            var best = Double.infinity
            for _ in 0..<3 {
                let t1 = now()
                var ok = true
                compressed.withUnsafeBytes { src in
                    output.withUnsafeMutableBytes { dst in
                        for b in 0..<count {
                            let length = min(block, sample.count - b * block)
                            let n = LZ4_decompress_safe(src.baseAddress!.advanced(by: b * bound).assumingMemoryBound(to: CChar.self),
                                                        dst.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(sizes[b]), Int32(length))
                            if n != length { ok = false }
                        }
                    }
                }
                best = min(best, seconds(t1, now()))
                guard ok else { throw BenchError.wrongAnswer("limits", "LZ4", "a block did not decompress to its size") }
            }
            let k = block >> 10
            record("limit.lz4_compress_\(k)k_gbps", Double(sample.count) / compress / 1e9)
            record("limit.lz4_decompress_\(k)k_gbps", Double(sample.count) / best / 1e9)
            if k == 16 { record("limit.lz4_ratio_16k", Double(sample.count) / Double(sizes.reduce(0, +))) }
            log("LZ4 \(k) KiB: compress \(format(Double(sample.count) / compress / 1e9)) GB/s, decompress \(format(Double(sample.count) / best / 1e9)) GB/s")
        }
    }

    /// fdatasync after a 4 KiB append (the file grows) and after a 4 KiB overwrite of a
    /// preallocated, zero-filled file (it does not): the p50 of each.
    private func syncLatencies() throws {
        let page = [UInt8](repeating: 0xA5, count: 4096)
        let append = dir + "/append.dat", overwrite = dir + "/overwrite.dat"
        let fa = open(append, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let fo = open(overwrite, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fa >= 0, fo >= 0 else { throw BenchError("limits: cannot create sync files in \(dir)") }
        defer { close(fa); close(fo) }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        guard zeros.withUnsafeBytes({ pwrite(fo, $0.baseAddress, $0.count, 0) }) == zeros.count, fsync(fo) == 0 else {
            throw BenchError("limits: cannot preallocate \(overwrite)")
        }
        var appendTimes: [UInt64] = [], overwriteTimes: [UInt64] = []
        for i in 0..<params.syncSamples {
            var t0 = now()
            guard page.withUnsafeBytes({ pwrite(fa, $0.baseAddress, 4096, off_t(i * 4096)) }) == 4096, fdatasync(fa) == 0 else {
                throw BenchError("limits: append + fdatasync failed")
            }
            appendTimes.append(now() &- t0)
            t0 = now()
            guard page.withUnsafeBytes({ pwrite(fo, $0.baseAddress, 4096, off_t((i % 256) * 4096)) }) == 4096, fdatasync(fo) == 0 else {
                throw BenchError("limits: overwrite + fdatasync failed")
            }
            overwriteTimes.append(now() &- t0)
        }
        let a = Double(Statistics.percentile(appendTimes, 0.5) ?? 0) / 1000
        let o = Double(Statistics.percentile(overwriteTimes, 0.5) ?? 0) / 1000
        record("limit.fdatasync_append_us", a)
        record("limit.fdatasync_overwrite_us", o)
        log("fdatasync 4 KiB append \(format(a)) µs, in-place overwrite \(format(o)) µs (p50)")
    }

    private func sequentialWrite() throws {
        let file = dir + "/sequential.dat"
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw BenchError("limits: cannot create \(file)") }
        defer { close(fd); unlink(file) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        for i in 0..<chunk.count { chunk[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
        let t0 = now()
        var written = 0
        while written < params.sequentialWriteBytes {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n == chunk.count else { throw BenchError("limits: sequential write failed") }
            written += n
        }
        guard fsync(fd) == 0 else { throw BenchError("limits: fsync failed") }
        let mbps = Double(written) / seconds(t0, now()) / 1e6
        record("limit.seqwrite_mbps", mbps)
        log("sequential write \(format(mbps)) MB/s")
    }
}
