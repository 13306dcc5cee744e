//! The workload generator the harness relies on, cross-checked against shared/workload.md's
//! definition, written here again from the text alone.

import LayerStoreWorkload
import Testing

/// splitmix64 as usually defined (the state advances by the golden gamma before each output).
struct ReferenceSplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// workload.md, "Values": the first floor(n/2) bytes are successive outputs (little-endian),
/// the rest repeats a 16-byte pattern made of the next two outputs.
func referenceValue(dim: Int, rec: Int, n: Int) -> [UInt8] {
    var rng = ReferenceSplitMix(state: (UInt64(0x5EED_0280) << 32) ^ (UInt64(dim) << 40) ^ UInt64(rec))
    var stream: [UInt8] = []
    while stream.count < n / 2 {
        let w = rng.next()
        for b in 0..<8 { stream.append(UInt8((w >> (8 * UInt64(b))) & 0xFF)) }
    }
    var out = Array(stream.prefix(n / 2))
    let p0 = rng.next(), p1 = rng.next()
    var pattern: [UInt8] = []
    for w in [p0, p1] { for b in 0..<8 { pattern.append(UInt8((w >> (8 * UInt64(b))) & 0xFF)) } }
    while out.count < n { out.append(pattern[(out.count - n / 2) % 16]) }
    return out
}

@Test func keysAreBigEndianDimensionZerosRecord() {
    #expect(Workload.key(dimension: 7, record: 0x0102_0304_0506) == [0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6])
    #expect(Workload.key(dimension: 15, record: 4479).count == 16)
}

@Test(arguments: [(0, 0, 4096), (15, 4479, 4096), (7, 183_500, 100), (3, 12, 100), (1, 1, 17)])
func valuesMatchTheWrittenDefinition(dim: Int, rec: Int, n: Int) {
    #expect(Workload.value(dimension: dim, record: rec, count: n) == referenceValue(dim: dim, rec: rec, n: n))
}

@Test func profilesHaveTheWorkloadsShape() {
    #expect(WorkloadProfile.layer.recordsPerDimension == 4480)
    #expect(WorkloadProfile.small.recordsPerDimension == 183_501)
    #expect(WorkloadProfile.layer.recordCount == 71_680)
    #expect(WorkloadProfile.small.recordCount == 2_936_016)
    #expect(WorkloadProfile.layer.valueBytes == 293_601_280)
}

@Test func randomReadsAreTheSeededStreamModuloTheCount() {
    var rng = ReferenceSplitMix(state: 0x280280 + 3)
    let expected = (0..<50).map { _ in Int(rng.next() % 71_680) }
    #expect(Workload.randomRecords(pass: 3, count: 50, total: 71_680) == expected)
}

@Test func touchIsXorOfFirstAndLastEightBytes() {
    let v: [UInt8] = (0..<16).map(UInt8.init) + [UInt8](repeating: 0xFF, count: 8)
    let t = v.withUnsafeBytes(Workload.touch)
    #expect(t == (0x0706_0504_0302_0100 as UInt64) ^ 0xFFFF_FFFF_FFFF_FFFF)
}
