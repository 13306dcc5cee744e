import Testing
@testable import LayerStore

@Suite struct ZeroedPagesTests {
    /// Both kinds (calloc below the threshold, a mapping above it, huge-page sized too) come
    /// zeroed, hold what is written, and go back.
    @Test(arguments: [1, 4096, ZeroedPages.mappingThreshold - 1, ZeroedPages.mappingThreshold, 3 << 20])
    func allocationsComeZeroedAndHoldWrites(byteCount: Int) {
        let buffer = ZeroedPages.allocate(byteCount: byteCount)
        #expect(buffer.count == byteCount)
        #expect(buffer.allSatisfy { $0 == 0 })
        for i in stride(from: 0, to: byteCount, by: 4093) { buffer[i] = UInt8(truncatingIfNeeded: i | 1) }
        buffer[byteCount - 1] = 0xA5
        #expect(buffer[byteCount - 1] == 0xA5)
        for i in stride(from: 0, to: byteCount - 1, by: 4093) { #expect(buffer[i] == UInt8(truncatingIfNeeded: i | 1)) }
        ZeroedPages.deallocate(buffer)
    }
}
