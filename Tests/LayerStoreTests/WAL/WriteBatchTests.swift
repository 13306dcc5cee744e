import Testing
@testable import LayerStore

/// A batch encodes each operation as it is added, keeping the last dimension's checked name.
@Suite struct WriteBatchTests {
    /// The operations of `batch` as (kind, dimension, key, value).
    func operations(_ batch: WriteBatch) -> [(Bool, String, [UInt8], [UInt8])] {
        var out: [(Bool, String, [UInt8], [UInt8])] = []
        let decoded = batch.payload.bytes.withUnsafeBytes { raw in
            decodeBatchPayload(raw, count: batch.count) { _, op in
                out.append((op.isDelete, String(decoding: op.dimension, as: UTF8.self), Array(op.key), Array(op.value)))
            }
        }
        #expect(decoded)
        return out
    }

    @Test func operationsAcrossDimensionsDecodeAsAdded() throws {
        var batch = WriteBatch()
        try batch.put([1, 2, 3], forKey: [9], in: "a")
        try batch.put([4], forKey: [8, 8], in: "a")
        try batch.delete(forKey: [7], in: "bb")
        try batch.put([], forKey: [6], in: "a")
        // The same name built anew is the same dimension.
        try batch.put([5], forKey: [5], in: String("a"))
        let ops = operations(batch)
        #expect(ops.map(\.1) == ["a", "a", "bb", "a", "a"])
        #expect(ops.map(\.0) == [false, false, true, false, false])
        #expect(ops.map(\.2) == [[9], [8, 8], [7], [6], [5]])
        #expect(ops.map(\.3) == [[1, 2, 3], [4], [], [], [5]])
        #expect(batch.dimensions == ["a", "bb"])
        // Header, name, key and value of each operation, nothing else.
        #expect(batch.byteCount == 5 * WALFormat.operationHeaderByteCount + 6 + 6 + 5)
    }

    @Test func aBadNameAfterAGoodOneIsRejectedAndLeavesTheBatchAsItWas() throws {
        var batch = WriteBatch()
        try batch.put([1], forKey: [1], in: "good")
        let before = batch.payload.bytes
        #expect(throws: StoreError.self) { try batch.put([2], forKey: [2], in: ".hidden") }
        #expect(throws: StoreError.self) { try batch.put([2], forKey: [2], in: "") }
        #expect(throws: StoreError.self) { try batch.put([2], forKey: [2], in: "a/b") }
        // A bad key in the last dimension is still checked.
        #expect(throws: StoreError.self) { try batch.put([2], forKey: [], in: "good") }
        #expect(batch.payload.bytes == before)
        #expect(batch.count == 1 && batch.dimensions == ["good"])
        try batch.put([3], forKey: [3], in: "good")
        #expect(operations(batch).map(\.1) == ["good", "good"])
    }

    @Test func removeAllForgetsTheLastDimension() throws {
        var batch = WriteBatch()
        try batch.put([1], forKey: [1], in: "x")
        batch.removeAll()
        #expect(batch.isEmpty && batch.dimensions.isEmpty)
        try batch.put([2], forKey: [2], in: "y")
        #expect(operations(batch).map(\.1) == ["y"])
        #expect(batch.dimensions == ["y"])
    }
}
