//! The paths of a store directory (Formats/store-layout.md).

/// Where each kind of file lives inside a store directory.
struct StoreLayout: Sendable {
    let root: String

    init(_ root: String) {
        var root = root
        // On bytes: Character counting and matching would run Unicode code an open does not
        // otherwise need.
        while root.utf8.count > 1 && root.utf8.last == UInt8(ascii: "/") { root.removeLast() }
        self.root = root
    }

    var lockFile: String { root + "/LOCK" }
    var walDirectory: String { root + "/wal" }
    var dimensionsDirectory: String { root + "/dims" }

    func dimensionDirectory(_ name: String) -> String { dimensionsDirectory + "/" + name }

    func segmentPath(dimension: String, id: UInt64, version: UInt32) -> String {
        SegmentName.path(directory: dimensionDirectory(dimension), id: id, version: version)
    }

    /// The directory containing `path` (`.` for a bare name).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Temporary files end with this; they were never published and are removed on open.
    static let tempSuffix = ".tmp"
}
