//! `layerstore stats STORE [--json]`: per dimension, live and dead records and bytes, versions,
//! segments and codecs, memtable bytes; mapped bytes and the oldest live snapshot (the
//! library's `Store.stats()`).

import ArgumentParser
import LayerStore

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show live and dead records and bytes, versions and segments per dimension.",
        discussion: """
            Opens the store read-only (it runs beside a live writer and changes nothing) and \
            reads every record of every segment. Per dimension: live records (keys whose newest \
            version is a put) and their key+value bytes; dead versions (superseded versions and \
            tombstones: what `compact` drops) and their bytes; all versions; segments (count, \
            bytes on disk, how many are LZ4, the cold tier); versions and approximate bytes in \
            memtables (writes above the checkpoint, replayed from the WAL). Then the bytes \
            mapped, and the oldest snapshot still alive (in this process: none, for the tool).
            --json prints the library's StoreStats: lsn, checkpointLSN, manifestGeneration, \
            mappedByteCount, liveSnapshotCount, oldestSnapshotLSN, dimensions[{name, \
            liveRecordCount, liveByteCount, deadRecordCount, deadByteCount, tombstoneCount, \
            versionCount, segmentByteCount, memtableVersionCount, memtableByteCount, \
            segments[{id, version, codec, byteCount, recordCount, minLSN, maxLSN}]}].
            Exit codes: 0 shown; 2 usage error; 3 store failure (missing, damaged, I/O error).
            """)

    @OptionGroup var path: StorePath
    @Flag(help: "Print the statistics as JSON.") var json = false

    func run() throws {
        var options = StoreOptions()
        options.readOnly = true
        let store = try Store(path: path.store, options: options)
        let stats = try store.stats()
        try store.close()
        if json {
            try printJSON(stats)
            return
        }
        print("lsn \(stats.lsn), checkpoint \(stats.checkpointLSN), manifest generation \(stats.manifestGeneration)")
        let header = ["dimension", "live", "live bytes", "dead", "dead bytes", "versions", "segments", "lz4", "on disk", "memtable"]
        var rows = [header]
        for d in stats.dimensions {
            rows.append([d.name, "\(d.liveRecordCount)", byteText(d.liveByteCount), "\(d.deadRecordCount)", byteText(d.deadByteCount),
                         "\(d.versionCount)", "\(d.segments.count)", "\(d.segments.filter { $0.codec == "lz4" }.count)",
                         byteText(Int(d.segmentByteCount)), byteText(d.memtableByteCount)])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.indices.map { i in
                let fill = String(repeating: " ", count: widths[i] - row[i].count)
                return i == 0 ? row[i] + fill : fill + row[i]
            }.joined(separator: "  "))
        }
        print("mapped: \(byteText(stats.mappedByteCount))")
        print("oldest live snapshot: " + (stats.oldestSnapshotLSN.map { "LSN \($0) (\(counted(stats.liveSnapshotCount, "snapshot")) alive)" } ?? "none"))
    }
}
