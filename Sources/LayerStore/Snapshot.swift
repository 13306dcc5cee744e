//! A reader's fixed view of the store.

/// A consistent, unchanging view of a store as of one ``lsn``.
///
/// A snapshot never sees a write committed after it was taken, however long it is kept, and
/// flushes or compactions do not disturb it: the segments it uses stay mapped until the last
/// snapshot using them is released. Reads take no lock on mapped data. Release snapshots you no
/// longer need: they pin old segment files in memory.
public final class Snapshot: Sendable {
    /// Every write at or below this LSN is visible; none above it is.
    public let lsn: LSN
    let state: StoreState
    /// Where this snapshot is counted while it lives (``Store/stats()``), if anywhere.
    private let registry: SnapshotRegistry?

    init(state: StoreState, lsn: LSN, registry: SnapshotRegistry? = nil) {
        self.state = state
        self.lsn = lsn
        self.registry = registry
        registry?.register(lsn)
    }

    deinit { registry?.unregister(lsn) }

    /// The dimensions holding data, sorted by name.
    public var dimensionNames: [String] { state.dimensionNames }

    /// Calls `body` with the value of `key` in `dimension`, zero-copy.
    ///
    /// The `RawSpan` points into the store's mapping (or memtable): it is valid only inside
    /// `body` and cannot escape it.
    /// - Returns: `body`'s result, or `nil` if the key has no visible value.
    /// - Throws: `corrupted` if a block or index the read needs fails its checksum (naming file
    ///   and offset); `invalidArgument` for an invalid name or key.
    @inlinable
    public func withValue<R>(forKey key: [UInt8], in dimension: String, _ body: (RawSpan) -> R) throws(StoreError) -> R? {
        try lookup(key, in: dimension).withValue(body)
    }

    /// The non-generic part of a point read on this snapshot.
    @usableFromInline
    func lookup(_ key: [UInt8], in dimension: String) throws(StoreError) -> ValueLookup {
        try Reader.lookup(state, lsn: lsn, key: key, dimension: dimension)
    }

    /// A copy of the value of `key` in `dimension`, or `nil`.
    public func value(forKey key: [UInt8], in dimension: String) throws(StoreError) -> [UInt8]? {
        try withValue(forKey: key, in: dimension) { span in span.withUnsafeBytes { [UInt8]($0) } }
    }

    /// The value of a UTF-8 key decoded as UTF-8 text, or `nil`.
    public func string(forKey key: String, in dimension: String) throws(StoreError) -> String? {
        try withValue(forKey: Array(key.utf8), in: dimension) { span in
            span.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Calls `body` with each record of `dimension` whose key starts with `prefix`, in key
    /// order, zero-copy, until `body` returns `false`. Deleted keys are skipped.
    public func scan(_ dimension: String, prefix: [UInt8] = [], _ body: (_ key: RawSpan, _ value: RawSpan) -> Bool) throws(StoreError) {
        try Reader.scan(state, lsn: lsn, dimension: dimension, prefix: prefix, body)
    }

    /// Copies of the records of `dimension` whose key starts with `prefix`, in key order.
    public func records(in dimension: String, prefix: [UInt8] = []) throws(StoreError) -> [Record] {
        var records: [Record] = []
        try scan(dimension, prefix: prefix) { key, value in
            records.append(Record(key: key.withUnsafeBytes { [UInt8]($0) }, value: value.withUnsafeBytes { [UInt8]($0) }))
            return true
        }
        return records
    }
}

/// A copied key and value.
public struct Record: Sendable, Equatable {
    /// The key's bytes.
    public var key: [UInt8]
    /// The value's bytes.
    public var value: [UInt8]

    /// Creates a record.
    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}
