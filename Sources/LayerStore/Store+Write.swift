//! The write path: commit a batch to the WAL, apply it to the memtable, wait until durable.

extension Store {
    /// Commits `batch` atomically and returns the LSN of its last operation.
    ///
    /// With ``StoreOptions/Durability/sync`` (the default) the call returns only once the batch
    /// is on stable storage; concurrent commits share one `fdatasync`. Readers see the batch
    /// once it is acknowledged, all of it at once.
    /// - Throws: `readOnly`, `closed`, `writerFailed` (an earlier sync failed: reopen the store),
    ///   `noSpace` / `ioFailure` (nothing of the batch was acknowledged).
    @discardableResult
    public func commit(_ batch: WriteBatch) throws(StoreError) -> LSN {
        try checkOpen()
        guard let writer, let groupCommit else {
            throw StoreError(.readOnly, "the store was opened read-only", path: path)
        }
        if batch.isEmpty { return lastLSN }
        if frozenCount.load(ordering: .relaxed) >= 2 { try waitForFlushCapacity() }
        var froze = false
        let last = try writer.withLock { (w) throws(StoreError) -> LSN in
            if closed.load(ordering: .acquiring) { throw StoreError(.closed, "the store is closed", path: path) }
            if let failure = groupCommit.latchedFailure { throw failure }
            guard w.wal.nextLSN + LSN(batch.count) <= Limits.lsnMax else {
                throw StoreError(.limitExceeded, "the store has used every LSN up to \(Limits.lsnMax)", path: path)
            }
            if !w.knownDimensions.isSuperset(of: batch.dimensions) {
                let added = batch.dimensions.subtracting(w.knownDimensions)
                guard w.knownDimensions.count + added.count <= Limits.dimensionCountMax else {
                    throw StoreError(.limitExceeded, "the store would exceed \(Limits.dimensionCountMax) dimensions", path: path)
                }
                w.knownDimensions.formUnion(added)
            }
            let first = try w.wal.append(batch, syncedLSN: groupCommit.durable) { groupCommit.markDurable($0) }
            batch.payload.bytes.withUnsafeBytes { w.active.apply(payload: $0, count: batch.count, firstLSN: first) }
            let last = first + LSN(batch.count) - 1
            if options.durability == .bufferedUnsynced { visibleLSN.store(last, ordering: .releasing) }
            if w.active.byteCount >= options.memtableByteCountMax {
                try freeze(w)
                froze = true
            }
            return last
        }
        if options.durability == .sync {
            try groupCommit.waitUntilDurable(last) { () throws(StoreError) -> LSN in
                // Capture what the sync covers before syncing: records appended later may miss it.
                let (file, covered) = writer.withLock { ($0.wal.current, $0.wal.nextLSN - 1) }
                // No current file: the last roll already synced everything up to `covered`.
                if let file { try io.syncData(file.fd, path: file.path) }
                return covered
            }
        }
        if froze { scheduleFlushIfNeeded() }
        return last
    }

    /// Builds a batch with `body` and commits it atomically. Returns the LSN of the batch's
    /// last operation. If `body` throws, nothing is committed and its error is rethrown;
    /// otherwise errors are ``StoreError``s, as from ``commit(_:)``.
    @discardableResult
    public func write(_ body: (inout WriteBatch) throws -> Void) throws -> LSN {
        var batch = WriteBatch()
        try body(&batch)
        return try commit(batch)
    }

    /// Puts one record and commits it.
    @discardableResult
    public func put(_ value: [UInt8], forKey key: [UInt8], in dimension: String) throws(StoreError) -> LSN {
        var batch = WriteBatch()
        try batch.put(value, forKey: key, in: dimension)
        return try commit(batch)
    }

    /// Puts one UTF-8 record and commits it.
    @discardableResult
    public func put(_ value: String, forKey key: String, in dimension: String) throws(StoreError) -> LSN {
        try put(Array(value.utf8), forKey: Array(key.utf8), in: dimension)
    }

    /// Deletes one key (appends a tombstone) and commits it.
    @discardableResult
    public func delete(forKey key: [UInt8], in dimension: String) throws(StoreError) -> LSN {
        var batch = WriteBatch()
        try batch.delete(forKey: key, in: dimension)
        return try commit(batch)
    }

    /// Deletes one UTF-8 key and commits it.
    @discardableResult
    public func delete(forKey key: String, in dimension: String) throws(StoreError) -> LSN {
        try delete(forKey: Array(key.utf8), in: dimension)
    }

    /// Makes every commit so far durable. With ``StoreOptions/Durability/sync`` commits already
    /// are; with ``StoreOptions/Durability/bufferedUnsynced`` this is the explicit sync.
    public func sync() throws(StoreError) {
        try checkOpen()
        guard let writer, let groupCommit else {
            throw StoreError(.readOnly, "the store was opened read-only", path: path)
        }
        let target = writer.withLock { $0.wal.nextLSN - 1 }
        try groupCommit.waitUntilDurable(target) { () throws(StoreError) -> LSN in
            let (file, covered) = writer.withLock { ($0.wal.current, $0.wal.nextLSN - 1) }
            if let file { try io.syncData(file.fd, path: file.path) }
            return covered
        }
        if let failure = groupCommit.latchedFailure { throw failure }
    }

    /// Freezes the active memtable: rolls the WAL (so the next file starts with the next write)
    /// and publishes a state with a fresh memtable in front. Called with the writer lock held.
    func freeze(_ w: WriterState) throws(StoreError) {
        guard !w.active.isEmpty else { return }
        let lastLSN = w.wal.nextLSN - 1
        try w.wal.roll { groupCommit?.markDurable($0) }
        w.frozen.append((w.active, lastLSN))
        frozenCount.store(w.frozen.count, ordering: .relaxed)
        let fresh = Memtable()
        w.active = fresh
        state.withLock { $0 = $0.replacing(memtables: [fresh] + $0.memtables) }
    }
}
