//! `layerstore backup STORE DEST [--json] [--no-verify]`: a consistent copy of a live store
//! (the library's `Store.backup(to:)`), then a full `verify` of the copy.

import ArgumentParser
import LayerStore

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of a store, as of one snapshot, into a new directory.",
        discussion: """
            Opens STORE read-only (no lock: it runs beside a live writer, which goes on \
            committing, flushing and compacting) and writes into DEST, which must not exist \
            or be empty: the segments of the snapshot's manifest as hard links (copies across \
            file systems), the writes above its checkpoint as one WAL file, and the manifest \
            last, everything synced. DEST then opens as a store holding exactly the writes up \
            to the snapshot's LSN. The copy is then checked like `layerstore verify` does, \
            unless --no-verify.
            --json prints one object: destination, lsn, checkpointLSN, segmentCount, \
            linkedSegmentCount, copiedSegmentCount, segmentByteCount, walRecordCount, \
            walOperationCount, walByteCount, seconds, and verified (true, false, or null with \
            --no-verify).
            Exit codes: 0 backup written (and verified); 1 the backup fails verification; \
            2 usage error; 3 store failure (STORE missing or damaged, DEST not empty or not a \
            directory, I/O error, disk full).
            """)

    @OptionGroup var path: StorePath
    @Argument(help: "The backup's directory (new, or empty).") var destination: String
    @Flag(help: "Skip checking the backup's checksums afterwards.") var noVerify = false
    @Flag(help: "Print the report as JSON.") var json = false

    /// The report with the verification's outcome.
    struct Output: Encodable {
        var backup: BackupReport
        var verified: Bool?

        func encode(to encoder: any Encoder) throws {
            try backup.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(verified, forKey: .verified)
        }

        enum Key: String, CodingKey { case verified }
    }

    func run() throws {
        var options = StoreOptions()
        options.readOnly = true
        let store = try Store(path: path.store, options: options)
        let report = try store.backup(to: destination)
        try store.close()
        var verified: Bool?
        var problems: [String] = []
        if !noVerify {
            let verification = try Verifier.verify(store: destination)
            verified = verification.isClean
            problems = verification.files.filter { $0.status != .ok }.map { "\($0.path): \($0.status.rawValue)" }
        }
        if json {
            try printJSON(Output(backup: report, verified: verified))
        } else {
            print("backup of \(path.store) at LSN \(report.lsn) (checkpoint \(report.checkpointLSN)) into \(report.destination)")
            print("segments: \(report.segmentCount) (\(report.linkedSegmentCount) linked, \(report.copiedSegmentCount) copied), \(byteText(Int(report.segmentByteCount)))")
            print("wal: \(counted(report.walRecordCount, "record")), \(counted(report.walOperationCount, "operation")), \(byteText(report.walByteCount))")
            print("verify: " + (verified.map { $0 ? "clean" : "DAMAGED: " + problems.joined(separator: ", ") } ?? "skipped"))
            print("took \(fixed(report.seconds, 3)) s")
        }
        if verified == false { throw ExitCode(ExitStatus.damaged) }
    }
}
