//! SQLite through its C API, configured for durable commits and fast reads: WAL mode,
//! `synchronous=FULL` (every commit syncs the WAL), `mmap_size` covering the data, one
//! `WITHOUT ROWID` table keyed by (dimension, key), prepared statements, values read with
//! `sqlite3_column_blob` without a copy, one connection per thread.
//! The only file of the harness that touches SQLite's pointers.

import CSQLite
import Foundation
import LayerStoreWorkload

final class SQLiteEngine: Engine, @unchecked Sendable {
    static let name = "sqlite"
    static let publishesOnCommit = false
    static let configuration = "WAL mode, synchronous=FULL, mmap_size 2 GiB (covers the data), default 4 KiB pages, "
        + "`CREATE TABLE kv(dim INTEGER, key BLOB, value BLOB, PRIMARY KEY(dim, key)) WITHOUT ROWID`, one connection per thread (SQLITE_OPEN_NOMUTEX), "
        + "prepared statements, commits `BEGIN IMMEDIATE … COMMIT` (busy_timeout 60 s), reads `sqlite3_column_blob` without copy in autocommit (one read txn per get); "
        + "settle = `wal_checkpoint(TRUNCATE)`, publication = `wal_checkpoint(PASSIVE)`; no compressed tier; cold open: SQLITE_OPEN_READONLY"

    let file: String
    let readOnly: Bool
    /// The connection used for checkpoints (settle, publish). Safe: only the writer thread and
    /// the harness's control thread use it, never at once.
    private var control: OpaquePointer?

    init(path: String, dimensionCount: Int, mode: OpenMode) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        file = path + "/kv.sqlite"
        readOnly = mode.readOnly
        control = try SQLiteEngine.connect(file, readOnly: readOnly)
        if !readOnly {
            try SQLiteEngine.exec(control, "PRAGMA journal_mode=WAL")
            try SQLiteEngine.exec(control, "CREATE TABLE IF NOT EXISTS kv(dim INTEGER, key BLOB, value BLOB, PRIMARY KEY(dim, key)) WITHOUT ROWID")
        }
    }

    static func connect(_ file: String, readOnly: Bool) throws -> OpaquePointer? {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(file, &db, flags, nil)
        guard rc == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
            sqlite3_close(db)
            throw BenchError.engine("sqlite", "sqlite3_open_v2", message)
        }
        sqlite3_busy_timeout(db, 60_000)
        try exec(db, "PRAGMA synchronous=FULL")
        try exec(db, "PRAGMA mmap_size=2147418112")
        return db
    }

    static func exec(_ db: OpaquePointer?, _ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? "code \(rc)"
            sqlite3_free(message)
            throw BenchError.engine("sqlite", sql, text)
        }
    }

    static func check(_ rc: Int32, _ db: OpaquePointer?, _ call: String) throws {
        guard rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw BenchError.engine("sqlite", call, String(cString: sqlite3_errmsg(db)))
        }
    }

    func makeSession() throws -> any EngineSession { try SQLiteSession(self) }
    func settle() throws { if !readOnly { try SQLiteEngine.exec(control, "PRAGMA wal_checkpoint(TRUNCATE)") } }
    func publish() throws { try SQLiteEngine.exec(control, "PRAGMA wal_checkpoint(PASSIVE)") }
    func compactCold() throws -> Bool { false }
    func dataFileBytes(dimensionCount: Int) throws -> Int? { nil }

    func close() throws {
        try SQLiteEngine.check(sqlite3_close(control), control, "sqlite3_close")
        control = nil
    }
}

final class SQLiteSession: EngineSession {
    let db: OpaquePointer?
    private var begin: OpaquePointer?, commitStatement: OpaquePointer?, insert: OpaquePointer?
    private var get: OpaquePointer?, scanStatement: OpaquePointer?

    init(_ engine: SQLiteEngine) throws {
        db = try SQLiteEngine.connect(engine.file, readOnly: engine.readOnly)
        get = try prepare("SELECT value FROM kv WHERE dim = ?1 AND key = ?2")
        scanStatement = try prepare("SELECT value FROM kv WHERE dim = ?1 ORDER BY key")
        if !engine.readOnly {
            begin = try prepare("BEGIN IMMEDIATE")
            commitStatement = try prepare("COMMIT")
            insert = try prepare("INSERT OR REPLACE INTO kv(dim, key, value) VALUES (?1, ?2, ?3)")
        }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        try SQLiteEngine.check(sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil), db, sql)
        return statement
    }

    private func step(_ statement: OpaquePointer?, _ call: String) throws {
        let rc = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard rc == SQLITE_DONE else { throw BenchError.engine("sqlite", call, String(cString: sqlite3_errmsg(db))) }
    }

    func commit(_ batch: RecordBatch) throws {
        try step(begin, "BEGIN IMMEDIATE")
        do {
            for i in 0..<batch.count {
                sqlite3_bind_int(insert, 1, Int32(batch.dimensions[i]))
                // Safe: SQLITE_STATIC (nil) bindings are read by the step, inside the closures.
                let rc = batch.keys[i].withUnsafeBytes { k in
                    batch.values[i].withUnsafeBytes { v in
                        sqlite3_bind_blob(insert, 2, k.baseAddress, Int32(k.count), nil)
                        sqlite3_bind_blob(insert, 3, v.baseAddress, Int32(v.count), nil)
                        let rc = sqlite3_step(insert)
                        sqlite3_reset(insert)
                        return rc
                    }
                }
                guard rc == SQLITE_DONE else { throw BenchError.engine("sqlite", "INSERT", String(cString: sqlite3_errmsg(db))) }
            }
            try step(commitStatement, "COMMIT")
        } catch {
            _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    @inline(__always)
    func touch(_ key: [UInt8], dimension: Int) throws -> UInt64? {
        sqlite3_bind_int(get, 1, Int32(dimension))
        return try key.withUnsafeBytes { k in
            sqlite3_bind_blob(get, 2, k.baseAddress, Int32(k.count), nil)
            defer { sqlite3_reset(get) }
            let rc = sqlite3_step(get)
            if rc == SQLITE_DONE { return nil }
            guard rc == SQLITE_ROW else { throw BenchError.engine("sqlite", "SELECT", String(cString: sqlite3_errmsg(db))) }
            // Safe: the blob stays valid until the statement is stepped or reset (the defer).
            let count = Int(sqlite3_column_bytes(get, 0))
            return Workload.touch(UnsafeRawBufferPointer(start: sqlite3_column_blob(get, 0), count: count))
        }
    }

    func scan(dimension: Int, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        sqlite3_bind_int(scanStatement, 1, Int32(dimension))
        defer { sqlite3_reset(scanStatement) }
        var n = 0
        var rc = sqlite3_step(scanStatement)
        while rc == SQLITE_ROW {
            let count = Int(sqlite3_column_bytes(scanStatement, 0))
            body(UnsafeRawBufferPointer(start: sqlite3_column_blob(scanStatement, 0), count: count))
            n += 1
            rc = sqlite3_step(scanStatement)
        }
        guard rc == SQLITE_DONE else { throw BenchError.engine("sqlite", "scan", String(cString: sqlite3_errmsg(db))) }
        return n
    }

    func close() {
        for statement in [begin, commitStatement, insert, get, scanStatement] { sqlite3_finalize(statement) }
        sqlite3_close(db)
    }
}
