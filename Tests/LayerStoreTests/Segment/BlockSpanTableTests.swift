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

    /// A segment builds its span table only once enough blocks were read through the block
    /// table (a cold open that reads one value builds none); reads answer the same before and after.
    @Test func theSpanTableIsBuiltAfterEnoughReads() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        for i in 0..<2000 { try store.put(String(repeating: "v\(i)", count: 40), forKey: "k\(i)", in: "d") }
        try store.flush()
        try store.close()
        let reopened = try Store(path: dir.child("s"), options: testOptions())
        let segment = try #require(reopened.currentState().segments["d"]?.first).segment()
        let threshold = segment.spanBuildReadCount
        #expect(Int(segment.layout.blockCount) > threshold && threshold >= 16)
        #expect(try reopened.string(forKey: "k7", in: "d") == String(repeating: "v7", count: 40))
        #expect(!segment.spans.isBuilt, "one read builds no span table")
        // Blocks read one after another, each once: the table comes with the threshold's read.
        for b in 0..<(threshold - 2) { _ = try segment.block(b) }
        #expect(!segment.spans.isBuilt)
        _ = try segment.block(threshold)
        #expect(segment.spans.isBuilt)
        for i in stride(from: 0, to: 2000, by: 7) {
            #expect(try reopened.string(forKey: "k\(i)", in: "d") == String(repeating: "v\(i)", count: 40))
        }
        for b in 0..<Int(segment.layout.blockCount) {
            #expect(segment.spans.span(b)?.offset == (try segment.blockEntry(b)).offset)
        }
        try reopened.close()
    }
}
