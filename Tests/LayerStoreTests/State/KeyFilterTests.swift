import Testing
@testable import LayerStore

@Suite struct KeyFilterTests {
    @Test func everyInsertedHashMayBeContainedAndFewOthersAre() {
        let filter = KeyFilter(bitCountLog2: 16)
        var rng = SplitMix(seed: 11)
        let inserted = (0..<4_000).map { _ in rng.next() }
        for hash in inserted { filter.insert(hash: hash) }
        #expect(inserted.allSatisfy { filter.mayContain(hash: $0) }, "a Bloom filter has no false negatives")
        let others = (0..<100_000).map { _ in rng.next() }
        let falsePositives = others.filter { filter.mayContain(hash: $0) }.count
        // 4,000 keys in 65,536 bits with two probes: about 1.4% expected.
        #expect(falsePositives < 5_000, "false positive rate \(falsePositives) in 100,000")
        #expect(falsePositives > 0, "the filter is not trivially empty")
    }

    @Test func aMemtableStillFindsEveryKeyItHolds() throws {
        let m = Memtable(expectedByteCount: 1 << 12)  // the smallest filter: many false positives
        var batch = WriteBatch()
        for i in 0..<2_000 { try batch.put("v\(i)", forKey: "k\(i)", in: "d") }
        batch.payload.bytes.withUnsafeBytes { m.apply(payload: $0, count: batch.count, firstLSN: 1) }
        for i in 0..<2_000 {
            let found = Array("k\(i)".utf8).withUnsafeBytes { m.lookup($0, in: "d", snapshotLSN: 2_000) }
            #expect(found.map { String(decoding: $0.value, as: UTF8.self) } == "v\(i)")
        }
        #expect(Array("absent".utf8).withUnsafeBytes { m.lookup($0, in: "d", snapshotLSN: 2_000) } == nil)
    }

    @Test func sizesFollowTheMemtableBudget() {
        #expect(KeyFilter.bitCountLog2(forMemtableByteCount: 1 << 12) == 10)
        #expect(KeyFilter.bitCountLog2(forMemtableByteCount: 64 << 20) == 22)
        #expect(KeyFilter.bitCountLog2(forMemtableByteCount: 1 << 30) == 26)
        #expect(KeyFilter.bitCountLog2(forMemtableByteCount: 1 << 40) == 26)
    }
}

/// A small deterministic generator for tests.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
