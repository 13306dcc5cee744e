import Foundation
import Testing
@testable import LayerStore

/// Typed keys and values: byte order is numeric order, round trips are exact, Codable goes
/// through the chosen coder, and every decode failure is a typed `decodingFailed`.
@Suite struct ConveniencesTests {
    struct Person: Codable, Equatable {
        var name: String
        var age: Int
        var tags: [String]
    }

    /// A coder whose every decode fails (to check the error's code).
    struct BrokenCoder: ValueCoder {
        struct Failure: Error {}
        func encode<T: Encodable>(_ value: T) throws -> [UInt8] { throw Failure() }
        func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T { throw Failure() }
    }

    @Test func integerKeysSortNumericallySignedOnesToo() throws {
        let unsigned: [UInt64] = [0, 1, 2, 255, 256, 65_535, 1 << 40, .max]
        for (a, b) in zip(unsigned, unsigned.dropFirst()) {
            #expect(a.storeKeyBytes.lexicographicallyPrecedes(b.storeKeyBytes))
        }
        let signed: [Int64] = [.min, -1_000_000, -256, -1, 0, 1, 255, 1 << 40, .max]
        for (a, b) in zip(signed, signed.dropFirst()) {
            #expect(a.storeKeyBytes.lexicographicallyPrecedes(b.storeKeyBytes))
        }
        #expect(UInt32(1).storeKeyBytes == [0, 0, 0, 1])
        #expect(Int16(-1).storeKeyBytes == [0x7F, 0xFF])
        #expect(Int8(0).storeKeyBytes == [0x80])

        // In a store, a scan returns integer keys in numeric order and they decode back exactly.
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        let keys: [Int32] = [-70_000, 5, -1, 0, 300, Int32.min, Int32.max, 2]
        try store.write { batch in
            for k in keys { try batch.put(Int64(k) * 2, forKey: k, in: "n") }
        }
        try store.flush()
        try store.put(Int64(-1), forKey: Int32(1), in: "n")
        let records = try store.snapshot().records(in: "n", as: Int32.self, Int64.self)
        #expect(records.map(\.key) == (keys + [1]).sorted())
        #expect(records.allSatisfy { $0.key == 1 ? $0.value == -1 : $0.value == Int64($0.key) * 2 })
    }

    @Test func valuesRoundTripThroughTheStore() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        try store.put("grüße ✓", forKey: UInt64(1), in: "v")
        try store.put(UInt8(200), forKey: UInt64(2), in: "v")
        try store.put(Int.min, forKey: UInt64(3), in: "v")
        try store.put(-0.125, forKey: UInt64(4), in: "v")
        try store.put(Float.infinity, forKey: UInt64(5), in: "v")
        try store.put(true, forKey: UInt64(6), in: "v")
        try store.put([UInt8]([0, 1, 2, 0xFF]), forKey: "bytes", in: "v")
        #expect(try store.value(as: String.self, forKey: UInt64(1), in: "v") == "grüße ✓")
        #expect(try store.value(as: UInt8.self, forKey: UInt64(2), in: "v") == 200)
        #expect(try store.value(as: Int.self, forKey: UInt64(3), in: "v") == Int.min)
        #expect(try store.value(as: Double.self, forKey: UInt64(4), in: "v") == -0.125)
        #expect(try store.value(as: Float.self, forKey: UInt64(5), in: "v") == .infinity)
        #expect(try store.value(as: Bool.self, forKey: UInt64(6), in: "v") == true)
        #expect(try store.value(as: [UInt8].self, forKey: "bytes", in: "v") == [0, 1, 2, 0xFF])
        #expect(try store.value(as: String.self, forKey: UInt64(99), in: "v") == nil)
        try store.delete(forKey: UInt64(6), in: "v")
        #expect(try store.value(as: Bool.self, forKey: UInt64(6), in: "v") == nil)
        // The typed key is the bytes API's key: the two APIs see the same records.
        #expect(try store.value(forKey: UInt64(2).storeKeyBytes, in: "v") == [200])
        let snapshot = try store.snapshot()
        try store.put("later", forKey: UInt64(1), in: "v")
        #expect(try snapshot.value(as: String.self, forKey: UInt64(1), in: "v") == "grüße ✓")
    }

    @Test func codableValuesGoThroughTheChosenCoder() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        let ada = Person(name: "Ada", age: 36, tags: ["math", "engines"])
        try store.put(encoding: ada, forKey: "ada", in: "people", using: JSONValueCoder())
        try store.write { batch in
            try batch.put(encoding: ada, forKey: UInt16(7), in: "people", using: PropertyListValueCoder())
        }
        let json = try #require(try store.value(forKey: Array("ada".utf8), in: "people"))
        #expect(String(decoding: json, as: UTF8.self) == #"{"age":36,"name":"Ada","tags":["math","engines"]}"#)
        #expect(try store.value(decoding: Person.self, forKey: "ada", in: "people", using: JSONValueCoder()) == ada)
        #expect(try store.snapshot().value(decoding: Person.self, forKey: UInt16(7), in: "people", using: PropertyListValueCoder()) == ada)
        #expect(try store.value(decoding: Person.self, forKey: "nobody", in: "people", using: JSONValueCoder()) == nil)
    }

    @Test func decodeFailuresAreTypedAndLoseNothing() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        try store.put([UInt8]([0xFF, 0xFE]), forKey: Array("bad".utf8), in: "v")
        try store.put(UInt32(7), forKey: "four", in: "v")
        func code(_ body: () throws(StoreError) -> Void) -> StoreError.Code? {
            do { try body(); return nil } catch { return error.code }
        }
        #expect(code { () throws(StoreError) in _ = try store.value(as: String.self, forKey: "bad", in: "v") } == .decodingFailed)
        #expect(code { () throws(StoreError) in _ = try store.value(as: UInt64.self, forKey: "four", in: "v") } == .decodingFailed)
        #expect(code { () throws(StoreError) in _ = try store.value(as: Bool.self, forKey: "four", in: "v") } == .decodingFailed)
        #expect(code { () throws(StoreError) in _ = try store.value(decoding: Person.self, forKey: "four", in: "v", using: JSONValueCoder()) } == .decodingFailed)
        #expect(code { () throws(StoreError) in _ = try store.value(decoding: Person.self, forKey: "four", in: "v", using: BrokenCoder()) } == .decodingFailed)
        #expect(code { () throws(StoreError) in try store.put(encoding: Person(name: "x", age: 1, tags: []), forKey: "p", in: "v", using: BrokenCoder()) } == .invalidArgument)
        #expect(code { () throws(StoreError) in _ = try store.snapshot().records(in: "v", as: String.self, UInt32.self) } == .decodingFailed)
        #expect(code { () throws(StoreError) in _ = try UInt16(storeKeyBytes: UnsafeRawBufferPointer(start: nil, count: 0)) } == .decodingFailed)
        #expect(code { () throws(StoreError) in try store.put("v", forKey: "", in: "v") } == .invalidArgument)
        // The bytes are untouched and readable through the bytes API.
        #expect(try store.value(forKey: Array("bad".utf8), in: "v") == [0xFF, 0xFE])
        #expect(try store.value(as: UInt32.self, forKey: "four", in: "v") == 7)
    }
}
