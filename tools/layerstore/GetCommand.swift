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
        discussion: "Opens the store read-only: works beside a running writer and changes nothing.")

    @OptionGroup var path: StorePath
    @Argument(help: "The dimension.") var dimension: String
    @Argument(help: "The key (UTF-8 text).") var key: String

    func validate() throws { try checkText(key, "KEY") }

    func run() throws {
        var options = StoreOptions()
        options.readOnly = true
        let store = try Store(path: path.store, options: options)
        let found: Bool? = try store.withValue(forKey: Array(key.utf8), in: dimension) { span in
            span.withUnsafeBytes { writeStandardOutput($0) }
            return true
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
        discussion: "Opens the store read-only: works beside a running writer and changes nothing.")

    @OptionGroup var path: StorePath
    @Argument(help: "The dimension.") var dimension: String
    @Option(help: "Only keys starting with this prefix.") var prefix: String = ""
    @Flag(help: "Print only the keys.") var keysOnly = false

    func validate() throws { try checkText(prefix, "--prefix") }

    func run() throws {
        var options = StoreOptions()
        options.readOnly = true
        let store = try Store(path: path.store, options: options)
        var out = OutputBuffer()
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
