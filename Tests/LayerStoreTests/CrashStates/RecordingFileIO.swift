//! A ``FileIO`` that does every operation on the real file system and also records, in order,
//! every one that changes what a crash could leave on disk (``RecordedOperation``). From the
//! trace, ``DiskModel`` rebuilds the files as they may be after a crash at any point.
//!
//! Invariants:
//! - An operation is recorded only after the real one succeeded, and under one lock with it, so
//!   the trace order is the order in which the system saw the calls.
//! - Every path under `root` has an inode number; descriptors map to the inode they opened, so a
//!   write through a descriptor whose file was renamed meanwhile still lands on the right file.
//! - What the root holds when recording starts is recorded first, followed by an fsync of
//!   every file and directory: it is durable, as a clean disk would be.
//! - Paths outside `root` pass through unrecorded.

import Foundation
@testable import LayerStore

final class RecordingFileIO: FileIO, @unchecked Sendable {
    /// The recorded directory (absolute, no trailing slash). Its inode is 0.
    let root: String
    private let base = SystemFileIO()
    private let lock = NSLock()
    private var trace: [RecordedOperation] = []
    /// Relative path (no leading slash; "" is the root) → inode, as the live file system has it.
    private var inodes: [String: Int] = ["": 0]
    private var nextInode = 1
    private var descriptors: [Int32: Int] = [:]
    /// Writable mappings: base address → inode.
    private var mappings: [UInt: Int] = [:]

    /// Starts recording under `root` (an existing directory), taking what it holds as durable.
    init(root: String) {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
        captureExisting("")
        initialOperationCount = trace.count
    }

    /// How many entries record what the root held at the start (crashes before their end
    /// would be crashes before the recording began).
    private(set) var initialOperationCount = 0

    /// The operations recorded so far.
    var operations: [RecordedOperation] {
        lock.lock(); defer { lock.unlock() }
        return trace
    }

    /// Leaves a workload mark (commit started or acknowledged) between operations.
    func mark(_ entry: RecordedOperation) {
        precondition(!entry.isDiskOperation, "only marks are added by hand")
        lock.lock(); defer { lock.unlock() }
        trace.append(entry)
    }

    // MARK: Paths

    /// The path relative to the root, or nil if it lies outside.
    private func relative(_ path: String) -> String? {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        if p == root { return "" }
        guard p.hasPrefix(root + "/") else { return nil }
        return String(p.dropFirst(root.count + 1))
    }

    private static func split(_ relative: String) -> (parent: String, name: String) {
        guard let slash = relative.lastIndex(of: "/") else { return ("", relative) }
        return (String(relative[..<slash]), String(relative[relative.index(after: slash)...]))
    }

    private func newInode() -> Int {
        defer { nextInode += 1 }
        return nextInode
    }

