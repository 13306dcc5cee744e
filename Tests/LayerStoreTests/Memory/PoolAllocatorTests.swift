import Testing
@testable import LayerStore

@Suite struct PoolAllocatorTests {
    @Test func buffersArePageAlignedPowerOfTwoClassesAndReused() {
        let pool = PoolAllocator(retainedByteCountMax: 1 << 20)
        let a = pool.allocate(5000)
        #expect(a.count == 8192)
        #expect(Int(bitPattern: a.baseAddress!) % PoolAllocator.smallestClassByteCount == 0)
        a.storeBytes(of: 0xAB, toByteOffset: 8191, as: UInt8.self)  // the whole class is usable
        pool.release(a)
        let b = pool.allocate(8000)
        #expect(b.baseAddress == a.baseAddress)  // reused, not allocated again
        #expect(pool.statistics.allocations == 1 && pool.statistics.reuses == 1)
        let c = pool.allocate(1)
        #expect(c.count == PoolAllocator.smallestClassByteCount)
        pool.release(b)
        pool.release(c)
    }

    @Test func thePoolKeepsNoMoreThanItsBound() {
        let pool = PoolAllocator(retainedByteCountMax: 64 << 10)
        let buffers = (0..<4).map { _ in pool.allocate(32 << 10) }
        for b in buffers { pool.release(b) }  // two are kept, two freed
        _ = (0..<4).map { _ in pool.allocate(32 << 10) }
        #expect(pool.statistics.reuses == 2)
        #expect(pool.statistics.allocations == 6)
    }

    @Test func memtableArenasReturnTheirChunksForTheNextMemtable() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions { $0.flushInBackground = false })
        let before = PoolAllocator.shared.statistics
        for round in 0..<4 {
            for i in 0..<50 { try store.put([UInt8](repeating: UInt8(round), count: 500), forKey: Array("k\(i)".utf8), in: "d") }
            try store.flush()
        }
        // Each flushed memtable gave its arena chunk back; the next memtable took it again.
        #expect(PoolAllocator.shared.statistics.reuses > before.reuses)
        #expect(try store.value(forKey: Array("k7".utf8), in: "d") == [UInt8](repeating: 3, count: 500))
    }
}
