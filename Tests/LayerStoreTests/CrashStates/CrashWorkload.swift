//! A scripted workload run once against a ``RecordingFileIO``: its trace (with a mark before and
//! after each commit) and the store's expected contents after each commit, which the crash
//! checker compares recovered stores against.

import Foundation
@testable import LayerStore

/// A store's contents: dimension → key → value (dimensions with no live key are left out).
typealias StoreContents = [String: [String: [UInt8]]]

struct CrashWorkload {
    /// One write of a commit: a put, or a delete when `value` is nil.
    struct Write {
        var dimension: String
        var key: String
        var value: [UInt8]?
    }

    enum Step {
        case commit([Write])
        /// Commits from one thread each, at once: group commit writes and syncs them together.
        /// Their order (for the expected contents) is the order of their LSNs.
        case concurrentCommits([[Write]])
        case flush
        case compact(CompactionOptions)
        /// `Store.sync()`: every commit so far is acknowledged (for `bufferedUnsynced`).
        case sync
        /// Close the store cleanly and open it again through the recorder (recovery is traced).
        case reopen
    }

    /// The result of running a workload.
    struct Recording {
        var trace: [RecordedOperation]
        /// The first crash point: after the entries that record the starting disk.
        var firstCrashPoint: Int
        /// `expected[p]`: the contents after the first `p` commits.
        var expected: [StoreContents]
        /// The store, relative to the recording root.
        var storePath: String
        var options: StoreOptions
        /// The real directory tree when the workload ended: relative path → bytes (nil for a
        /// directory). With every operation kept, the model must rebuild exactly this.
        var finalTree: [String: [UInt8]?]
    }

    var name: String
    var options: StoreOptions
    var steps: [Step]
    /// A deliberate engine bug for testing the checker: commits count as acknowledged when
    /// `commit` returns, even in `bufferedUnsynced` mode, where nothing was synced yet.
    var acknowledgeUnsynced = false
    /// A pause before each fdatasync of the recorded run (``RecordingFileIO/syncDataDelayMicroseconds``).
    var syncDataDelayMicroseconds: UInt32 = 0

    /// Runs the steps in a fresh directory and returns the recording. The store is closed
    /// cleanly at the end (the close is traced too).
    /// - Parameters:
    ///   - initial: a disk to start from (a crash state: the run then begins with its
    ///     recovery, traced). Its files count as durable, and the contents the recovery finds
    ///     count as acknowledged.
    ///   - recoverFirst: begin with `layerstore recover` (``Recoverer``, no salvage) through
    ///     the recorder, before the store is opened.
    func record(startingFrom initial: DiskImage? = nil, recoverFirst: Bool = false) throws -> Recording {
        let directory = MemoryBackedDirectory("crash-record")
        try initial?.materialize(into: directory.path)
        let io = RecordingFileIO(root: directory.path)
        io.syncDataDelayMicroseconds = syncDataDelayMicroseconds
        let storePath = "s"
        if recoverFirst, FileManager.default.fileExists(atPath: directory.child(storePath)) {
            do throws(StoreError) {
                _ = try Recoverer.run(path: directory.child(storePath), dryRun: false, salvage: false, options: options, io: io)
            } catch {
                // A creation interrupted before its manifest (or its wal/ and dims/): nothing to
                // recover (recovery.md § Path and writer lock); the open below creates the store.
                guard error.code == .notAStore else { throw error }
            }
        }
        var store = try Store(path: directory.child(storePath), options: options, io: io)
        var expected: [StoreContents] = [initial == nil ? [:] : try CrashStateChecker.contents(of: store)]
        var acknowledged = 0
        var renumbered: [Int: Int] = [:]
        for step in steps {
            switch step {
            case .commit(let writes):
                let batch = try Self.batch(writes)
                io.mark(.commitStarted(expected.count - 1))
                try store.commit(batch)
                expected.append(Self.apply(writes, to: expected.last!))
                if options.durability == .sync || acknowledgeUnsynced {
                    io.mark(.commitAcknowledged(expected.count - 2))
                    acknowledged = expected.count - 1
                }
            case .concurrentCommits(let batches):
                // Marks carry provisional numbers until the LSNs tell the commits' order.
                let first = expected.count - 1
                let lsns = try commitConcurrently(batches, to: store, io: io, provisional: Self.provisionalBase + first)
                for (rank, i) in batches.indices.sorted(by: { lsns[$0] < lsns[$1] }).enumerated() {
                    renumbered[Self.provisionalBase + first + i] = first + rank
                    expected.append(Self.apply(batches[i], to: expected.last!))
                }
                if options.durability == .sync || acknowledgeUnsynced { acknowledged = expected.count - 1 }
            case .flush:
                try store.flush()
            case .compact(let compaction):
                _ = try store.compact(compaction)
            case .sync:
                try store.sync()
                while acknowledged < expected.count - 1 {
                    io.mark(.commitAcknowledged(acknowledged))
                    acknowledged += 1
                }
            case .reopen:
                try store.close()
                store = try Store(path: directory.child(storePath), options: options, io: io)
            }
        }
        try store.close()
        let trace = io.operations.map { (entry) -> RecordedOperation in
            switch entry {
            case .commitStarted(let c): return .commitStarted(renumbered[c] ?? c)
            case .commitAcknowledged(let c): return .commitAcknowledged(renumbered[c] ?? c)
            default: return entry
            }
        }
        return Recording(trace: trace, firstCrashPoint: io.initialOperationCount, expected: expected, storePath: storePath, options: options,
                         finalTree: Self.tree(at: directory.path))
    }

