import Foundation
@testable import LayerStore

/// A ``FileIO`` that passes every call to the system, except those a rule makes fail.
final class FaultInjectingFileIO: FileIO, @unchecked Sendable {
    enum Operation: String, Sendable {
        case open, read, write, sync, syncData, allocate, truncate, map, syncMapping, rename, remove, makeDirectory, syncDirectory
    }

    struct Rule {
        var operation: Operation
        /// Only paths containing this string.
        var pathContains: String
        /// Skip this many matching calls before failing.
        var after: Int
        var errno: Int32
        /// Fail every matching call after the first failure (a dead disk), not just one.
        var sticky: Bool
    }

    private let base = SystemFileIO()
    private let lock = NSLock()
    private var rules: [Rule] = []
    private(set) var injected = 0
    private var counts: [Operation: Int] = [:]
    private var writeBackHints: [(path: String, offset: Int64, length: Int64)] = []

    /// The ranges whose write-back was started, in call order, of the paths containing `pathContains`.
    func writeBacks(pathContains: String) -> [(offset: Int64, length: Int64)] {
        lock.lock(); defer { lock.unlock() }
        return writeBackHints.filter { $0.path.contains(pathContains) }.map { ($0.offset, $0.length) }
    }

    func fail(_ operation: Operation, pathContains: String = "", after: Int = 0, errno: Int32 = EIO, sticky: Bool = false) {
        lock.lock(); defer { lock.unlock() }
        rules.append(Rule(operation: operation, pathContains: pathContains, after: after, errno: errno, sticky: sticky))
    }

    func clear() {
        lock.lock(); defer { lock.unlock() }
        rules.removeAll()
    }

    func count(_ operation: Operation) -> Int {
        lock.lock(); defer { lock.unlock() }
        return counts[operation, default: 0]
    }

    private func check(_ operation: Operation, _ path: String) throws(StoreError) {
        lock.lock()
        defer { lock.unlock() }
        counts[operation, default: 0] += 1
        for i in rules.indices where rules[i].operation == operation && (rules[i].pathContains.isEmpty || path.contains(rules[i].pathContains)) {
            if rules[i].after > 0 {
                rules[i].after -= 1
                continue
            }
            injected += 1
            let e = rules[i].errno
            if !rules[i].sticky { rules.remove(at: i) }
            throw StoreError.system("injected \(operation.rawValue)", path: path, errno: e)
        }
    }

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StoreError) -> Int32 {
        try check(.open, path); return try base.open(path, options, permissions: permissions)
    }
    func close(_ fd: Int32) { base.close(fd) }
    func read(_ fd: Int32, path: String, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StoreError) -> Int {
        try check(.read, path); return try base.read(fd, path: path, into: buffer, at: offset)
    }
    func write(_ fd: Int32, path: String, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StoreError) {
        try check(.write, path); try base.write(fd, path: path, bytes, at: offset)
    }
    func sync(_ fd: Int32, path: String) throws(StoreError) { try check(.sync, path); try base.sync(fd, path: path) }
    func syncData(_ fd: Int32, path: String) throws(StoreError) { try check(.syncData, path); try base.syncData(fd, path: path) }
    func startWriteBack(_ fd: Int32, path: String, offset: Int64, length: Int64) {
        lock.lock()
        writeBackHints.append((path, offset, length))
        lock.unlock()
        base.startWriteBack(fd, path: path, offset: offset, length: length)
    }
    func allocate(_ fd: Int32, path: String, offset: Int64, length: Int64) throws(StoreError) {
        try check(.allocate, path); try base.allocate(fd, path: path, offset: offset, length: length)
    }
    func truncate(_ fd: Int32, path: String, length: Int64) throws(StoreError) {
        try check(.truncate, path); try base.truncate(fd, path: path, length: length)
    }
    func size(_ fd: Int32, path: String) throws(StoreError) -> Int64 { try base.size(fd, path: path) }
    func map(_ fd: Int32, path: String, length: Int, writable: Bool) throws(StoreError) -> UnsafeMutableRawPointer {
        try check(.map, path); return try base.map(fd, path: path, length: length, writable: writable)
    }
    func syncMapping(_ pointer: UnsafeMutableRawPointer, length: Int, path: String) throws(StoreError) {
        try check(.syncMapping, path); try base.syncMapping(pointer, length: length, path: path)
    }
    func rename(_ from: String, to: String) throws(StoreError) { try check(.rename, to); try base.rename(from, to: to) }
    func remove(_ path: String) throws(StoreError) { try check(.remove, path); try base.remove(path) }
    func makeDirectory(_ path: String, permissions: UInt32) throws(StoreError) {
        try check(.makeDirectory, path); try base.makeDirectory(path, permissions: permissions)
    }
    func syncDirectory(_ path: String) throws(StoreError) { try check(.syncDirectory, path); try base.syncDirectory(path) }
    func list(_ path: String) throws(StoreError) -> [String] { try base.list(path) }
    func kind(of path: String) throws(StoreError) -> FileKind { try base.kind(of: path) }
    func lock(_ fd: Int32, path: String) throws(StoreError) { try base.lock(fd, path: path) }
    /// Free space as the system reports it, or `availableOverride` when a test sets it.
    var availableOverride: UInt64?
    func availableByteCount(_ path: String) throws(StoreError) -> UInt64 {
        if let availableOverride { return availableOverride }
        return try base.availableByteCount(path)
    }
}
