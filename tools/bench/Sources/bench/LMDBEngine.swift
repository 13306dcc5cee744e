//! LMDB through its C API, configured as its documentation recommends for durable use:
//! synced commits (no MDB_NOSYNC / MDB_NOMETASYNC), a map large enough for everything, one
//! named database per dimension, zero-copy `mdb_get` in a read-only transaction per read that
//! is reset and renewed (LMDB's fast path for repeated reads), cursors for scans.
//! The only file of the harness that touches LMDB's pointers.

import CLMDB
import Foundation
import LayerStoreWorkload

final class LMDBEngine: Engine, @unchecked Sendable {
    static let name = "lmdb"
    static let publishesOnCommit = true
    static let configuration = "synced commits (default flags, no MDB_NOSYNC/NOMETASYNC), 16 GiB map (sparse), one named DB per dimension, 512 reader slots; "
        + "reads: `mdb_get` zero-copy in an MDB_RDONLY txn per read, reused with `mdb_txn_reset`/`mdb_txn_renew`; scans: a cursor (MDB_FIRST/MDB_NEXT); "
        + "no publication step (each commit publishes); no compressed tier; cold open: MDB_RDONLY env"

    // Safe: the environment and dbi handles are thread-safe in LMDB; transactions never leave
    // the session (one thread) that began them.
    let env: OpaquePointer
    private(set) var dbis: [MDB_dbi] = []

    init(path: String, dimensionCount: Int, mode: OpenMode) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var env: OpaquePointer?
        try LMDBEngine.check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw BenchError.engine("lmdb", "mdb_env_create", "no environment") }
        self.env = env
        try LMDBEngine.check(mdb_env_set_maxdbs(env, 32), "mdb_env_set_maxdbs")
        try LMDBEngine.check(mdb_env_set_maxreaders(env, 512), "mdb_env_set_maxreaders")
        try LMDBEngine.check(mdb_env_set_mapsize(env, 16 << 30), "mdb_env_set_mapsize")
        let flags = mode.readOnly ? UInt32(MDB_RDONLY) : 0
        try LMDBEngine.check(mdb_env_open(env, path, flags, 0o644), "mdb_env_open")
        var txn: OpaquePointer?
        try LMDBEngine.check(mdb_txn_begin(env, nil, mode.readOnly ? UInt32(MDB_RDONLY) : 0, &txn), "mdb_txn_begin")
        for dim in 0..<dimensionCount {
            var dbi: MDB_dbi = 0
            let rc = mdb_dbi_open(txn, Workload.dimensionName(dim), mode.readOnly ? 0 : UInt32(MDB_CREATE), &dbi)
            if rc != 0 { mdb_txn_abort(txn); try LMDBEngine.check(rc, "mdb_dbi_open") }
            dbis.append(dbi)
        }
        try LMDBEngine.check(mdb_txn_commit(txn), "mdb_txn_commit")
    }

    static func check(_ rc: Int32, _ call: String) throws {
        guard rc == 0 else { throw BenchError.engine("lmdb", call, String(cString: mdb_strerror(rc))) }
    }

    func makeSession() throws -> any EngineSession { LMDBSession(self) }
    func settle() throws {}
    func publish() throws {}
    func compactCold() throws -> Bool { false }
    func dataFileBytes(dimensionCount: Int) throws -> Int? { nil }
    func close() throws { mdb_env_close(env) }
}

final class LMDBSession: EngineSession {
    let engine: LMDBEngine
    /// This thread's read transaction, kept reset between reads.
    private var readTxn: OpaquePointer?
    /// The session's own reference to the handles (as every engine's session keeps one): not a
    /// retain of the engine's array, shared by all threads, on every read.
    private let dbis: [MDB_dbi]

    init(_ engine: LMDBEngine) {
        self.engine = engine
        dbis = engine.dbis
    }

    /// Renews (or begins) the read transaction, runs `body`, resets it.
    private func reading<R>(_ body: (OpaquePointer?) throws -> R) throws -> R {
        if let readTxn {
            try LMDBEngine.check(mdb_txn_renew(readTxn), "mdb_txn_renew")
        } else {
            try LMDBEngine.check(mdb_txn_begin(engine.env, nil, UInt32(MDB_RDONLY), &readTxn), "mdb_txn_begin(RDONLY)")
        }
        defer { mdb_txn_reset(readTxn) }
        return try body(readTxn)
    }

    func commit(_ batch: RecordBatch) throws {
        var txn: OpaquePointer?
        try LMDBEngine.check(mdb_txn_begin(engine.env, nil, 0, &txn), "mdb_txn_begin")
        for i in 0..<batch.count {
            let rc = batch.keys[i].withUnsafeBytes { k in
                batch.values[i].withUnsafeBytes { v in
                    var key = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                    var value = MDB_val(mv_size: v.count, mv_data: UnsafeMutableRawPointer(mutating: v.baseAddress))
                    return mdb_put(txn, dbis[batch.dimensions[i]], &key, &value, 0)
                }
            }
            if rc != 0 { mdb_txn_abort(txn); try LMDBEngine.check(rc, "mdb_put") }
        }
        try LMDBEngine.check(mdb_txn_commit(txn), "mdb_txn_commit")
    }

    @inline(__always)
    func touch(_ key: [UInt8], dimension: Int) throws -> UInt64? {
        try reading { txn in
            var value = MDB_val()
            let rc = key.withUnsafeBytes { k in
                var mk = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                return mdb_get(txn, dbis[dimension], &mk, &value)
            }
            if rc == MDB_NOTFOUND { return nil }
            try LMDBEngine.check(rc, "mdb_get")
            // Safe: LMDB guarantees mv_size bytes at mv_data until the transaction is reset.
            return Workload.touch(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
        }
    }

    func scan(dimension: Int, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        try reading { txn in
            var cursor: OpaquePointer?
            try LMDBEngine.check(mdb_cursor_open(txn, dbis[dimension], &cursor), "mdb_cursor_open")
            defer { mdb_cursor_close(cursor) }
            var key = MDB_val(), value = MDB_val()
            var n = 0
            var rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
            while rc == 0 {
                // Safe: valid until the transaction is reset, after the loop.
                body(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
                n += 1
                rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
            }
            guard rc == MDB_NOTFOUND else { try LMDBEngine.check(rc, "mdb_cursor_get"); return n }
            return n
        }
    }

    func close() {
        if let readTxn { mdb_txn_abort(readTxn) }
        readTxn = nil
    }
}
