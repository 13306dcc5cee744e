import Testing
@testable import LayerStore

/// The relations between limits that the formats depend on: a compile-time check in spirit.
@Suite struct LimitsTests {
    @Test func limitsFitTheirOnDiskFields() {
        #expect(Limits.keyByteCountMax <= Int(UInt16.max))                      // WAL op key length: u16
        #expect(Limits.valueByteCountMax <= Int(UInt32.max))                    // WAL op value length: u32
        #expect(Limits.dimensionNameByteCountMax <= Int(UInt8.max))             // name length: u8
        #expect(Limits.dimensionNameByteCountMax <= SegmentFormat.dimensionNameFieldByteCount)
        #expect(Limits.segmentBlockCountMax < 1 << 20)                          // hash slot: 20 bits of block
        #expect(Limits.recordStartInBlockMax <= 1 << 20)                        // hash slot: 20 bits of offset
        #expect(Limits.batchByteCountMax <= Int(UInt32.max))                    // WAL payload length: u32
        #expect(Limits.batchOperationCountMax <= Int(UInt32.max))
        #expect(Limits.keyByteCountMax + Limits.valueByteCountMax + 80 <= Limits.batchByteCountMax)
        #expect(SegmentFormat.dimensionNameOffset + SegmentFormat.dimensionNameFieldByteCount <= SegmentFormat.headerChecksumOffset)
    }

    @Test func dimensionNamesAreValidated() throws {
        for good in ["a", "dim_1", "A.b-c", String(repeating: "x", count: 64)] {
            try Validate.dimensionName(good)
        }
        for bad in ["", ".hidden", "../x", "a/b", "sp ace", "é", String(repeating: "x", count: 65), "tab\t"] {
            #expect(throws: StoreError.self) { try Validate.dimensionName(bad) }
        }
    }
}
