//! The read path on the store itself: each call reads the newest acknowledged state.

extension Store {
    /// A snapshot of everything acknowledged so far. Keep it to read a fixed view; release it to
    /// let old segment versions be unmapped.
    public func snapshot() throws(StoreError) -> Snapshot {
        try checkOpen()
        // The LSN first, then the state: every write at or below the LSN is reachable from any
        // state published after it became visible.
        let lsn = visibleLSN.load(ordering: .acquiring)
        return Snapshot(state: currentState(), lsn: lsn, registry: liveSnapshots)
    }

    /// Runs `body` with a snapshot taken now.
    /// Errors are ``StoreError``s, or whatever `body` throws.
    public func read<R>(_ body: (Snapshot) throws -> R) throws -> R {
        try body(try snapshot())
    }

    /// Calls `body` with the current value of `key` in `dimension`, zero-copy; `nil` if missing.
    /// The `RawSpan` is valid only inside `body`. No snapshot object is allocated.
    ///
    /// The read pins the current state in a per-thread slot instead of retaining it (see
    /// `StatePublisher`): threads reading at once write no shared memory.
    @inlinable
    public func withValue<R>(forKey key: [UInt8], in dimension: String, _ body: (RawSpan) -> R) throws(StoreError) -> R? {
        let read = try beginRead()
        defer { endRead(read) }
        return try lookup(key, in: dimension, read).withValue(body)
    }

    /// Pins the current state for one point read, with the LSN it reads at.
    @usableFromInline
    func beginRead() throws(StoreError) -> (pin: StatePin, lsn: LSN) {
        try checkOpen()
        // The LSN first, then the state: every write at or below the LSN is reachable from any
        // state published after it became visible.
        let lsn = visibleLSN.load(ordering: .acquiring)
        return (state.pin(), lsn)
    }

    /// Ends a read begun by ``beginRead()``.
    @usableFromInline
    func endRead(_ read: (pin: StatePin, lsn: LSN)) {
        state.unpin(read.pin)
    }

    /// The non-generic part of a point read on a pinned state.
    @usableFromInline
    func lookup(_ key: [UInt8], in dimension: String, _ read: (pin: StatePin, lsn: LSN)) throws(StoreError) -> ValueLookup {
        // Borrowed, not retained: the pin keeps the state alive.
        let result = read.pin.state._withUnsafeGuaranteedRef { state in
            Result { () throws(StoreError) in try Reader.lookup(state, lsn: read.lsn, key: key, dimension: dimension) }
        }
        return try result.get()
    }

    /// A copy of the current value of `key` in `dimension`, or `nil`.
    public func value(forKey key: [UInt8], in dimension: String) throws(StoreError) -> [UInt8]? {
        try withValue(forKey: key, in: dimension) { span in span.withUnsafeBytes { [UInt8]($0) } }
    }

    /// The current value of a UTF-8 key decoded as UTF-8 text, or `nil`.
    public func string(forKey key: String, in dimension: String) throws(StoreError) -> String? {
        try withValue(forKey: Array(key.utf8), in: dimension) { span in
            span.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Scans `dimension` (keys starting with `prefix`) in key order on a snapshot taken now.
    public func scan(_ dimension: String, prefix: [UInt8] = [], _ body: (_ key: RawSpan, _ value: RawSpan) -> Bool) throws(StoreError) {
        try snapshot().scan(dimension, prefix: prefix, body)
    }
}

extension Store {
    /// The address ranges of the current segment mappings of `dimension` (for tests that check
    /// values are handed out from the mapping itself).
    package func mappedAddressRanges(of dimension: String) -> [Range<UInt>] {
        var ranges: [Range<UInt>] = []
        for slot in currentState().segments[dimension] ?? [] {
            guard let bytes = try? slot.segment().region.mapped().bytes else { continue }
            let start = UInt(bitPattern: bytes.baseAddress)
            ranges.append(start..<(start + UInt(bytes.count)))
        }
        return ranges
    }
}
