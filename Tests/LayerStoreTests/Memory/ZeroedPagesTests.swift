import Foundation
import Testing
@testable import LayerStore

@Suite struct ZeroedPagesTests {
    /// Both kinds (calloc below the threshold, a mapping above it, huge-page sized too) come
    /// zeroed, hold what is written, and go back.
    @Test(arguments: [1, 4096, ZeroedPages.mappingThreshold - 1, ZeroedPages.mappingThreshold, 3 << 20], [false, true])
    func allocationsComeZeroedAndHoldWrites(byteCount: Int, populate: Bool) {
        let buffer = ZeroedPages.allocate(byteCount: byteCount, populate: populate)
        #expect(buffer.count == byteCount)
        #expect(buffer.allSatisfy { $0 == 0 })
        for i in stride(from: 0, to: byteCount, by: 4093) { buffer[i] = UInt8(truncatingIfNeeded: i | 1) }
        buffer[byteCount - 1] = 0xA5
        #expect(buffer[byteCount - 1] == 0xA5)
        for i in stride(from: 0, to: byteCount - 1, by: 4093) { #expect(buffer[i] == UInt8(truncatingIfNeeded: i | 1)) }
        ZeroedPages.deallocate(buffer)
    }

    /// The pages of each mapping `buffer` covers that are resident, by `mincore`.
    func residentPages(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: (buffer.count + page - 1) / page)
        #expect(mincore(buffer.baseAddress, buffer.count, &vector) == 0)
        return vector.filter { $0 & 1 != 0 }.count
    }

    /// A populated mapping is resident before anything touches it; a plain one is not.
    @Test func aPopulatedMappingIsResidentAtOnce() {
        let byteCount = 1 << 20
        let plain = ZeroedPages.allocate(byteCount: byteCount)
        let populated = ZeroedPages.allocate(byteCount: byteCount, populate: true)
        defer { ZeroedPages.deallocate(plain); ZeroedPages.deallocate(populated) }
        #expect(residentPages(plain) == 0)
        #expect(residentPages(populated) == byteCount / Int(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// From a huge page's size on, a table starts on a huge-page boundary (the kernel backs
    /// only aligned 2 MiB ranges with huge pages), and the trimmed mapping's neighbours are not
    /// the table's: unmapping it leaves no part behind and takes nothing else.
    @Test(arguments: [ZeroedPages.hugePageByteCount, ZeroedPages.hugePageByteCount + 4096, 5 << 19])
    func hugeTablesStartOnAHugePageBoundary(byteCount: Int) {
        var buffers: [UnsafeMutableRawBufferPointer] = []
        for _ in 0..<3 { buffers.append(ZeroedPages.allocate(byteCount: byteCount, populate: true)) }
        for buffer in buffers {
            #expect(UInt(bitPattern: buffer.baseAddress) % UInt(ZeroedPages.hugePageByteCount) == 0)
            #expect(buffer.count == byteCount)
            #expect(residentPages(buffer) == byteCount / Int(sysconf(Int32(_SC_PAGESIZE))))
            buffer[0] = 1
            buffer[byteCount - 1] = 2
        }
        for buffer in buffers {
            #expect(buffer[0] == 1 && buffer[byteCount - 1] == 2)
            ZeroedPages.deallocate(buffer)
            // Nothing of it is mapped any more.
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            var vector = [UInt8](repeating: 0, count: (byteCount + page - 1) / page)
            #expect(mincore(buffer.baseAddress, byteCount, &vector) == -1 && errno == ENOMEM)
        }
    }
}
