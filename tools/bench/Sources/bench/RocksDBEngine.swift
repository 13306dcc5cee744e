//! RocksDB through its C API: a column family per dimension, synced writes (WAL fsync per
//! write group; RocksDB groups concurrent writers itself), a 64 MiB LRU block cache shared by
//! the column families (LayerStore's cold block cache is 64 MiB too), no compression in the hot
//! phases and LZ4 for the cold tier (set on the live column families, then a forced
//! bottommost compaction rewrites every file), `rocksdb_get_pinned_cf` for reads (no copy),
//! iterators for scans. The only file of the harness that touches RocksDB's pointers.

import CRocksDB
import Foundation
import LayerStoreWorkload

final class RocksDBEngine: Engine, @unchecked Sendable {
    static let name = "rocksdb"
    static let publishesOnCommit = false
    static let configuration = "RocksDB 7.8 (Debian), one column family per dimension, WriteOptions sync=true, 64 MiB LRU block cache, block-based tables with default 4 KiB blocks, "
        + "default 64 MiB write buffers, max_background_jobs 2, no compression in the hot phases; cold tier: compression set to LZ4 on every column family, then `CompactRange` with bottommost compaction forced; "
        + "reads `rocksdb_get_pinned_cf` (no copy), scans an iterator per column family; settle = flush every column family and wait for compactions; publication = flush; "
        + "recovery: 1 GiB write buffers so nothing is flushed before the kill; cold open: read-only open"

    // Safe: rocksdb_t and the handles are thread-safe; options objects are read-only after open.
    let db: OpaquePointer
    private let options: OpaquePointer
    private let cache: OpaquePointer?
    private let table: OpaquePointer?
    let writeOptions: OpaquePointer?
    let readOptions: OpaquePointer?
    private var handles: [OpaquePointer?]
    let readOnly: Bool

    /// The data column families, one per dimension (handle 0 is "default").
    var families: ArraySlice<OpaquePointer?> { handles[1...] }

    init(path: String, dimensionCount: Int, mode: OpenMode) throws {
        readOnly = mode.readOnly
        let options = rocksdb_options_create()
        self.options = options!
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_create_missing_column_families(options, 1)
        rocksdb_options_set_max_background_jobs(options, 2)
        cache = rocksdb_cache_create_lru(64 << 20)
        table = rocksdb_block_based_options_create()
        rocksdb_block_based_options_set_block_cache(table, cache)
        rocksdb_options_set_block_based_table_factory(options, table)
        rocksdb_options_set_compression(options, Int32(mode.lz4 ? rocksdb_lz4_compression : rocksdb_no_compression))
        if mode.holdInMemory {
            rocksdb_options_set_write_buffer_size(options, 1 << 30)
            rocksdb_options_set_max_total_wal_size(options, 8 << 30)
        }
        writeOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(writeOptions, 1)
        readOptions = rocksdb_readoptions_create()

        let names = ["default"] + (0..<dimensionCount).map(Workload.dimensionName)
        let cNames = names.map { UnsafePointer(strdup($0)) }
        defer { for p in cNames { free(UnsafeMutablePointer(mutating: p)) } }
        let familyOptions = [OpaquePointer?](repeating: options, count: names.count)
        var handles = [OpaquePointer?](repeating: nil, count: names.count)
        var error: UnsafeMutablePointer<CChar>?
        let opened = cNames.withUnsafeBufferPointer { namesPointer in
            familyOptions.withUnsafeBufferPointer { optionsPointer in
                handles.withUnsafeMutableBufferPointer { handlesPointer in
                    mode.readOnly
                        ? rocksdb_open_for_read_only_column_families(options, path, Int32(names.count), namesPointer.baseAddress,
                                                                     optionsPointer.baseAddress, handlesPointer.baseAddress, 0, &error)
                        : rocksdb_open_column_families(options, path, Int32(names.count), namesPointer.baseAddress,
                                                       optionsPointer.baseAddress, handlesPointer.baseAddress, &error)
                }
            }
        }
        try RocksDBEngine.check(error, "open")
        guard let opened else { throw BenchError.engine("rocksdb", "open", "no handle") }
        db = opened
        self.handles = handles
    }

    static func check(_ error: UnsafeMutablePointer<CChar>?, _ call: String) throws {
        guard let error else { return }
        let message = String(cString: error)
        rocksdb_free(error)
        throw BenchError.engine("rocksdb", call, message)
    }

    func makeSession() throws -> any EngineSession { RocksDBSession(self) }

    func settle() throws {
        guard !readOnly else { return }
        try publish()
        // Wait until no compaction is pending or running: the store has settled.
        while property("rocksdb.compaction-pending") != 0 || property("rocksdb.num-running-compactions") != 0 {
            usleep(5_000)
        }
    }

