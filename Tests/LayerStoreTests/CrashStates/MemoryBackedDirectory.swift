//! A fresh directory on a memory-backed file system (`/dev/shm`) when there is one, else under
//! the system temp directory. Recovering thousands of crash states costs an fsync or more each
//! (a writer open syncs the WAL it replayed; a clean close syncs again); on tmpfs those are
//! nearly free, and nothing about the check depends on real durability.

import Foundation

final class MemoryBackedDirectory: @unchecked Sendable {
    let path: String

    init(_ label: String) {
        var isDirectory: ObjCBool = false
        let shm = "/dev/shm"
        let base = FileManager.default.fileExists(atPath: shm, isDirectory: &isDirectory) && isDirectory.boolValue
            && FileManager.default.isWritableFile(atPath: shm) ? shm : FileManager.default.temporaryDirectory.path
        path = base + "/layerstore-test-\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A path inside the directory that does not exist yet.
    func child(_ name: String) -> String { path + "/" + name }
}
