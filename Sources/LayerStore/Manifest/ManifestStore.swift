//! Reads the newest valid manifest of a store and publishes new ones by atomic swap
//! (Formats/manifest.md § Publishing, § Choosing a manifest).
//!
//! Publishing: write `MANIFEST-<g>.tmp`, fsync it, rename it to `MANIFEST-<g>`, fsync the store
//! directory. The rename is the commit point: before it the old manifest rules, after it the new
//! one. The newest ``ManifestStore/keptCount`` manifests are kept so that a damaged newest one
//! can fall back to the previous one (with the WAL still holding everything above its checkpoint).

/// A manifest that was passed over while choosing, and why.
struct SkippedManifest: Equatable, Sendable {
    var name: String
    var reason: String
}

/// Access to the manifests of one store directory.
struct ManifestStore {
    let io: any FileIO
    let directory: String
    let permissions: UInt32

    /// How many of the newest manifests stay on disk.
    static let keptCount = 2

    /// The manifest generations present, newest first.
    func generations() throws(StoreError) -> [UInt64] {
        ManifestStore.generations(in: try io.list(directory))
    }

    /// The manifest generations among the names of a listing of the store directory, newest
    /// first.
    static func generations(in names: [String]) -> [UInt64] {
        names.compactMap(ManifestFormat.generation).sorted(by: >)
    }

    /// The newest manifest whose checksum and structure hold, with the newer ones passed over.
    /// - Parameters:
    ///   - listing: the store directory's names, if the caller has just listed it.
    ///   - newestValidOnly: stop at the newest valid manifest (a read-only open, which never
    ///     uses older ones): `all` then holds just it, and older manifests are not read.
    /// - Throws: `notAStore` if there is no manifest at all; `corrupted` if none is valid;
    ///   `unsupportedFormat` if the newest readable one is from a newer format.
    func loadNewest(listing: [String]? = nil, newestValidOnly: Bool = false) throws(StoreError)
        -> (manifest: Manifest, skipped: [SkippedManifest], all: [Manifest])
    {
        let gens: [UInt64]
        if let listing { gens = ManifestStore.generations(in: listing) } else { gens = try generations() }
        guard !gens.isEmpty else { throw StoreError(.notAStore, "no manifest found", path: directory) }
        var skipped: [SkippedManifest] = []
        var valid: [Manifest] = []
        for generation in gens {
            let name = ManifestFormat.fileName(generation)
            do throws(StoreError) {
                let bytes = try io.readWholeFile(directory + "/" + name)
                valid.append(try ManifestCodec.decode(bytes, generation: generation, path: directory + "/" + name))
                if newestValidOnly { break }
            } catch where error.code == .corrupted {
                if valid.isEmpty { skipped.append(SkippedManifest(name: name, reason: error.message)) }
            }
        }
        guard let newest = valid.first else {
            throw StoreError(.corrupted, "every manifest is damaged (\(skipped.map(\.name).joined(separator: ", ")))", path: directory)
        }
        guard valid.allSatisfy({ $0.storeID == newest.storeID }) else {
            throw StoreError(.corrupted, "manifests of two different stores are in one directory", path: directory)
        }
        return (newest, skipped, valid)
    }

    /// Atomically publishes `manifest` (whose generation must be new) and prunes old manifests.
    func publish(_ manifest: Manifest) throws(StoreError) {
        precondition(manifest.isWellFormed(), "publishing a malformed manifest")
        let name = ManifestFormat.fileName(manifest.generation)
        let temp = directory + "/" + name + ".tmp"
        try? io.remove(temp)  // a leftover from a crash of an earlier attempt at this generation
        let bytes = ManifestCodec.encode(manifest)
        // Paired check: the bytes must decode to what we meant to write before they go to disk.
        assert((try? ManifestCodec.decode(bytes, generation: manifest.generation, path: temp)) == manifest)
        try io.writeNewFile(temp, bytes, permissions: permissions)
        try io.rename(temp, to: directory + "/" + name)
        try io.syncDirectory(directory)
        try prune()
    }

    /// Removes manifests older than the newest ``keptCount``.
    private func prune() throws(StoreError) {
        for generation in try generations().dropFirst(ManifestStore.keptCount) {
            try io.remove(directory + "/" + ManifestFormat.fileName(generation))
        }
    }
}
