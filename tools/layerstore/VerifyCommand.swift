//! `layerstore verify STORE [--json]`: checks every checksum of every file of a store and the
//! structure they protect, changing nothing (the work is done by the library's `Verifier`).

import ArgumentParser
import Foundation
import LayerStore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum of every file of a store, changing nothing.",
        discussion: """
            Reads every manifest, every segment file (header, footer, block table, hash index, \
            every block and record) and every WAL file (header, every record), without the \
            writer lock: it runs beside a live writer and never changes a byte. Prints one line \
            per file, each problem with its byte offset, the notes (crash artefacts such as a \
            torn WAL tail, temporary files or unpublished segments, which are not damage), and \
            the bytes checked per second (GB = 10^9 bytes). A progress bar is drawn on stderr \
            when it is a terminal.
            --json prints one object: clean, storeID, newestManifest, files[{path, kind, bytes, \
            status, problems[{offset, message}]}], notes[{path, offset, message}], bytesChecked, \
            seconds, gigabytesPerSecond. A file's status is ok, damaged, missing, unsupported \
            (a newer format), unreadable (an I/O error), unchecked (no store id to check it \
            with), or ignored (an unpublished segment that fails its checks: never read, and \
            removed by a writer's open).
            Exit codes: 0 clean (notes allowed); 1 damage found (a file damaged or missing); \
            2 usage error, or STORE is not a store (missing, not a directory, no manifest); \
            3 the check is incomplete and found no damage: a directory or file could not be \
            read, or a file has a newer format.
            """)

    @OptionGroup var path: StorePath
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        let bar = ProgressBar(label: "verify")
        let report: VerificationReport
        do throws(StoreError) {
            report = try Verifier.verify(store: path.store) { progress in
                bar.update(done: progress.checkedByteCount, total: progress.totalByteCount, item: progress.path)
            }
        } catch where error.code == .notAStore || error.code == .storeNotFound {
            bar.finish()
            printError("layerstore: \(error)")
            throw ExitCode(ExitStatus.usage)
        } catch {
            bar.finish()
            throw error
        }
        bar.finish()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(VerificationText(report).text)
        }
        if report.hasDamage { throw ExitCode(ExitStatus.damaged) }
        if !report.isClean { throw ExitCode(ExitStatus.storeFailure) }
    }
}

extension ExitStatus {
    /// `verify`: damage was found.
    static let damaged: Int32 = 1
}

/// The report as text for a person: one line per file, its problems under it, then the notes.
struct VerificationText {
    let report: VerificationReport
    init(_ report: VerificationReport) { self.report = report }

    var text: String {
        var lines: [String] = []
        for file in report.files {
            let status = file.status == .ok ? "ok" : file.status.rawValue.uppercased()
            lines.append(pad(status, 12) + pad(byteText(file.byteCount), 11, right: true) + "  " + file.path)
            for problem in file.problems { lines.append(String(repeating: " ", count: 25) + "@ \(problem.offset): \(problem.message)") }
        }
        if !report.notes.isEmpty {
            lines.append("notes (not damage):")
            for note in report.notes { lines.append("  " + note.path + (note.offset.map { " @ \($0)" } ?? "") + ": " + note.message) }
        }
        if let manifest = report.newestManifest {
            lines.append("newest valid manifest: \(manifest)" + (report.storeID.map { ", store id \(hexID($0))" } ?? ""))
        } else {
            lines.append("newest valid manifest: none")
        }
        lines.append("checked \(counted(report.files.count, "file")), \(byteText(report.checkedByteCount)) in \(fixed(report.seconds, 3)) s: \(fixed(report.gigabytesPerSecond)) GB/s")
        let failed = report.files.filter { $0.status != .ok && $0.status != .ignored }
        let problemCount = failed.reduce(0) { $0 + $1.problems.count }
        if report.isClean {
            lines.append("result: clean")
        } else if report.hasDamage {
            lines.append("result: DAMAGED: \(counted(problemCount, "problem")) in \(counted(failed.count, "file"))")
        } else {
            lines.append("result: INCOMPLETE: \(counted(failed.count, "file")) could not be checked")
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }
}

/// `1 file`, `2 files`.
func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)" + (n == 1 ? "" : "s") }
