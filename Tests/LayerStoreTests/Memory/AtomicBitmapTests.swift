import Testing
@testable import LayerStore

@Suite struct AtomicBitmapTests {
    /// Two threads set interleaved flags of one bitmap (sharing words): every flag set is seen,
    /// no other flag is, including across word boundaries and at the last flag.
    @Test func concurrentInsertsAreAllSeenAndNothingElse() async {
        let count = 64 * 40 + 7
        let bitmap = AtomicBitmap(count: count)
        #expect(bitmap.count == count)
        #expect((0..<count).allSatisfy { !bitmap.contains($0) }, "a new bitmap is empty")
        await withTaskGroup(of: Void.self) { group in
            for start in 0..<2 {
                group.addTask {
                    for i in stride(from: start, to: count, by: 3) { bitmap.insert(i) }
                }
            }
        }
        for i in 0..<count {
            #expect(bitmap.contains(i) == (i % 3 != 2), "flag \(i)")
        }
        bitmap.insert(count - 1)
        #expect(bitmap.contains(count - 1))
    }

    @Test func anEmptyBitmapIsValid() {
        let bitmap = AtomicBitmap(count: 0)
        #expect(bitmap.count == 0)
    }
}
