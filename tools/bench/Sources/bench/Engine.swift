//! What the harness needs of a storage engine, and nothing more: open, synced commits,
//! zero-copy point reads and scans through a per-thread session, settle, publish, compact to a
//! cold LZ4 tier, close. Each engine's adapter lives in its own file with its C calls.

import LayerStoreWorkload

/// How an engine is opened for a phase.
struct OpenMode: Sendable {
    /// Open without writing (cold open, the reader side).
    var readOnly = false
    /// Keep writes unflushed (recovery: the WAL must hold them all when the writer dies).
    var holdInMemory = false
    /// Compress with LZ4 (RocksDB's cold tier; LayerStore compacts explicitly instead).
    var lz4 = false
    /// Verify every block on every read (LayerStore's "verification on").
    var verifyEveryRead = false
}

/// One engine under test, open on one directory. Thread-safe: sessions run on many threads.
protocol Engine: AnyObject, Sendable {
    /// The engine's id in figures (`layerstore`, `lmdb`, …).
    static var name: String { get }
    /// Its configuration, in words, for the report.
    static var configuration: String { get }
    /// Whether every commit is itself a publication (LMDB: a new root page), rather than a
    /// separate flush or checkpoint.
    static var publishesOnCommit: Bool { get }
    /// Opens (creating if missing) the store at `path`.
    init(path: String, dimensionCount: Int, mode: OpenMode) throws
    /// A session for one thread.
    func makeSession() throws -> any EngineSession
    /// Finishes all background work: flushes, checkpoints, compactions.
    func settle() throws
    /// Makes the newest writes visible through the engine's own publication (a flush and
    /// manifest swap, a checkpoint); returns when published.
    func publish() throws
    /// Rewrites everything into LZ4-compressed form; `false` if the engine has no such tier.
    func compactCold() throws -> Bool
    /// Bytes on disk of the first `dimensionCount` dimensions' data files (the workload's own
    /// data, without the WAL and without the dimensions other phases wrote).
    func dataFileBytes(dimensionCount: Int) throws -> Int?
    /// Closes the engine; sessions must be closed first.
    func close() throws
}


/// One thread's handle on an engine. Used by one thread at a time.
protocol EngineSession: AnyObject {
    /// One synced (durable) commit of all of `batch`.
    func commit(_ batch: RecordBatch) throws
    /// `Workload.touch` of the value of `key` in `dimension`, read zero-copy in its own read
    /// snapshot, or `nil` if the key is missing.
    func touch(_ key: [UInt8], dimension: Int) throws -> UInt64?
    /// Calls `body` with every value of `dimension` in key order; returns how many.
    func scan(dimension: Int, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int
    /// Releases the session's resources.
    func close()
}

/// The engines the harness knows, by name.
enum EngineKind: String, CaseIterable, Sendable {
    case layerstore, lmdb, sqlite, rocksdb

    var type: any Engine.Type {
        switch self {
        case .layerstore: return LayerStoreEngine.self
        case .lmdb: return LMDBEngine.self
        case .sqlite: return SQLiteEngine.self
        case .rocksdb: return RocksDBEngine.self
        }
    }

    func open(path: String, dimensionCount: Int, mode: OpenMode = OpenMode()) throws -> any Engine {
        try type.init(path: path, dimensionCount: dimensionCount, mode: mode)
    }
}
