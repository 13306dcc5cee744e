//! `layerstore export`: every visible record of a store (or of one dimension) on stdout, as
//! `KEY<TAB>VALUE` text lines or as JSON lines that carry any bytes.
//!
//! Invariants:
//! - One snapshot serves the whole export: the output is one consistent view of the store, even
//!   beside a live writer, and the store is opened read-only (nothing is written).
//! - Records come in dimension name order (bytewise), then key order; deleted keys never appear.
//! - A tsv export writes nothing unless every record fits tsv (checked in a first pass), so a
//!   failed tsv export never leaves half a file behind.
//! - The jsonl line format is fixed byte for byte (Formats/reference-reader/ reproduces it):
//!   `{"dimension": "D", "key": "K", "value": "V"}` + LF, K and V base64 (standard, padded).

import ArgumentParser
import LayerStore

/// The line formats of `export` and `import`.
enum RecordFormat: String, ExpressibleByArgument, CaseIterable {
    /// `KEY<TAB>VALUE` lines of UTF-8 text.
    case tsv
    /// One JSON object per line, keys and values base64.
    case jsonl
}

/// `layerstore export STORE [DIM] [--format tsv|jsonl]`.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print every visible record, as KEY<TAB>VALUE lines or as JSON lines.",
        discussion: """
            Opens the store read-only and reads one snapshot: works beside a running writer and \
            changes nothing. Records come in dimension name order, then key order; deleted keys \
            are left out.

            --format tsv (default): KEY<TAB>VALUE lines, like scan; needs DIM. Every key and \
            value must be UTF-8 text without tab, CR or LF; otherwise nothing is printed and \
            the command exits 2, naming the record: export it with --format jsonl instead.

            --format jsonl: one line per record, \
            {"dimension": "D", "key": "K", "value": "V"}, with K and V in base64 (standard \
            alphabet, padded), so any bytes round-trip. Without DIM, every dimension. \
            `layerstore import STORE DIM --format jsonl` reads these lines back.

            --json prints a summary on stderr when done (stdout holds the records): \
            {"dimensions": N, "records": R, "bytes": B, "lsn": L, "seconds": S}, bytes being \
            the bytes printed and lsn the snapshot's. A progress bar is drawn on stderr when it \
            is a terminal.

            Exit codes: 0 done; 1 the store holds nothing for DIM (no record, not even a \
            deletion); 2 usage error (including tsv asked for records it cannot hold); \
            3 store failure (an invalid dimension name, missing store, damage, I/O; lines printed before the damage was \
            met stay printed).
            """)

    @OptionGroup var path: StorePath
    @Argument(help: "Only this dimension (default: every dimension; jsonl only).") var dimension: String?
    @Option(help: "tsv or jsonl.") var format: RecordFormat = .tsv
    @Flag(help: "Print a JSON summary on stderr when done.") var json = false

    /// `--json`'s summary.
    struct Summary: Encodable {
        var dimensions: Int
        var records: Int
        var bytes: Int
        var lsn: UInt64
        var seconds: Double
    }

    /// What was printed so far, and the progress bar showing it.
    final class Progress {
        let bar = ProgressBar(label: "export")
        var records = 0
        var bytes = 0

        func add(_ byteCount: Int, _ dimension: String) {
            records += 1
            bytes += byteCount
            if records & 1023 == 0 { bar.update(done: bytes, total: 0, item: dimension) }
        }
    }

    func validate() throws {
        if format == .tsv && dimension == nil {
            throw ValidationError("tsv lines carry no dimension: name DIM, or use --format jsonl to export every dimension")
        }
    }

    func run() throws {
        let started = monotonicNanoseconds()
        if let dimension { try checkDimension(dimension) }
        var options = StoreOptions()
        options.readOnly = true
        let store = try Store(path: path.store, options: options)
        let snapshot = try store.snapshot()
        let names = snapshot.dimensionNames.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var dimensions = names
        if let dimension {
            guard names.contains(dimension) else {
                printError("layerstore: dimension not found: \(dimension)")
                throw ExitCode(ExitStatus.notFound)
            }
            dimensions = [dimension]
        }
        let progress = Progress()
        defer { progress.bar.finish() }
        switch format {
        case .tsv:
            if let problem = try firstTSVProblem(snapshot, dimensions) {
                printError("layerstore: cannot export as tsv: \(problem); use --format jsonl, which holds any bytes")
                throw ExitCode(ExitStatus.usage)
            }
            try exportTSV(snapshot, dimensions, progress)
        case .jsonl:
            try exportJSONL(snapshot, dimensions, progress)
        }
        progress.bar.finish()
        if json {
            printError(try jsonText(Summary(dimensions: dimensions.count, records: progress.records, bytes: progress.bytes,
                                            lsn: snapshot.lsn, seconds: Double(monotonicNanoseconds() - started) / 1e9)))
        }
    }

    /// The first record tsv cannot hold, described for the error message; `nil` if all fit.
    private func firstTSVProblem(_ snapshot: Snapshot, _ dimensions: [String]) throws -> String? {
        var problem: String?
        for dimension in dimensions where problem == nil {
            try snapshot.scan(dimension) { key, value in
                let keyProblem = key.withUnsafeBytes(tsvProblem)
                guard let reason = keyProblem ?? value.withUnsafeBytes(tsvProblem) else { return true }
                let shown = quoted(key.withUnsafeBytes { [UInt8]($0) })
                problem = keyProblem != nil ? "key \(shown) in \(dimension) \(reason)"
                    : "the value of key \(shown) in \(dimension) \(reason)"
                return false
            }
        }
        return problem
    }

    private func exportTSV(_ snapshot: Snapshot, _ dimensions: [String], _ progress: Progress) throws {
        var out = OutputBuffer()
        for dimension in dimensions {
            try snapshot.scan(dimension) { key, value in
                key.withUnsafeBytes { out.append($0) }
                out.append(UInt8(ascii: "\t"))
                value.withUnsafeBytes { out.append($0) }
                out.append(UInt8(ascii: "\n"))
                progress.add(key.byteCount + value.byteCount + 2, dimension)
                return true
            }
        }
        out.flush()
    }

    private func exportJSONL(_ snapshot: Snapshot, _ dimensions: [String], _ progress: Progress) throws {
        var out = OutputBuffer()
        var line: [UInt8] = []
        for dimension in dimensions {
            // Dimension names are [A-Za-z0-9_.-]: nothing in them needs JSON escaping.
            let head = Array("{\"dimension\": \"\(dimension)\", \"key\": \"".utf8)
            try snapshot.scan(dimension) { key, value in
                line.removeAll(keepingCapacity: true)
                line.append(contentsOf: head)
                key.withUnsafeBytes { appendBase64($0, to: &line) }
                line.append(contentsOf: "\", \"value\": \"".utf8)
                value.withUnsafeBytes { appendBase64($0, to: &line) }
                line.append(contentsOf: "\"}\n".utf8)
                line.withUnsafeBytes { out.append($0) }
                progress.add(line.count, dimension)
                return true
            }
        }
        out.flush()
    }
}

