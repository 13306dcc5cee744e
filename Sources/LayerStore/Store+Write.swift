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
        return try groupCommit.commit(batch, groupByteCountMax: Store.groupByteCountMax) { group, results in
            commitGroup(group, results: &results, writer: writer, groupCommit: groupCommit)
        }
    }

    /// A leader stops adding batches to its group at this size: large enough to carry a burst
    /// of small commits in one write, small enough to keep one group's latency bounded.
    static let groupByteCountMax = 8 << 20

    /// The leader's work for one group: check each batch, append the valid ones with one
    /// write, apply them to the memtable, then make them durable with one sync. Fills one result
    /// per batch; returns what the sync made durable. Allocates nothing in the steady state.
    private func commitGroup(
        _ group: [WriteBatch], results: inout [Result<LSN, StoreError>], writer: Locked<WriterState>, groupCommit: GroupCommit
    ) -> Result<LSN?, StoreError> {
        var froze = false
        var syncTarget: (file: WALFile, covered: LSN)?
        do throws(StoreError) {
            try writer.withLock { (w) throws(StoreError) in
                if closed.load(ordering: .acquiring) { throw StoreError(.closed, "the store is closed", path: path) }
                var lsn = w.wal.nextLSN
                var rejected = false
                for batch in group {
                    do throws(StoreError) {
                        try admit(batch, startingAt: lsn, w)
                        results.append(.success(0))
                        lsn += LSN(batch.count)
                    } catch {
                        results.append(.failure(error))
                        rejected = true
                    }
                }
                // The rare group with a rejected batch writes the others on their own.
                let written = rejected ? group.indices.filter { if case .success = results[$0] { true } else { false } }.map { group[$0] } : group
                guard !written.isEmpty else { return }
                var first = try w.wal.append(written, syncedLSN: groupCommit.durable) { groupCommit.markDurable($0) }
                for i in group.indices {
                    guard case .success = results[i] else { continue }
                    let batch = group[i]
                    batch.payload.bytes.withUnsafeBytes { w.active.apply(payload: $0, count: batch.count, firstLSN: first) }
                    first += LSN(batch.count)
                    results[i] = .success(first - 1)
                }
                let last = w.wal.nextLSN - 1
                if options.durability == .bufferedUnsynced {
                    visibleLSN.store(last, ordering: .releasing)
                } else if let file = w.wal.current {
                    syncTarget = (file, last)
                }
                if w.active.byteCount >= options.memtableByteCountMax {
                    try freeze(w)
                    froze = true
                }
            }
        } catch {
            // Nothing of the group was written (the append undoes itself), or it was written but
            // the freeze's roll failed: either way no batch is acknowledged.
            results.removeAll(keepingCapacity: true)
            for _ in group { results.append(.failure(error)) }
            return .success(nil)
        }
        if froze { scheduleFlushIfNeeded() }
        guard options.durability == .sync else { return .success(nil) }
        // The sync runs outside the writer lock: the next group can gather meanwhile.
        guard let (file, covered) = syncTarget else {
            // The roll of a freeze already synced everything.
            return .success(nil)
        }
        do throws(StoreError) {
            try io.syncData(file.fd, path: file.path)
            return .success(covered)
        } catch {
            return .failure(error)
        }
    }

    /// Checks one batch against the store-wide limits before it is written.
    private func admit(_ batch: WriteBatch, startingAt lsn: LSN, _ w: WriterState) throws(StoreError) {
        guard lsn + LSN(batch.count) <= Limits.lsnMax else {
            throw StoreError(.limitExceeded, "the store has used every LSN up to \(Limits.lsnMax)", path: path)
        }
        if !w.knownDimensions.isSuperset(of: batch.dimensions) {
            let added = batch.dimensions.subtracting(w.knownDimensions)
            guard w.knownDimensions.count + added.count <= Limits.dimensionCountMax else {
                throw StoreError(.limitExceeded, "the store would exceed \(Limits.dimensionCountMax) dimensions", path: path)
            }
            w.knownDimensions.formUnion(added)
        }
    }

    /// Builds a batch with `body` and commits it atomically. Returns the LSN of the batch's
    /// last operation. If `body` throws, nothing is committed and its error is rethrown;
    /// otherwise errors are ``StoreError``s, as from ``commit(_:)-6dyo``.
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
        if let failure = groupCommit.latchedFailure { throw failure }
        let (file, covered) = writer.withLock { ($0.wal.current, $0.wal.nextLSN - 1) }
        // No current file: the last roll already synced everything up to `covered`.
        guard let file else { return groupCommit.markDurable(covered) }
        do throws(StoreError) {
            try io.syncData(file.fd, path: file.path)
        } catch {
            groupCommit.fail(error)
            throw groupCommit.latchedFailure ?? error
        }
        groupCommit.markDurable(covered)
    }

    /// Freezes the active memtable: rolls the WAL (so the next file starts with the next write)
    /// and publishes a state with a fresh memtable in front. Called with the writer lock held.
    func freeze(_ w: WriterState) throws(StoreError) {
        guard !w.active.isEmpty else { return }
        let lastLSN = w.wal.nextLSN - 1
        try w.wal.roll { groupCommit?.markDurable($0) }
        logFrozen(lastLSN: lastLSN, memtableByteCount: w.active.byteCount)
        w.frozen.append((w.active, lastLSN))
        frozenCount.store(w.frozen.count, ordering: .relaxed)
        let fresh = Memtable(expectedByteCount: options.memtableByteCountMax)
        w.active = fresh
        state.update { $0.replacing(memtables: [fresh] + $0.memtables) }
    }
}
