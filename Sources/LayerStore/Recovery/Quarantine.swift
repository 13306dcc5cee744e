//! Damaged files are moved, never deleted: `STORE/quarantine/` keeps them for inspection.

/// Moves damaged files of a store into its `quarantine/` directory.
struct Quarantine {
    let io: any FileIO
    let layout: StoreLayout
    let directoryPermissions: UInt32

    var directory: String { layout.root + "/quarantine" }

    /// Moves `relativePath` (relative to the store) into quarantine and returns where it went.
    /// The name keeps the path (`/` becomes `__`) and never replaces an earlier quarantined file.
    func move(_ relativePath: String) throws(StoreError) -> String {
        if try io.kind(of: directory) == .missing {
            try io.makeDirectory(directory, permissions: directoryPermissions)
            try io.syncDirectory(layout.root)
        }
        let base = relativePath.split(separator: "/").joined(separator: "__")
        var name = base
        var n = 1
        while try io.kind(of: directory + "/" + name) != .missing {
            name = base + ".\(n)"
            n += 1
        }
        try io.rename(layout.root + "/" + relativePath, to: directory + "/" + name)
        try io.syncDirectory(directory)
        try io.syncDirectory(StoreLayout.parent(of: layout.root + "/" + relativePath))
        return "quarantine/" + name
    }
}
