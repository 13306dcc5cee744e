//! Typed puts, deletes and reads on ``WriteBatch``, ``Store`` and ``Snapshot``: each encodes
//! its key and value (KeyEncoding.swift, ValueCoding.swift) and calls the bytes API, which stays
//! as it is. Decoding runs on a copy-free view of the stored bytes inside the read's closure.

extension WriteBatch {
    /// Adds a put of a typed value under a typed key.
    /// - Throws: as ``put(_:forKey:in:)-([UInt8],[UInt8],_)``.
    public mutating func put<K: StoreKey, V: StoreValue>(_ value: V, forKey key: K, in dimension: String) throws(StoreError) {
        try put(value.storeValueBytes, forKey: key.storeKeyBytes, in: dimension)
    }

    /// Adds a put of `value` encoded by `coder` under a typed key.
    /// - Throws: ``StoreError/Code/invalidArgument`` if `coder` cannot encode the value; as
    ///   ``put(_:forKey:in:)-([UInt8],[UInt8],_)`` otherwise.
    public mutating func put<K: StoreKey, V: Encodable>(
        encoding value: V, forKey key: K, in dimension: String, using coder: some ValueCoder
    ) throws(StoreError) {
        try put(try coder.storeBytes(value), forKey: key.storeKeyBytes, in: dimension)
    }

    /// Adds a delete of a typed key.
    public mutating func delete<K: StoreKey>(forKey key: K, in dimension: String) throws(StoreError) {
        try delete(forKey: key.storeKeyBytes, in: dimension)
    }
}

extension Store {
    /// Puts one typed record and commits it (durable on return, as ``commit(_:)-6dyo``).
    @discardableResult
    public func put<K: StoreKey, V: StoreValue>(_ value: V, forKey key: K, in dimension: String) throws(StoreError) -> LSN {
        try put(value.storeValueBytes, forKey: key.storeKeyBytes, in: dimension)
    }

    /// Puts `value` encoded by `coder` and commits it.
    @discardableResult
    public func put<K: StoreKey, V: Encodable>(
        encoding value: V, forKey key: K, in dimension: String, using coder: some ValueCoder
    ) throws(StoreError) -> LSN {
        try put(try coder.storeBytes(value), forKey: key.storeKeyBytes, in: dimension)
    }

    /// Deletes one typed key and commits it.
    @discardableResult
    public func delete<K: StoreKey>(forKey key: K, in dimension: String) throws(StoreError) -> LSN {
        try delete(forKey: key.storeKeyBytes, in: dimension)
    }

    /// The current value of a typed key, decoded as `type`; `nil` if the key has no value.
    /// - Throws: ``StoreError/Code/decodingFailed`` if the stored bytes are not a `type`.
    public func value<K: StoreKey, V: StoreValue>(as type: V.Type, forKey key: K, in dimension: String) throws(StoreError) -> V? {
        try withValue(forKey: key.storeKeyBytes, in: dimension) { span in decodeStoreValue(span, as: type) }?.get()
    }

    /// The current value of a typed key, decoded by `coder` as `type`; `nil` if missing.
    /// - Throws: ``StoreError/Code/decodingFailed`` if `coder` cannot decode the stored bytes.
    public func value<K: StoreKey, V: Decodable>(decoding type: V.Type, forKey key: K, in dimension: String,
                                                  using coder: some ValueCoder) throws(StoreError) -> V? {
        guard let bytes = try value(forKey: key.storeKeyBytes, in: dimension) else { return nil }
        return try coder.storeValue(type, from: bytes)
    }
}

extension Snapshot {
    /// The value of a typed key in this snapshot, decoded as `type`; `nil` if missing.
    /// - Throws: ``StoreError/Code/decodingFailed`` if the stored bytes are not a `type`.
    public func value<K: StoreKey, V: StoreValue>(as type: V.Type, forKey key: K, in dimension: String) throws(StoreError) -> V? {
        try withValue(forKey: key.storeKeyBytes, in: dimension) { span in decodeStoreValue(span, as: type) }?.get()
    }

    /// The value of a typed key in this snapshot, decoded by `coder`; `nil` if missing.
    /// - Throws: ``StoreError/Code/decodingFailed`` if `coder` cannot decode the stored bytes.
    public func value<K: StoreKey, V: Decodable>(decoding type: V.Type, forKey key: K, in dimension: String,
                                                  using coder: some ValueCoder) throws(StoreError) -> V? {
        guard let bytes = try value(forKey: key.storeKeyBytes, in: dimension) else { return nil }
        return try coder.storeValue(type, from: bytes)
    }

    /// The records of `dimension` in key order, keys decoded as `keyType` and values as
    /// `valueType`. With integer keys of one width, key order is numeric order.
    /// - Throws: ``StoreError/Code/decodingFailed`` at the first record that does not decode.
    public func records<K: StoreKey, V: StoreValue>(in dimension: String, as keyType: K.Type, _ valueType: V.Type) throws(StoreError) -> [(key: K, value: V)] {
        var records: [(key: K, value: V)] = []
        var failure: StoreError?
        try scan(dimension) { key, value in
            do throws(StoreError) {
                let k = try key.withUnsafeBytes { (raw) throws(StoreError) in try K(storeKeyBytes: raw) }
                let v = try decodeStoreValue(value, as: valueType).get()
                records.append((k, v))
                return true
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return records
    }
}

/// Decodes a stored value inside a read's closure (which cannot throw).
private func decodeStoreValue<V: StoreValue>(_ span: RawSpan, as type: V.Type) -> Result<V, StoreError> {
    span.withUnsafeBytes { raw in Result { () throws(StoreError) in try V(storeValueBytes: raw) } }
}
