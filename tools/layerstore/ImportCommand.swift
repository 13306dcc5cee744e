import ArgumentParser
import Foundation
import LayerStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `layerstore import STORE DIM [--batch N] [--format tsv|jsonl]`: records from stdin, committed
/// in batches; `committed T` is printed only after the batch holding record T is durable.
///
/// A bad line (no tab in tsv; bad JSON, bad base64 or another dimension in jsonl) stops the
/// import with exit 2 naming the line, after committing (and reporting) every record before it.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import KEY<TAB>VALUE lines (or JSON lines) from stdin in durable batches.",
        discussion: """
            After each batch is durable, prints "committed T" (T = records durable so far) and \
            flushes stdout. A record is never reported before it is durable.

            --format tsv (default): KEY<TAB>VALUE lines of UTF-8 text; the first tab separates, \
            so a value may hold tabs. Empty lines are skipped.

            --format jsonl: one JSON object per line, {"key": "K", "value": "V"} with K and V \
            in base64 (standard alphabet, padded), as `layerstore export --format jsonl` \
            prints them. A "dimension" field, if present, must equal DIM; other fields are \
            refused. Empty lines are skipped.

            A bad line (no tab; bad JSON, bad base64, another dimension, a missing or unknown \
            field) stops the import after committing the records before it, and names the line.

            --json prints each "committed T" line as {"committed": T} and ends with one summary \
            object: {"batches": B, "committed": T, "bytes": N, "seconds": S} (bytes of input \
            read). A progress bar is drawn on stderr when it is a terminal.
            Exit codes: 0 done; 2 usage error or a bad line; 3 store failure (including a \
            key or value the store refuses: empty, too long).
            """)

    @OptionGroup var path: StorePath
    @Argument(help: "The dimension.") var dimension: String
    @Option(help: "Records per commit.") var batch: Int = 1000
    @Option(help: "tsv or jsonl.") var format: RecordFormat = .tsv
    @Flag(help: "Print progress and the summary as JSON.") var json = false

    /// `--json`'s closing object.
    struct Summary: Encodable {
        var batches: Int
        var committed: Int
        var bytes: Int
        var seconds: Double
    }

    func validate() throws {
        guard batch >= 1 && batch <= 1_000_000 else { throw ValidationError("--batch must be between 1 and 1000000") }
    }

    func run() throws {
        let started = monotonicNanoseconds()
        let store = try Store(path: path.store)
        var pending = WriteBatch()
        var total = 0
        var batches = 0
        var lineNumber = 0
        var bytesRead = 0
        let bar = ProgressBar(label: "import")
        let inputByteCount = standardInputFileSize()
        func commitPending() throws {
            guard !pending.isEmpty else { return }
            try store.commit(pending)
            total += pending.count
            batches += 1
            pending.removeAll()
            bar.finish()
            print(json ? "{\"committed\": \(total)}" : "committed \(total)")
            fflush(nil)
        }
        defer { bar.finish() }
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            bytesRead += line.utf8.count + 1
            bar.update(done: bytesRead, total: inputByteCount, item: "line \(lineNumber)")
            if line.isEmpty { continue }
            let record: (key: [UInt8], value: [UInt8])
            switch format {
            case .tsv:
                guard let tab = line.utf8.firstIndex(of: UInt8(ascii: "\t")) else {
                    try commitPending()
                    printError("layerstore: line \(lineNumber) has no tab; records before it are committed")
                    throw ExitCode(ExitStatus.usage)
                }
                record = (Array(line.utf8[..<tab]), Array(line.utf8[line.utf8.index(after: tab)...]))
            case .jsonl:
                switch parseJSONLRecord(line, dimension: dimension) {
                case .success(let parsed): record = parsed
                case .failure(let problem):
                    try commitPending()
                    printError("layerstore: line \(lineNumber): \(problem.message); records before it are committed")
                    throw ExitCode(ExitStatus.usage)
                }
            }
            if pending.byteCount + record.key.count + record.value.count + 80 > Limits.batchByteCountMax { try commitPending() }
            try pending.put(record.value, forKey: record.key, in: dimension)
            if pending.count >= batch { try commitPending() }
        }
        try commitPending()
        try store.close()
        if json {
            try printJSON(Summary(batches: batches, committed: total, bytes: bytesRead,
                                  seconds: Double(monotonicNanoseconds() - started) / 1e9))
        }
    }
}

/// The size of standard input if it is a regular file (for a progress bar), else 0: unknown.
func standardInputFileSize() -> Int {
    var info = stat()
    guard fstat(0, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return 0 }
    return Int(info.st_size)
}

/// Why a JSON line is not a record.
struct JSONLProblem: Error {
    var message: String
}

/// One `import --format jsonl` line: `{"key": base64, "value": base64}`, with an optional
/// `"dimension"` that must equal `dimension`.
func parseJSONLRecord(_ line: String, dimension: String) -> Result<(key: [UInt8], value: [UInt8]), JSONLProblem> {
    let object: [String: Any]
    do {
        guard let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            return .failure(JSONLProblem(message: "not a JSON object"))
        }
        object = parsed
    } catch {
        return .failure(JSONLProblem(message: "not valid JSON"))
    }
    if let unknown = object.keys.sorted().first(where: { !["dimension", "key", "value"].contains($0) }) {
        return .failure(JSONLProblem(message: "unknown field \"\(unknown)\" (expected key, value and optionally dimension)"))
    }
    if let field = object["dimension"] {
        guard let name = field as? String else { return .failure(JSONLProblem(message: "\"dimension\" is not a string")) }
        guard name == dimension else {
            return .failure(JSONLProblem(message: "dimension \"\(name)\" is not the dimension imported into (\(dimension))"))
        }
    }
    var fields: [[UInt8]] = []
    for name in ["key", "value"] {
        guard let field = object[name] else { return .failure(JSONLProblem(message: "no \"\(name)\" field")) }
        guard let text = field as? String, let bytes = Data(base64Encoded: text) else {
            return .failure(JSONLProblem(message: "\"\(name)\" is not a base64 string (standard alphabet, padded)"))
        }
        fields.append([UInt8](bytes))
    }
    return .success((fields[0], fields[1]))
}
