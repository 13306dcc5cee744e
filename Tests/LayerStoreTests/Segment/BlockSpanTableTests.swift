import Testing
@testable import LayerStore

/// The packed spans point reads use instead of the block table: exactly the entries' offsets
/// and lengths, nothing out of range, and no table at all when a span does not fit.
@Suite struct BlockSpanTableTests {
    @Test func spansRoundTripAndStayInRange() {
        let table = BlockSpanTable(count: 3)
        #expect(table.span(0) == nil)  // not built yet
        let spans = [(256, 16_384), (16_640, 1), (BlockSpanTable.offsetMax, (1 << 21) - 1)]
        table.build { spans[$0] }
        #expect(table.isBuilt)
        for (i, s) in spans.enumerated() {
            #expect(table.span(i)?.offset == s.0 && table.span(i)?.length == s.1)
        }
        #expect(table.span(-1) == nil && table.span(3) == nil)
        // A second build changes nothing.
        table.build { _ in (0, 0) }
        #expect(table.span(0)?.offset == 256)
    }

    @Test func aSpanThatDoesNotFitLeavesTheTableUnbuilt() {
        for bad in [(BlockSpanTable.offsetMax + 1, 1), (256, 1 << 21), (-1, 1)] {
            let table = BlockSpanTable(count: 2)
            table.build { $0 == 0 ? (256, 10) : bad }
            #expect(!table.isBuilt && table.span(0) == nil)
        }
        let unreadable = BlockSpanTable(count: 2)
        unreadable.build { $0 == 0 ? (256, 10) : nil }
        #expect(!unreadable.isBuilt)
        let empty = BlockSpanTable(count: 0)
        empty.build { _ in (0, 0) }
        #expect(!empty.isBuilt)
    }

    @Test func aSegmentsPointReadsUseTheSpansOfItsBlockTable() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        for i in 0..<500 { try store.put(String(repeating: "v\(i)", count: 40), forKey: "k\(i)", in: "d") }
        try store.flush()
        let segment = try #require(store.currentState().segments["d"]?.first).segment()
        #expect(segment.layout.blockCount > 3)
        for i in 0..<500 { #expect(try store.string(forKey: "k\(i)", in: "d") == String(repeating: "v\(i)", count: 40)) }
        #expect(segment.spans.isBuilt)
        for b in 0..<Int(segment.layout.blockCount) {
            let entry = try segment.blockEntry(b)
            #expect(segment.spans.span(b)?.offset == entry.offset && segment.spans.span(b)?.length == entry.length)
            #expect(try segment.block(b).bytes.count == entry.length)
        }
        try store.close()
    }
}
