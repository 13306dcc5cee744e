import Testing
@testable import LayerStore

@Suite struct SegmentsByDimensionTests {
    /// A store whose dimensions were flushed out of name order, twice each.
    func flushedStore(_ dir: TemporaryDirectory) throws -> Store {
        let store = try Store(path: dir.path)
        for round in 0..<2 {
            for dimension in ["m", "b", "z", "a"] {
                try store.put("\(round)".bytes, forKey: "k\(round)".bytes, in: dimension)
            }
            try store.flush()
        }
        return store
    }

    @Test func aStoreStateKeepsDimensionsSortedAndSegmentsNewestFirst() throws {
        let dir = TemporaryDirectory()
        let store = try flushedStore(dir)
        defer { try? store.close() }
        let segments = store.currentState().segments
        #expect(segments.names == ["a", "b", "m", "z"])
        for name in segments.names {
            let list = try #require(segments[name])
            #expect(list.count == 2)
            #expect(try list[0].segment().header.segmentID > list[1].segment().header.segmentID, "newest first")
            #expect(try list.allSatisfy { try $0.segment().header.dimension == name })
        }
        #expect(segments["c"] == nil)
        #expect(segments[""] == nil)
        #expect(segments["zz"] == nil)
        // Point reads look dimensions up through the table built from this map.
        #expect(try store.value(forKey: "k1".bytes, in: "z") == "1".bytes)
        #expect(try store.value(forKey: "k0".bytes, in: "a") == "0".bytes)
    }

    @Test func settingInsertingAndRemovingKeepTheOrder() throws {
        let dir = TemporaryDirectory()
        let store = try flushedStore(dir)
        defer { try? store.close() }
        let source = store.currentState().segments
        var map = SegmentsByDimension()
        for name in ["z", "a", "m"] { map[name] = source[name] }
        #expect(map.names == ["a", "m", "z"])
        map.insertNewest(try #require(source["b"]?[1]), in: "b")
        map.insertNewest(try #require(source["b"]?[0]), in: "b")
        #expect(map.names == ["a", "b", "m", "z"])
        #expect(map["b"]?.map(ObjectIdentifier.init) == source["b"]?.map(ObjectIdentifier.init))
        map["m"] = nil
        map["a"] = []
        map["q"] = nil
        map["q"] = []
        #expect(map.names == ["b", "z"])
        #expect(map.count == 2)
        map["z"] = source["a"]
        #expect(map["z"]?.map(ObjectIdentifier.init) == source["a"]?.map(ObjectIdentifier.init))
    }
}
