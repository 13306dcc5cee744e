//! `layerstore recover STORE [--dry-run] [--salvage] [--json]`: recovers a store after a crash,
//! a full disk or damage, and reports exactly what it found and did.

import ArgumentParser
import Foundation
import LayerStore

struct RecoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Recover a store after a crash or damage, and report what was found and done.",
        discussion: """
            Removes temporary files, truncates a torn WAL tail, sets damaged manifests aside and \
            rebuilds a manifest from the segments if none is valid. Damaged files are moved to \
            STORE/quarantine/, never deleted. Damage that would lose records (a bad WAL record \
            followed by good ones, a damaged or missing segment) is only named, unless --salvage \
            recovers every readable record into new segments and lists what was lost.
            Takes the writer lock: close writers first.
            Exit codes: 0 the store is consistent afterwards; 1 damage remains (named in the \
            report); 2 usage error; 3 the store could not be recovered at all (not a store, \
            locked, I/O error).
            """)

    @OptionGroup var path: StorePath
    @Flag(help: "Report what recovery would do, changing nothing.") var dryRun = false
    @Flag(help: "Recover records past damage into new segments, and list what is lost.") var salvage = false
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        let bar = ProgressBar(label: "recover", enabled: !json)
        let report: RecoverReport
        do throws(StoreError) {
            report = try Recoverer.run(path: path.store, dryRun: dryRun, salvage: salvage) { progress in
                bar.update(done: progress.doneByteCount, total: progress.totalByteCount, item: progress.item)
            }
        } catch {
            bar.finish()
            throw error
        }
        bar.finish()
        if json {
            try printJSON(report)
        } else {
            print(RecoverReportText(report).text)
        }
        if !(report.consistent && report.damageRemaining.isEmpty) { throw ExitCode(ExitStatus.notFound) }
    }
}

/// The report as text for a person.
struct RecoverReportText {
    let report: RecoverReport
    init(_ report: RecoverReport) { self.report = report }

    var text: String {
        var lines: [String] = []
        let r = report
        lines.append(r.dryRun ? "recover (dry run: nothing changed)" : "recover")
        if r.manifestRebuilt {
            lines.append("manifest: none valid; rebuilt from the segment headers")
        } else if let chosen = r.manifestChosen {
            lines.append("manifest: \(chosen) chosen (the newest whose checksum holds)")
        }
        for s in r.manifestsSkipped { lines.append("  passed over \(s.file): \(s.message)") }
        if let written = r.manifestWritten { lines.append("  published \(written)") }
        lines.append("checkpoint LSN: \(r.checkpointLSN)")
        if r.walRecords > 0, let first = r.walFirstLSN, let last = r.walLastLSN {
            lines.append("WAL: \(r.walRecords) records (\(r.walOperations) operations, LSNs \(first)...\(last)) to replay")
        } else if r.walDamage.isEmpty {
            lines.append("WAL: nothing above the checkpoint")
        }
        if let torn = r.tornTail {
            lines.append("torn tail: \(torn.file) at offset \(torn.offset ?? 0), \(r.tornTailByteCount) bytes: \(torn.message)")
        }
        section("WAL damage", r.walDamage, &lines)
        if r.walRecordsSalvaged > 0 { lines.append("WAL records salvaged: \(r.walRecordsSalvaged)") }
        section("segments missing", r.segmentsMissing, &lines)
        section("segments damaged", r.segmentsDamaged, &lines)
        section("blocks damaged", r.blocksDamaged, &lines)
        for f in r.quarantined { lines.append("quarantined \(f.file): \(f.message)") }
        for f in r.tempFilesRemoved { lines.append("removed temporary file \(f)") }
        for f in r.unpublishedSegmentsRemoved { lines.append("set aside unpublished segment \(f)") }
        for f in r.segmentsWritten { lines.append("wrote salvaged segment \(f)") }
        if r.recordsSalvaged > 0 { lines.append("records salvaged: \(r.recordsSalvaged)") }
        for loss in r.losses {
            var what = "lost"
            what += loss.records.map { " \($0) records" } ?? " records"
            if let d = loss.dimension { what += " of \(d)" }
            if let a = loss.firstLSN, let b = loss.lastLSN { what += " (LSNs \(a)...\(b))" }
            lines.append("\(what) in \(loss.file): \(loss.detail)")
        }
        if !r.dimensionsAffected.isEmpty { lines.append("dimensions affected: \(r.dimensionsAffected.joined(separator: ", "))") }
        if r.damageRemaining.isEmpty {
            lines.append(r.consistent ? "result: consistent" : "result: the store does not open cleanly")
        } else {
            lines.append("result: damage remains (\(r.damageRemaining.count)); run with --salvage to recover past it")
            for f in r.damageRemaining { lines.append("  \(f.file)" + (f.offset.map { " @ \($0)" } ?? "") + ": \(f.message)") }
        }
        return lines.joined(separator: "\n")
    }

    private func section(_ title: String, _ findings: [RecoverReport.Finding], _ lines: inout [String]) {
        guard !findings.isEmpty else { return }
        lines.append("\(title):")
        for f in findings { lines.append("  \(f.file)" + (f.offset.map { " @ \($0)" } ?? "") + ": \(f.message)") }
    }
}