/// Why bytes cannot be a tsv field (`nil` if they can): not UTF-8, or a tab, CR or LF (CR too,
/// because import's line reader takes a CR before the LF as part of the line end).
func tsvProblem(_ bytes: UnsafeRawBufferPointer) -> String? {
    if let bad = bytes.first(where: { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
        return bad == 0x09 ? "contains a tab" : "contains a line break (CR or LF)"
    }
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return nil
        case .error: return "is not UTF-8 text"
        }
    }
}

/// Bytes for a message: printable ASCII as is, everything else (and `"`, `\`) as `\xHH`.
func quoted(_ bytes: [UInt8]) -> String {
    let hex = Array("0123456789abcdef".utf8)
    var text: [UInt8] = [UInt8(ascii: "\"")]
    for byte in bytes.prefix(80) {
        if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
            text.append(byte)
        } else {
            text += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        }
    }
    text.append(UInt8(ascii: "\""))
    if bytes.count > 80 { text += Array("…".utf8) }
    return String(decoding: text, as: UTF8.self)
}

/// The base64 alphabet of RFC 4648 § 4 (standard, not URL-safe).
let base64Alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

/// Appends the base64 of `bytes` (standard alphabet, `=` padding).
func appendBase64(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
    let alphabet = base64Alphabet
    out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
    var i = 0
    while i < bytes.count {
        let rest = min(3, bytes.count - i)
        var n = UInt32(bytes[i]) << 16
        if rest > 1 { n |= UInt32(bytes[i + 1]) << 8 }
        if rest > 2 { n |= UInt32(bytes[i + 2]) }
        out.append(alphabet[Int(n >> 18)])
        out.append(alphabet[Int(n >> 12 & 63)])
        out.append(rest > 1 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
        out.append(rest > 2 ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
        i += 3
    }
}