    /// Records the tree below `relative` as created and synced (called once, from init).
    private func captureExisting(_ relative: String) {
        let absolute = relative.isEmpty ? root : root + "/" + relative
        let names = (try? FileManager.default.contentsOfDirectory(atPath: absolute))?.sorted() ?? []
        let directory = inodes[relative]!
        for name in names {
            let child = relative.isEmpty ? name : relative + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: absolute + "/" + name, isDirectory: &isDirectory) else { continue }
            let inode = newInode()
            inodes[child] = inode
            if isDirectory.boolValue {
                trace.append(.makeDirectory(directory: directory, name: name, inode: inode))
                captureExisting(child)
            } else {
                trace.append(.createFile(directory: directory, name: name, inode: inode))
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: absolute + "/" + name))).map { [UInt8]($0) } ?? []
                if !bytes.isEmpty { trace.append(.write(inode: inode, offset: 0, bytes: bytes)) }
                trace.append(.sync(inode: inode))
            }
        }
        trace.append(.sync(inode: directory))
    }

    // MARK: FileIO

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StoreError) -> Int32 {
        lock.lock(); defer { lock.unlock() }
        guard let rel = relative(path) else { return try base.open(path, options, permissions: permissions) }
        let existed = options.contains(.create) ? (try base.kind(of: path)) != .missing : true
        let fd = try base.open(path, options, permissions: permissions)
        if !existed {
            let (parent, name) = Self.split(rel)
            let inode = newInode()
            inodes[rel] = inode
            trace.append(.createFile(directory: inodes[parent]!, name: name, inode: inode))
        }
        descriptors[fd] = inodes[rel]
        return fd
    }

    func close(_ fd: Int32) {
        lock.lock(); defer { lock.unlock() }
        descriptors[fd] = nil
        base.close(fd)
    }

    func read(_ fd: Int32, path: String, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StoreError) -> Int {
        try base.read(fd, path: path, into: buffer, at: offset)
    }

    func write(_ fd: Int32, path: String, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        try base.write(fd, path: path, bytes, at: offset)
        if let inode = descriptors[fd] { trace.append(.write(inode: inode, offset: offset, bytes: [UInt8](bytes))) }
    }

    func sync(_ fd: Int32, path: String) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        try base.sync(fd, path: path)
        if let inode = descriptors[fd] { trace.append(.sync(inode: inode)) }
    }

    /// Microseconds each `fdatasync` waits first (outside the lock: others go on meanwhile),
    /// as a real disk's would: concurrent commits then pile up into groups.
    var syncDataDelayMicroseconds: UInt32 = 0

    func syncData(_ fd: Int32, path: String) throws(StoreError) {
        if syncDataDelayMicroseconds > 0 { usleep(syncDataDelayMicroseconds) }
        lock.lock(); defer { lock.unlock() }
        try base.syncData(fd, path: path)
        if let inode = descriptors[fd] { trace.append(.syncData(inode: inode)) }
    }

    func allocate(_ fd: Int32, path: String, offset: Int64, length: Int64) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        try base.allocate(fd, path: path, offset: offset, length: length)
        if let inode = descriptors[fd] { trace.append(.allocate(inode: inode, offset: offset, length: length)) }
    }

    func truncate(_ fd: Int32, path: String, length: Int64) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        try base.truncate(fd, path: path, length: length)
        if let inode = descriptors[fd] { trace.append(.truncate(inode: inode, length: length)) }
    }

    func size(_ fd: Int32, path: String) throws(StoreError) -> Int64 { try base.size(fd, path: path) }

    func map(_ fd: Int32, path: String, length: Int, writable: Bool) throws(StoreError) -> UnsafeMutableRawPointer {
        lock.lock(); defer { lock.unlock() }
        let pointer = try base.map(fd, path: path, length: length, writable: writable)
        if writable, let inode = descriptors[fd] { mappings[UInt(bitPattern: pointer)] = inode }
        return pointer
    }

    /// A writable mapping's pages enter the trace here, as a write of the whole mapping followed
    /// by an fdatasync: `msync(MS_SYNC)` is the first moment they are certainly on disk. (The
    /// kernel may write dirty pages back earlier; the model does not split those out.)
    func syncMapping(_ pointer: UnsafeMutableRawPointer, length: Int, path: String) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        try base.syncMapping(pointer, length: length, path: path)
        if let inode = mappings[UInt(bitPattern: pointer)] {
            trace.append(.write(inode: inode, offset: 0, bytes: [UInt8](UnsafeRawBufferPointer(start: pointer, count: length))))
            trace.append(.syncData(inode: inode))
        }
    }

    func rename(_ from: String, to: String) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        try base.rename(from, to: to)
        guard let source = relative(from), let target = relative(to), let inode = inodes[source] else { return }
        let (fromParent, fromName) = Self.split(source)
        let (toParent, toName) = Self.split(target)
        inodes[source] = nil
        inodes[target] = inode
        trace.append(.rename(fromDirectory: inodes[fromParent]!, fromName: fromName, toDirectory: inodes[toParent]!, toName: toName, inode: inode))
    }

    func remove(_ path: String) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        try base.remove(path)
        guard let rel = relative(path), let inode = inodes[rel] else { return }
        let (parent, name) = Self.split(rel)
        inodes[rel] = nil
        trace.append(.unlink(directory: inodes[parent]!, name: name, inode: inode))
    }

    func makeDirectory(_ path: String, permissions: UInt32) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        try base.makeDirectory(path, permissions: permissions)
        guard let rel = relative(path) else { return }
        let (parent, name) = Self.split(rel)
        let inode = newInode()
        inodes[rel] = inode
        trace.append(.makeDirectory(directory: inodes[parent]!, name: name, inode: inode))
    }

    func syncDirectory(_ path: String) throws(StoreError) {
        lock.lock(); defer { lock.unlock() }
        try base.syncDirectory(path)
        if let rel = relative(path), let inode = inodes[rel] { trace.append(.sync(inode: inode)) }
    }

    func list(_ path: String) throws(StoreError) -> [String] { try base.list(path) }
    func kind(of path: String) throws(StoreError) -> FileKind { try base.kind(of: path) }
    func availableByteCount(_ path: String) throws(StoreError) -> UInt64 { try base.availableByteCount(path) }
    func lock(_ fd: Int32, path: String) throws(StoreError) { try base.lock(fd, path: path) }
}
