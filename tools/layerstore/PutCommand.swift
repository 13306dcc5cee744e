import ArgumentParser
import LayerStore

/// `layerstore put STORE DIM KEY VALUE`: one synced put.
struct PutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Put one record (durable when the command returns).",
        discussion: """
            Opens the store as its writer (creating it if missing), commits one synced put, \
            closes it.
            Exit codes: 0 durable; 2 usage error (a tab or newline in KEY or VALUE); 3 store \
            failure (an invalid dimension name, another writer holds the store, I/O error, \
            disk full, damage).
            """)

    @OptionGroup var path: StorePath
    @Argument(help: "The dimension.") var dimension: String
    @Argument(help: "The key (UTF-8 text).") var key: String
    @Argument(help: "The value (UTF-8 text).") var value: String

    func validate() throws {
        try checkText(key, "KEY")
        try checkText(value, "VALUE")
    }

    func run() throws {
        let store = try Store(path: path.store)
        try store.put(value, forKey: key, in: dimension)
        try store.close()
    }
}

/// `layerstore delete STORE DIM KEY`: one synced delete.
struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete one key (durable when the command returns).",
        discussion: """
            Opens the store as its writer (creating it if missing), commits one synced delete \
            (a tombstone; deleting a missing key is not an error), closes it.
            Exit codes: 0 durable; 2 usage error; 3 store failure (an invalid dimension name, \
            another writer holds the store, I/O error, disk full, damage).
            """)

    @OptionGroup var path: StorePath
    @Argument(help: "The dimension.") var dimension: String
    @Argument(help: "The key (UTF-8 text).") var key: String

    func validate() throws { try checkText(key, "KEY") }

    func run() throws {
        let store = try Store(path: path.store)
        try store.delete(forKey: key, in: dimension)
        try store.close()
    }
}
