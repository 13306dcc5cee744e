//! The files of one possible post-crash disk, in memory: directory entries and file contents by
//! inode, built by applying a chosen subset of a trace's operations in trace order
//! (``DiskModel``). It can be written out to a fresh directory, and it has a digest so that the
//! many crash states that leave identical disks are recovered once.

import Foundation
@testable import LayerStore

struct DiskImage {
    /// Directory inode → name → inode. Inode 0 is the root.
    private(set) var entries: [Int: [String: Int]] = [0: [:]]
    /// File inode → its bytes. `Data`, not `[UInt8]`: zero-filling and copying 64 KiB WAL
    /// files thousands of times must be memset and memcpy, even in a debug build.
    private var contents: [Int: Data] = [:]

    /// The bytes of file `inode`, if it was ever created or written.
    func bytes(of inode: Int) -> [UInt8]? { contents[inode].map { [UInt8]($0) } }

    /// Applies one operation, or the pieces of a write that `keptPieces` keeps (sector-sized
    /// pieces, see ``DiskModel/pieces(offset:count:)``; nil keeps all of it).
    mutating func apply(_ operation: RecordedOperation, keptPieces: [Bool]? = nil) {
        switch operation {
        case .createFile(let directory, let name, let inode):
            entries[directory, default: [:]][name] = inode
            if contents[inode] == nil { contents[inode] = Data() }
        case .makeDirectory(let directory, let name, let inode):
            entries[directory, default: [:]][name] = inode
            if entries[inode] == nil { entries[inode] = [:] }
        case .rename(let fromDirectory, let fromName, let toDirectory, let toName, let inode):
            // A rename whose source entry never reached the disk (its creation was lost) still
            // puts the file under the new name: the rename is what this state keeps.
            if entries[fromDirectory]?[fromName] == inode { entries[fromDirectory]![fromName] = nil }
            entries[toDirectory, default: [:]][toName] = inode
        case .unlink(let directory, let name, let inode):
            if entries[directory]?[name] == inode { entries[directory]![name] = nil }
        case .write(let inode, let offset, let bytes):
            guard let keptPieces else {
                write(inode, at: Int(offset), bytes[...])
                return
            }
            for (piece, kept) in zip(DiskModel.pieces(offset: offset, count: bytes.count), keptPieces) where kept {
                write(inode, at: Int(offset) + piece.lowerBound, bytes[piece])
            }
        case .allocate(let inode, let offset, let length):
            resize(inode, atLeast: Int(offset + length))
        case .truncate(let inode, let length):
            var data = contents.removeValue(forKey: inode) ?? Data()
            data.count = Int(length)  // cuts, or extends with zeros
            contents[inode] = data
        case .sync, .syncData, .commitStarted, .commitAcknowledged:
            break
        }
    }

    private mutating func resize(_ inode: Int, atLeast count: Int) {
        var data = contents.removeValue(forKey: inode) ?? Data()
        if data.count < count { data.count = count }
        contents[inode] = data
    }

    private mutating func write(_ inode: Int, at offset: Int, _ bytes: ArraySlice<UInt8>) {
        resize(inode, atLeast: offset + bytes.count)
        var data = contents.removeValue(forKey: inode)!  // uniquely referenced while it is changed
        bytes.withUnsafeBufferPointer { data.replaceSubrange(offset..<(offset + bytes.count), with: $0) }
        contents[inode] = data
    }

    /// Adds a file at `path` (its directories must exist): for building a starting disk by hand.
    mutating func addFile(at path: String, bytes: [UInt8]) {
        var directory = 0
        let parts = path.split(separator: "/").map(String.init)
        for part in parts.dropLast() { directory = entries[directory]![part]! }
        let inode = (Set(entries.keys).union(contents.keys).max() ?? 0) + 1
        apply(.createFile(directory: directory, name: parts.last!, inode: inode))
        apply(.write(inode: inode, offset: 0, bytes: bytes))
    }

    /// Adds a directory at `path` (its parent must exist).
    mutating func addDirectory(at path: String) {
        var directory = 0
        let parts = path.split(separator: "/").map(String.init)
        for part in parts.dropLast() { directory = entries[directory]![part]! }
        let inode = (Set(entries.keys).union(contents.keys).max() ?? 0) + 1
        apply(.makeDirectory(directory: directory, name: parts.last!, inode: inode))
    }

    /// Every path reachable from the root, in name order: (relative path, nil for a directory
    /// or the file's inode).
    func walk() -> [(path: String, file: Int?)] {
        var out: [(String, Int?)] = []
        func visit(_ directory: Int, _ prefix: String) {
            for (name, inode) in (entries[directory] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let path = prefix.isEmpty ? name : prefix + "/" + name
                if entries[inode] != nil {
                    out.append((path, nil))
                    visit(inode, path)
                } else {
                    out.append((path, inode))
                }
            }
        }
        visit(0, "")
        return out
    }

    /// A 128-bit digest of the names, kinds and bytes reachable from the root.
    var digest: Digest {
        var a = Digest.seedA, b = Digest.seedB
        for (path, file) in walk() {
            var header = Array(path.utf8)
            header.append(file == nil ? 0 : 1)
            let bytes = file.flatMap { contents[$0] } ?? Data()
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { header.append(contentsOf: $0) }
            let (hashA, hashB) = bytes.withUnsafeBytes { raw in (Checksum.xxh3(raw, seed: a &+ 1), Checksum.xxh3(raw, seed: b &+ 1)) }
            a = Checksum.xxh3(header, seed: a) ^ hashA
            b = Checksum.xxh3(header, seed: b) ^ hashB
        }
        return Digest(a: a, b: b)
    }

    struct Digest: Hashable {
        static let seedA: UInt64 = 0x43_52_41_53_48_41
        static let seedB: UInt64 = 0x43_52_41_53_48_42
        var a: UInt64
        var b: UInt64
    }

    /// Writes the image's tree into `directory` (which must exist and be empty).
    func materialize(into directory: String) throws {
        let fm = FileManager.default
        for (path, file) in walk() {
            let target = directory + "/" + path
            if let file {
                guard fm.createFile(atPath: target, contents: contents[file] ?? Data()) else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target])
                }
            } else {
                try fm.createDirectory(atPath: target, withIntermediateDirectories: false)
            }
        }
    }
}
