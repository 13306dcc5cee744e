import ArgumentParser
import LayerStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `layerstore get STORE DIM KEY`: the value's bytes on stdout. Opens the store read-only.
struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print a value's bytes on stdout (exit 1 if the key is missing).",
        discussion: """
            Opens the store read-only: works beside a running writer and changes nothing. \
            Prints the value's bytes as they are, with no newline added.
            --json prints one object instead: dimension, key, found, lsn (the snapshot read), \
            byteCount and value (base64, standard alphabet; null when not found).
            Exit codes: 0 found; 1 the key has no value; 2 usage error; 3 store failure \
            (missing store, invalid dimension name, damage, I/O error).
            """)

    @OptionGroup var path: StorePath
    @Argument(help: "The dimension.") var dimension: String
    @Argument(help: "The key (UTF-8 text).") var key: String
    @Flag(help: "Print the result as JSON, the value in base64.") var json = false

    func validate() throws { try checkText(key, "KEY") }

    /// `--json`'s object.
    struct Output: Encodable {
        var dimension: String
        var key: String
        var found: Bool
        var lsn: UInt64
        var byteCount: Int?
        var value: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(dimension, forKey: .dimension)
            try c.encode(key, forKey: .key)
            try c.encode(found, forKey: .found)
            try c.encode(lsn, forKey: .lsn)
            try c.encode(byteCount, forKey: .byteCount)
            try c.encode(value, forKey: .value)
        }

        enum CodingKeys: String, CodingKey { case dimension, key, found, lsn, byteCount, value }
    }

    func run() throws {
        var options = StoreOptions()
        options.readOnly = true
        let store = try Store(path: path.store, options: options)
        let found: Bool?
        if json {
            let snapshot = try store.snapshot()
            let value = try snapshot.value(forKey: Array(key.utf8), in: dimension)
            var base64: [UInt8] = []
            value?.withUnsafeBytes { appendBase64($0, to: &base64) }
            try printJSON(Output(dimension: dimension, key: key, found: value != nil, lsn: snapshot.lsn,
                                 byteCount: value?.count, value: value.map { _ in String(decoding: base64, as: UTF8.self) }))
            found = value.map { _ in true }
        } else {
            found = try store.withValue(forKey: Array(key.utf8), in: dimension) { span in
                span.withUnsafeBytes { writeStandardOutput($0) }
                return true
            }
        }
        if found == nil {
            printError("layerstore: key not found: \(key) in \(dimension)")
            throw ExitCode(ExitStatus.notFound)
        }
    }
}

/// `layerstore scan STORE DIM [--prefix P] [--keys-only]`: `KEY<TAB>VALUE` lines in key order.
struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Print a dimension's records as KEY<TAB>VALUE lines in key order.",
        discussion: """
            Opens the store read-only: works beside a running writer and changes nothing. \
            Deleted keys are left out.
            --json prints one JSON object per record instead, as export --format jsonl does: \
            {"dimension": "D", "key": "K", "value": "V"} with K and V in base64 (standard \
            alphabet, padded), so any bytes come out whole; --keys-only leaves out "value".
            Exit codes: 0 done (also when nothing matches); 2 usage error; 3 store failure \
            (missing store, invalid dimension name, damage, I/O error).
            """)

    @OptionGroup var path: StorePath
    @Argument(help: "The dimension.") var dimension: String
    @Option(help: "Only keys starting with this prefix.") var prefix: String = ""
    @Flag(help: "Print only the keys.") var keysOnly = false
    @Flag(help: "Print JSON lines, keys and values in base64.") var json = false

    func validate() throws { try checkText(prefix, "--prefix") }

    func run() throws {
        var options = StoreOptions()
        options.readOnly = true
        let store = try Store(path: path.store, options: options)
        var out = OutputBuffer()
        if json {
            try checkDimension(dimension)
            let head = Array("{\"dimension\": \"\(dimension)\", \"key\": \"".utf8)
            var line: [UInt8] = []
            try store.scan(dimension, prefix: Array(prefix.utf8)) { key, value in
                line.removeAll(keepingCapacity: true)
                line.append(contentsOf: head)
                key.withUnsafeBytes { appendBase64($0, to: &line) }
                if !keysOnly {
                    line.append(contentsOf: "\", \"value\": \"".utf8)
                    value.withUnsafeBytes { appendBase64($0, to: &line) }
                }
                line.append(contentsOf: "\"}\n".utf8)
                line.withUnsafeBytes { out.append($0) }
                return true
            }
            out.flush()
            return
        }
        try store.scan(dimension, prefix: Array(prefix.utf8)) { key, value in
            key.withUnsafeBytes { out.append($0) }
            if !keysOnly {
                out.append(UInt8(ascii: "\t"))
                value.withUnsafeBytes { out.append($0) }
            }
            out.append(UInt8(ascii: "\n"))
            return true
        }
        out.flush()
    }
}

/// Buffered standard output for bulk lines.
struct OutputBuffer {
    private var bytes: [UInt8] = []

    mutating func append(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
        if bytes.count >= 1 << 16 { flush() }
    }

    mutating func append(_ byte: UInt8) { bytes.append(byte) }

    mutating func flush() {
        bytes.withUnsafeBytes { writeStandardOutput($0) }
        bytes.removeAll(keepingCapacity: true)
    }
}

/// Writes all bytes to file descriptor 1, unbuffered (after flushing `print`'s buffer).
func writeStandardOutput(_ raw: UnsafeRawBufferPointer) {
    fflush(nil)
    writeAll(1, raw)
}
