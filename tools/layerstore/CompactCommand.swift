//! `layerstore compact`: offline compaction of a store's segments, with the LZ4 cold tier.

import ArgumentParser
import Foundation
import LayerStore

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Merge segments, drop superseded versions, and compress cold ones.",
        discussion: """
            Takes the writer lock (close writers first). Works one dimension at a time and \
            checks free space before each: it needs room for one dimension's rewrite. \
            A progress bar is drawn on a terminal. A crash \
            at any moment leaves the old state or the new one. \
            SIZE takes K, M, G suffixes (powers of 1024); DURATION takes s, m, h, d.
            Exit codes: 0 done; 2 usage error; 3 store failure (an invalid dimension name, locked, not enough space, I/O).
            """)

    @OptionGroup var path: StorePath
    @Option(help: "Only this dimension.") var dimension: String?
    @Option(help: "Target size of output segments (e.g. 256M).") var targetSize: String = "256M"
    @Option(help: "Versions kept per key.") var keepVersions: Int = 1
    @Flag(help: "LZ4-compress everything written.") var lz4 = false
    @Option(help: "LZ4-compress only segments whose newest record is older than this (e.g. 7d).") var coldAfter: String?
    @Option(help: "Block size of the outputs (default: the store's, 16K for LZ4).") var blockSize: String?
    @Flag(inversion: .prefixedNo, help: "Give outputs a hash index (default: uncompressed outputs get one, LZ4 ones do not).")
    var hashIndex: Bool?
    @Flag(help: "Report what would be done, writing nothing.") var dryRun = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard let target = parseSize(targetSize), target >= 64 << 10 else {
            throw ValidationError("--target-size must be a size of at least 64K, such as 64M or 1G")
        }
        if let blockSize, !(256...(1 << 20)).contains(parseSize(blockSize) ?? 0) {
            throw ValidationError("--block-size must be a size from 256 to 1M, such as 16K")
        }
        guard keepVersions >= 1 else { throw ValidationError("--keep-versions must be at least 1") }
        if let coldAfter, parseDuration(coldAfter) == nil { throw ValidationError("--cold-after must be a duration such as 30m, 12h or 7d") }
        if lz4 && coldAfter != nil { throw ValidationError("--lz4 and --cold-after exclude each other") }
    }

    func run() throws {
        if let dimension { try checkDimension(dimension) }
        var options = CompactionOptions()
        options.dimension = dimension
        options.targetSegmentByteCount = parseSize(targetSize)!
        options.keepVersions = keepVersions
        options.dryRun = dryRun
        options.blockByteCountTarget = blockSize.flatMap(parseSize)
        options.hashIndex = hashIndex
        if lz4 { options.compression = .lz4 }
        if let coldAfter { options.compression = .lz4OlderThan(seconds: parseDuration(coldAfter)!) }
        var storeOptions = StoreOptions()
        storeOptions.createIfMissing = false
        let store = try Store(path: path.store, options: storeOptions)
        let report = try compactWithProgress(store, options)
        try store.close()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(dryRun ? "compact (dry run: nothing written)" : "compact")
        for d in report.dimensions {
            print("\(d.dimension): segments \(d.segmentsBefore) -> \(d.segmentsAfter), bytes \(d.bytesBefore) -> \(d.bytesAfter), "
                + "records \(d.recordsBefore) -> \(d.recordsAfter) (\(d.versionsDropped) old versions, \(d.tombstonesDropped) tombstones dropped)"
                + (d.compressedSegments > 0 ? ", \(d.compressedSegments) LZ4 segments" : ""))
        }
        print("time \(fixed(report.seconds, 3)) s, \(fixed(report.megabytesPerSecond, 1)) MB/s")
    }
}

extension CompactCommand {
    /// Compacts one dimension at a time (as the library does), drawing a progress bar over the
    /// segment bytes on a terminal, and merges the per-dimension reports.
    func compactWithProgress(_ store: Store, _ options: CompactionOptions) throws -> CompactionReport {
        let dimensions = options.dimension.map { [$0] } ?? store.dimensionNames
        let sizes = dimensions.map { segmentBytes(path.store + "/dims/" + $0) }
        let total = sizes.reduce(0, +)
        let bar = ProgressBar(label: dryRun ? "compact (dry run)" : "compact", enabled: !json)
        defer { bar.finish() }
        var merged = CompactionReport(dryRun: options.dryRun)
        var done = 0
        let start = monotonicNanoseconds()
        for (dimension, size) in zip(dimensions, sizes) {
            bar.update(done: done, total: total, item: dimension)
            var one = options
            one.dimension = dimension
            merged.dimensions += try store.compact(one).dimensions
            done += size
            bar.update(done: done, total: total, item: dimension)
        }
        merged.seconds = Double(monotonicNanoseconds() - start) / 1e9
        let bytes = merged.dimensions.reduce(0) { $0 + Double($1.bytesBefore) }
        merged.megabytesPerSecond = merged.seconds > 0 ? bytes / 1e6 / merged.seconds : 0
        return merged
    }

    /// Bytes of the segment files in one dimension's directory.
    private func segmentBytes(_ directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".seg") }.reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? NSNumber)?.intValue ?? 0)
        }
    }
}

/// "512", "64K", "256M", "1G" → bytes (powers of 1024).
func parseSize(_ text: String) -> Int? {
    let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
    var digits = text.uppercased()
    var scale = 1
    if let last = digits.last, let unit = units[last] {
        scale = unit
        digits.removeLast()
    }
    guard let n = Int(digits), n > 0, n <= Int.max / scale else { return nil }
    return n * scale
}

/// "45s", "30m", "12h", "7d" → seconds.
func parseDuration(_ text: String) -> Double? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    guard let last = text.last, let unit = units[last], let n = Double(text.dropLast()), n >= 0 else { return nil }
    return n * unit
}

