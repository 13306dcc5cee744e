//! The `async` API: the same operations as the blocking one, for callers on Swift concurrency's
//! cooperative threads (servers, actors), which must never block.
//!
//! Each call hands the blocking operation to a LayerStore thread (``BlockingPool``) and suspends
//! until it returns; the cooperative thread runs other tasks meanwhile. Concurrent async commits
//! run on separate pool threads, so they meet in one group commit exactly as concurrent blocking
//! commits from separate threads do: one `fdatasync` acknowledges them all.
//!
//! Cancellation is not observed. A commit that has started runs to completion and its outcome
//! is returned: abandoning it could leave the caller not knowing whether a durable write
//! happened. Check `Task.isCancelled` before calling to skip work that is no longer wanted.

extension Store {
    /// Commits `batch` atomically, suspending (not blocking) until it is durable; returns the LSN
    /// of its last operation.
    ///
    /// The `async` form of ``commit(_:)-6dyo``, with the same durability and errors.
    /// Cancelling the calling task does not cancel the commit (see the file comment).
    /// - Throws: `readOnly`, `closed`, `writerFailed`, `noSpace`, `ioFailure`, `limitExceeded`.
    @discardableResult
    public func commit(_ batch: WriteBatch) async throws(StoreError) -> LSN {
        try await offload { () throws(StoreError) in try self.commit(batch) }
    }

    /// Builds a batch with `body` (run right away, on the caller's thread) and commits it,
    /// suspending until it is durable. If `body` throws, nothing is committed and its error is
    /// rethrown; otherwise errors are ``StoreError``s, as from ``commit(_:)-6dyo``.
    @discardableResult
    public func write(_ body: (inout WriteBatch) throws -> Void) async throws -> LSN {
        var batch = WriteBatch()
        try body(&batch)
        return try await commit(batch)
    }

    /// Puts one record and commits it, suspending until it is durable.
    @discardableResult
    public func put(_ value: [UInt8], forKey key: [UInt8], in dimension: String) async throws(StoreError) -> LSN {
        var batch = WriteBatch()
        try batch.put(value, forKey: key, in: dimension)
        return try await commit(batch)
    }

    /// Puts one UTF-8 record and commits it, suspending until it is durable.
    @discardableResult
    public func put(_ value: String, forKey key: String, in dimension: String) async throws(StoreError) -> LSN {
        try await put(Array(value.utf8), forKey: Array(key.utf8), in: dimension)
    }

    /// Deletes one key and commits it, suspending until it is durable.
    @discardableResult
    public func delete(forKey key: [UInt8], in dimension: String) async throws(StoreError) -> LSN {
        var batch = WriteBatch()
        try batch.delete(forKey: key, in: dimension)
        return try await commit(batch)
    }

    /// Deletes one UTF-8 key and commits it, suspending until it is durable.
    @discardableResult
    public func delete(forKey key: String, in dimension: String) async throws(StoreError) -> LSN {
        try await delete(forKey: Array(key.utf8), in: dimension)
    }

    /// Makes every commit so far durable, suspending meanwhile: the `async` form of ``sync()-5ud75``.
    public func sync() async throws(StoreError) {
        try await offload { () throws(StoreError) in try self.sync() }
    }

    /// Flushes everything written so far into segments, suspending until it is published: the
    /// `async` form of ``flush()-7x3ju``.
    public func flush() async throws(StoreError) {
        try await offload { () throws(StoreError) in try self.flush() }
    }

    /// Compacts segments, suspending until done: the `async` form of ``compact(_:)-1drre``.
    public func compact(_ options: CompactionOptions = CompactionOptions()) async throws(StoreError) -> CompactionReport {
        try await offload { () throws(StoreError) in try self.compact(options) }
    }

    /// Writes a consistent backup, suspending until it is durable: the `async` form of
    /// ``backup(to:)-4mlp2``.
    @discardableResult
    public func backup(to destination: String) async throws(StoreError) -> BackupReport {
        try await offload { () throws(StoreError) in try self.backup(to: destination) }
    }

    /// Runs `work` on a pool thread and suspends until it returns.
    private func offload<T: Sendable>(_ work: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError) -> T {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            BlockingPool.shared.submit {
                continuation.resume(returning: Result { () throws(StoreError) -> T in try work() })
            }
        }
        return try result.get()
    }
}
