import ArgumentParser
import LayerStore

/// `layerstore flush STORE`: everything in the WAL becomes segments; the WAL is checkpointed.
struct FlushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flush", abstract: "Turn everything in the WAL into segments and checkpoint the WAL.")

    @OptionGroup var path: StorePath

    func run() throws {
        var options = StoreOptions()
        options.createIfMissing = false
        let store = try Store(path: path.store, options: options)
        try store.flush()
        try store.close()
    }
}
