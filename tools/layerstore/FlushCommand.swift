import ArgumentParser
import LayerStore

/// `layerstore flush STORE`: everything in the WAL becomes segments; the WAL is checkpointed.
struct FlushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flush", abstract: "Turn everything in the WAL into segments and checkpoint the WAL.",
        discussion: """
            Opens the store as its writer (it must exist), writes the writes replayed from the \
            WAL as one segment per dimension, publishes them, drops the WAL files the new \
            checkpoint covers, and closes the store.
            --json prints one object: checkpointLSN (every write up to it is now in segments), \
            replayedOperations (what the open found in the WAL) and seconds.
            Exit codes: 0 flushed; 2 usage error; 3 store failure (missing store, another \
            writer holds it, damage, I/O error, disk full).
            """)

    @OptionGroup var path: StorePath
    @Flag(help: "Print the result as JSON.") var json = false

    /// `--json`'s object.
    struct Output: Encodable {
        var checkpointLSN: UInt64
        var replayedOperations: Int
        var seconds: Double
    }

    func run() throws {
        let started = monotonicNanoseconds()
        var options = StoreOptions()
        options.createIfMissing = false
        let store = try Store(path: path.store, options: options)
        try store.flush()
        let output = Output(checkpointLSN: store.lastLSN, replayedOperations: store.recoveryReport.replayedOperationCount,
                            seconds: Double(monotonicNanoseconds() - started) / 1e9)
        try store.close()
        if json {
            try printJSON(output)
        }
    }
}
