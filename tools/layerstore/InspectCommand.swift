//! `layerstore inspect STORE [--segment FILE] [--json]`: what a store holds (manifests,
//! dimensions and segments, WAL), or every field of one segment file; changes nothing (the work
//! is done by the library's `Inspector`).

import ArgumentParser
import Foundation
import LayerStore

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a store holds, or every field of one segment file, changing nothing.",
        discussion: """
            Without --segment: the format version, store id, the newest valid manifest and any \
            newer damaged ones it skips, the checkpoint LSN, the next segment id, each dimension \
            with its segments (id, version, LSNs, records, bytes, codec), each WAL file (bytes, \
            base LSN, records, how its records end), the WAL records above the checkpoint (what \
            an open replays), and the total bytes.
            With --segment FILE (a path, or a path relative to STORE): the header, footer, block \
            table (offset, stored length, checksum, first key) and hash index (size, fill) of \
            that segment as found, and the checks verify makes of it. A damaged segment is shown \
            as found, next to what failed.
            Read-only: no lock is taken, so it runs beside a live writer.
            Exit codes: 0 shown (even if the segment is damaged: see its checks, or run verify); \
            2 usage error, STORE is not a store, or FILE is not a segment file; 3 the store \
            cannot be read (no valid manifest, I/O error).
            """)

    @OptionGroup var path: StorePath
    @Option(help: "A segment file to show field by field.") var segment: String?
    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        do {
            if let segment {
                let inspection = try Inspector.inspectSegment(store: path.store, file: segment)
                print(json ? try jsonText(inspection) : SegmentInspectionText(inspection).text)
            } else {
                let inspection = try Inspector.inspect(store: path.store)
                print(json ? try jsonText(inspection) : StoreInspectionText(inspection).text)
            }
        } catch let error as StoreError where [.notAStore, .storeNotFound, .invalidArgument].contains(error.code) {
            printError("layerstore: \(error)")
            throw ExitCode(ExitStatus.usage)
        }
    }

    private func jsonText(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// The store summary as text for a person.
struct StoreInspectionText {
    let s: StoreInspection
    init(_ inspection: StoreInspection) { s = inspection }

    var text: String {
        var lines = ["format version \(s.formatVersion), store id \(hexID(s.storeID))"]
        let chosen = s.manifests.first { $0.generation == s.generation }?.name ?? "?"
        lines.append("manifest: \(chosen) (generation \(s.generation)), checkpoint LSN \(s.checkpointLSN), next segment id \(s.nextSegmentID)")
        for m in s.manifests {
            lines.append("  \(m.name)  \(byteText(m.byteCount))  \(m.status)" + (m.reason.map { ": \($0)" } ?? ""))
        }
        for m in s.skippedManifests { lines.append("  skipped (newer, not valid): \(m.name)") }
        lines.append("dimensions (\(s.dimensions.count)):")
        for d in s.dimensions {
            lines.append("  \(d.name): \(counted(d.segments.count, "segment")), \(counted(Int(d.recordCount), "record")), \(byteText(Int(d.byteCount)))")
            for g in d.segments {
                lines.append("    segment \(g.id) v\(g.version)  LSNs \(g.minLSN)...\(g.maxLSN)  \(g.recordCount) records  \(byteText(Int(g.byteCount)))  codec \(g.codec)  \(g.path)" + (g.present ? "" : "  MISSING"))
            }
        }
        lines.append("WAL (\(s.wal.count) files):")
        for w in s.wal {
            let records = w.firstLSN.map { " (LSNs \($0)...\(w.lastLSN!))" } ?? ""
            lines.append("  \(w.path)  \(byteText(w.byteCount))  base LSN \(w.baseLSN.map(String.init) ?? "?")  \(counted(w.recordCount, "record"))\(records), \(w.recordsAboveCheckpoint) above the checkpoint; \(w.end)")
        }
        if let above = s.walLSNsAboveCheckpoint {
            lines.append("WAL above the checkpoint: \(counted(s.walRecordsAboveCheckpoint, "record")), LSNs \(above.lowerBound)...\(above.upperBound)")
        } else {
            lines.append("WAL above the checkpoint: nothing")
        }
        lines.append("total: \(byteText(s.totalByteCount)) (\(s.totalByteCount) bytes) in manifests, segments and WAL files")
        return lines.joined(separator: "\n")
    }
}

/// One segment file as text for a person.
struct SegmentInspectionText {
    let s: SegmentInspection
    init(_ inspection: SegmentInspection) { s = inspection }

    var text: String {
        var lines = ["segment \(s.path): \(s.byteCount) bytes, id \(s.segmentID), version \(s.version), in dims/\(s.dimension), "
            + (s.listedIn.map { "listed in \($0)" } ?? "not listed in the newest manifest") + ", store id \(hexID(s.storeID))"]
        if let h = s.header {
            lines.append("header: \(h.status)")
            lines.append("  magic \(h.magic), format version \(h.formatVersion), header length \(h.headerLength), checksum \(h.checksum)")
            lines.append("  store id \(h.storeID), segment id \(h.segmentID), version \(h.version), codec \(h.codec), dimension \"\(h.dimension)\"")
            lines.append("  LSNs \(h.minLSN)...\(h.maxLSN), \(h.recordCount) records, \(h.keyCount) keys, newest record time \(h.newestRecordTime)")
            lines.append("  file length \(h.fileLength), \(h.blockCount) blocks (target \(h.blockByteCountTarget) bytes), \(h.hashSlotCount) hash slots")
            lines.append("  block table at \(h.blockTableOffset), hash index at \(h.hashOffset), footer at \(h.footerOffset)")
        } else {
            lines.append("header: none (the file is shorter than a header)")
        }
        if let f = s.footer {
            lines.append("footer @ \(f.offset): \(f.status)")
            lines.append("  magic \(f.magic), block table at \(f.blockTableOffset), index length \(f.indexLength) (checksum \(f.indexChecksum))")
            lines.append("  hash index at \(f.hashOffset) (checksum \(f.hashChecksum)), reserved \(f.reserved), checksum \(f.checksum)")
        }
        lines.append("blocks (\(s.blocks.count)):")
        lines.append("  " + ["index", "offset", "stored", "raw", "checksum", "status", "first key"].joined(separator: "  "))
        for b in s.blocks {
            let key = b.firstKey.map { "\"" + ($0.count > 48 ? String($0.prefix(48)) + "…" : $0) + "\"" }
                ?? b.firstKeyHex.map { "0x" + ($0.count > 96 ? String($0.prefix(96)) + "…" : $0) } ?? "(outside the key heap)"
            lines.append("  \(b.index)  \(b.offset)  \(b.storedLength)  \(b.rawLength)  \(b.checksum)  \(b.status)  \(key)")
        }
        if let h = s.hashIndex, h.slotCount == 0 {
            lines.append("hash index: none (format version 2: point reads search the block table)")
        } else if let h = s.hashIndex {
            let used = h.usedSlotCount.map { ", \($0) used (\(fixed(100 * (h.fill ?? 0), 1))% full)" } ?? ""
            lines.append("hash index @ \(h.offset): \(h.slotCount) slots\(used): \(h.status)")
        }
        lines.append("checks: " + (s.checks.status == .ok ? "ok" : s.checks.status.rawValue.uppercased()))
        for p in s.checks.problems { lines.append("  @ \(p.offset): \(p.message)") }
        for n in s.checks.notes { lines.append("  note" + (n.offset.map { " @ \($0)" } ?? "") + ": \(n.message)") }
        return lines.joined(separator: "\n")
    }
}