    private func property(_ name: String) -> Int {
        guard let value = rocksdb_property_value(db, name) else { return 0 }
        defer { rocksdb_free(value) }
        return Int(String(cString: value)) ?? 0
    }

    func publish() throws {
        let flush = rocksdb_flushoptions_create()
        defer { rocksdb_flushoptions_destroy(flush) }
        rocksdb_flushoptions_set_wait(flush, 1)
        for family in families {
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_flush_cf(db, flush, family, &error)
            try RocksDBEngine.check(error, "flush_cf")
        }
    }

    func compactCold() throws -> Bool {
        let compact = rocksdb_compactoptions_create()
        defer { rocksdb_compactoptions_destroy(compact) }
        rocksdb_compactoptions_set_bottommost_level_compaction(compact, 2)  // kForce: rewrite every file
        for family in families {
            var error: UnsafeMutablePointer<CChar>?
            let key = strdup("compression"), value = strdup("kLZ4Compression")
            defer { free(key); free(value) }
            var keys = [UnsafePointer<CChar>?](arrayLiteral: UnsafePointer(key)), values = [UnsafePointer<CChar>?](arrayLiteral: UnsafePointer(value))
            rocksdb_set_options_cf(db, family, 1, &keys, &values, &error)
            try RocksDBEngine.check(error, "set_options_cf(compression)")
            rocksdb_compact_range_cf_opt(db, family, compact, nil, 0, nil, 0)
        }
        try settle()
        return true
    }

    func dataFileBytes(dimensionCount: Int) throws -> Int? {
        families.prefix(dimensionCount).reduce(0) { total, family in
            guard let value = rocksdb_property_value_cf(db, family, "rocksdb.total-sst-files-size") else { return total }
            defer { rocksdb_free(value) }
            return total + (Int(String(cString: value)) ?? 0)
        }
    }

    func close() throws {
        for handle in handles { rocksdb_column_family_handle_destroy(handle) }
        handles = []
        rocksdb_close(db)
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_options_destroy(options)
        rocksdb_block_based_options_destroy(table)
        rocksdb_cache_destroy(cache)
    }
}

final class RocksDBSession: EngineSession {
    let engine: RocksDBEngine
    /// The session's own reference to the column families (as every engine's session keeps
    /// one): not a retain of the engine's array, shared by all threads, on every read.
    private let families: ArraySlice<OpaquePointer?>

    init(_ engine: RocksDBEngine) {
        self.engine = engine
        families = engine.families
    }

    func commit(_ batch: RecordBatch) throws {
        let writeBatch = rocksdb_writebatch_create()
        defer { rocksdb_writebatch_destroy(writeBatch) }
        for i in 0..<batch.count {
            batch.keys[i].withUnsafeBytes { k in
                batch.values[i].withUnsafeBytes { v in
                    rocksdb_writebatch_put_cf(writeBatch, families[batch.dimensions[i] + 1],
                                              k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count,
                                              v.baseAddress?.assumingMemoryBound(to: CChar.self), v.count)
                }
            }
        }
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_write(engine.db, engine.writeOptions, writeBatch, &error)
        try RocksDBEngine.check(error, "write")
    }

    @inline(__always)
    func touch(_ key: [UInt8], dimension: Int) throws -> UInt64? {
        var error: UnsafeMutablePointer<CChar>?
        let pinned = key.withUnsafeBytes { k in
            rocksdb_get_pinned_cf(engine.db, engine.readOptions, families[dimension + 1],
                                  k.baseAddress?.assumingMemoryBound(to: CChar.self), k.count, &error)
        }
        try RocksDBEngine.check(error, "get_pinned_cf")
        guard let pinned else { return nil }
        defer { rocksdb_pinnableslice_destroy(pinned) }
        var length = 0
        let value = rocksdb_pinnableslice_value(pinned, &length)
        // Safe: the slice's bytes stay pinned until it is destroyed (the defer).
        return Workload.touch(UnsafeRawBufferPointer(start: value, count: length))
    }

    func scan(dimension: Int, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        let iterator = rocksdb_create_iterator_cf(engine.db, engine.readOptions, families[dimension + 1])
        defer { rocksdb_iter_destroy(iterator) }
        rocksdb_iter_seek_to_first(iterator)
        var n = 0
        while rocksdb_iter_valid(iterator) != 0 {
            var length = 0
            let value = rocksdb_iter_value(iterator, &length)
            // Safe: valid until the iterator moves.
            body(UnsafeRawBufferPointer(start: value, count: length))
            n += 1
            rocksdb_iter_next(iterator)
        }
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_iter_get_error(iterator, &error)
        try RocksDBEngine.check(error, "iterator")
        return n
    }

    func close() {}
}
