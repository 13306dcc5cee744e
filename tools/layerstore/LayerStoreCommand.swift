//! `layerstore`: the command-line tool for LayerStore stores.
//!
//! Exit codes, shared by every subcommand (and stated in each one's `--help`):
//! 0 success; 1 the thing asked for is not there or not sound (`get` of a missing key, `export`
//! of a dimension without records, damage found by `verify` or left by `recover`, a backup that
//! fails verification); 2 usage error; 3 the store failed (damage that stops an open, I/O error,
//! locked, full disk): the message on stderr says which.

import ArgumentParser
import LayerStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct LayerStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layerstore",
        abstract: "Create, read, write and inspect LayerStore stores.",
        discussion: """
            Exit codes, the same for every subcommand (each one's --help says which apply): \
            0 success; 1 not found or not sound (get of a missing key, export of a dimension \
            without records, damage found by verify or left by recover, a backup that fails \
            verification); 2 usage error; 3 store failure (damage that stops an open, I/O \
            error, another writer holds the store, disk full).
            --json prints a machine-readable report on get, scan, flush, import, export (its \
            summary, on stderr), inspect, verify, recover, compact, backup, stats and demo. \
            Progress bars are drawn on stderr, only when it is a terminal.
            """,
        subcommands: [
            PutCommand.self, GetCommand.self, DeleteCommand.self, ScanCommand.self,
            ImportCommand.self, ExportCommand.self, FlushCommand.self, RecoverCommand.self, VerifyCommand.self, InspectCommand.self,
            CompactCommand.self, BackupCommand.self, StatsCommand.self, DemoCommand.self,
        ]
    )

    /// Runs the command with LayerStore's exit codes: usage errors exit 2, store errors 3.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as StoreError {
            printError("layerstore: \(error)")
            Glibc.exit(ExitStatus.storeFailure)
        } catch let error as ExitCode {
            Glibc.exit(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            printError(fullMessage(for: error))
            Glibc.exit(code == .validationFailure ? ExitStatus.usage : code.rawValue)
        }
    }
}

/// The tool's exit codes.
enum ExitStatus {
    static let notFound: Int32 = 1
    static let usage: Int32 = 2
    static let storeFailure: Int32 = 3
}

/// Writes a line to standard error.
func printError(_ message: String) {
    fflush(nil)
    Array((message + "\n").utf8).withUnsafeBytes { writeAll(2, $0) }
}

/// Writes every byte to a file descriptor, unbuffered (retrying on EINTR; giving up quietly if
/// the reader is gone: the tool's output has nowhere to go then).
func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) {
    var done = 0
    while done < raw.count {
        let n = write(fd, raw.baseAddress! + done, raw.count - done)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        done += n
    }
}

/// The store path argument shared by subcommands.
struct StorePath: ParsableArguments {
    @Argument(help: "The store directory.")
    var store: String
}

/// Refuses a dimension name the store would refuse, with the store's own typed error (exit 3,
/// like `put`, `get` and `scan` report it), before anything is opened.
func checkDimension(_ name: String) throws(StoreError) {
    var batch = WriteBatch()
    try batch.delete(forKey: [0], in: name)
}

/// Text given on the command line or in import lines: UTF-8 without tab or newline.
func checkText(_ text: String, _ what: String) throws {
    if text.utf8.contains(where: { $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") }) {
        throw ValidationError("\(what) must not contain a tab or a newline")
    }
}
