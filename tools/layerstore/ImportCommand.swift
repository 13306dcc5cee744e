import ArgumentParser
import LayerStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `layerstore import STORE DIM [--batch N]`: `KEY<TAB>VALUE` lines from stdin, committed in
/// batches; `committed T` is printed only after the batch holding record T is durable.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import KEY<TAB>VALUE lines from stdin in durable batches.",
        discussion: """
            After each batch is durable, prints "committed T" (T = records durable so far) and \
            flushes stdout. A record is never reported before it is durable.
            """)

    @OptionGroup var path: StorePath
    @Argument(help: "The dimension.") var dimension: String
    @Option(help: "Records per commit.") var batch: Int = 1000

    func validate() throws {
        guard batch >= 1 && batch <= 1_000_000 else { throw ValidationError("--batch must be between 1 and 1000000") }
    }

    func run() throws {
        let store = try Store(path: path.store)
        var pending = WriteBatch()
        var total = 0
        var lineNumber = 0
        func commitPending() throws {
            guard !pending.isEmpty else { return }
            try store.commit(pending)
            total += pending.count
            pending.removeAll()
            print("committed \(total)")
            fflush(nil)
        }
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            if line.isEmpty { continue }
            guard let tab = line.utf8.firstIndex(of: UInt8(ascii: "\t")) else {
                try commitPending()
                printError("layerstore: line \(lineNumber) has no tab; records before it are committed")
                throw ExitCode(ExitStatus.usage)
            }
            let key = Array(line.utf8[..<tab])
            let value = Array(line.utf8[line.utf8.index(after: tab)...])
            if pending.byteCount + key.count + value.count + 80 > Limits.batchByteCountMax { try commitPending() }
            try pending.put(value, forKey: key, in: dimension)
            if pending.count >= batch { try commitPending() }
        }
        try commitPending()
        try store.close()
    }
}
