import Testing
@testable import LayerStore

@Suite struct BasicStoreTests {
    @Test func putGetDeleteAcrossReopenAndFlush() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        do {
            let store = try Store(path: path, options: testOptions())
            try store.put("v1", forKey: "a", in: "dim")
            try store.put("v2", forKey: "b", in: "dim")
            try store.put("x", forKey: "a", in: "other")
            #expect(try store.string(forKey: "a", in: "dim") == "v1")
            try store.put("v1b", forKey: "a", in: "dim")
            #expect(try store.string(forKey: "a", in: "dim") == "v1b")
            try store.delete(forKey: "b", in: "dim")
            #expect(try store.string(forKey: "b", in: "dim") == nil)
            #expect(store.lastLSN == 5)
            try store.close()
        }
        do {
            let store = try Store(path: path, options: testOptions())
            #expect(store.recoveryReport.replayedOperationCount == 5)
            #expect(try store.string(forKey: "a", in: "dim") == "v1b")
            #expect(try store.string(forKey: "b", in: "dim") == nil)
            #expect(try store.string(forKey: "a", in: "other") == "x")
            try store.flush()
            #expect(try store.string(forKey: "a", in: "dim") == "v1b")
            #expect(try store.string(forKey: "b", in: "dim") == nil)
            try store.put("v3", forKey: "c", in: "dim")
            try store.close()
        }
        do {
            let store = try Store(path: path, options: testOptions())
            #expect(store.recoveryReport.replayedOperationCount == 1)
            #expect(store.recoveryReport.checkpointLSN == 5)
            let records = try store.snapshot().records(in: "dim")
            #expect(records.map { String(decoding: $0.key, as: UTF8.self) } == ["a", "c"])
            #expect(records.map { String(decoding: $0.value, as: UTF8.self) } == ["v1b", "v3"])
            #expect(store.dimensionNames == ["dim", "other"])
        }
    }
}