    static let provisionalBase = 1 << 40

    static func batch(_ writes: [Write]) throws -> WriteBatch {
        var batch = WriteBatch()
        for w in writes {
            if let value = w.value {
                try batch.put(value, forKey: Array(w.key.utf8), in: w.dimension)
            } else {
                try batch.delete(forKey: w.key, in: w.dimension)
            }
        }
        return batch
    }

    static func apply(_ writes: [Write], to contents: StoreContents) -> StoreContents {
        var next = contents
        for w in writes {
            if let value = w.value {
                next[w.dimension, default: [:]][w.key] = value
            } else {
                next[w.dimension]?[w.key] = nil
                if next[w.dimension]?.isEmpty == true { next[w.dimension] = nil }
            }
        }
        return next
    }

    /// Commits `batches` from one thread each, all at once (group commit gathers them), each
    /// marked with `provisional + i`; returns each batch's last LSN.
    private func commitConcurrently(_ batches: [[Write]], to store: Store, io: RecordingFileIO, provisional: Int) throws -> [LSN] {
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var lsns: [Int: LSN] = [:]
            var failure: (any Error)?
        }
        let results = Results()
        let group = DispatchGroup()
        let acknowledge = options.durability == .sync || acknowledgeUnsynced
        for (i, writes) in batches.enumerated() {
            let batch = try Self.batch(writes)
            group.enter()
            // A thread each, not a dispatch queue: the pool would not grow past the cores while
            // the first ones wait for their sync, and nothing would gather into a group.
            Thread {
                defer { group.leave() }
                io.mark(.commitStarted(provisional + i))
                do {
                    let lsn = try store.commit(batch)
                    if acknowledge { io.mark(.commitAcknowledged(provisional + i)) }
                    results.lock.withLock { results.lsns[i] = lsn }
                } catch {
                    results.lock.withLock { results.failure = error }
                }
            }.start()
        }
        group.wait()
        if let failure = results.failure { throw failure }
        return batches.indices.map { results.lsns[$0]! }
    }

    /// Every path below `root` with its bytes (nil for a directory).
    static func tree(at root: String) -> [String: [UInt8]?] {
        var out: [String: [UInt8]?] = [:]
        guard let names = FileManager.default.enumerator(atPath: root) else { return out }
        while let name = names.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDirectory)
            out[name] = isDirectory.boolValue ? .some(nil) : .some(FileManager.default.contents(atPath: root + "/" + name).map { [UInt8]($0) } ?? [])
        }
        return out
    }
}

extension CrashWorkload.Write {
    static func put(_ key: String, _ value: String, in dimension: String = "d") -> Self {
        .init(dimension: dimension, key: key, value: Array(value.utf8))
    }
    static func put(_ key: String, byteCount: Int, seed: UInt8, in dimension: String = "d") -> Self {
        .init(dimension: dimension, key: key, value: (0..<byteCount).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed })
    }
    static func delete(_ key: String, in dimension: String = "d") -> Self {
        .init(dimension: dimension, key: key, value: nil)
    }
}
