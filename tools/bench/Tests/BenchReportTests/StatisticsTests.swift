//! The statistics the report rests on: medians of repeats and nearest-rank percentiles.

import BenchReport
import Testing

@Test func medianOfOddAndEvenCounts() {
    #expect(Statistics.median([3, 1, 2]) == 2)
    #expect(Statistics.median([4, 1, 3, 2]) == 2.5)
    #expect(Statistics.median([7]) == 7)
    #expect(Statistics.median([]) == nil)
}

@Test func nearestRankPercentiles() {
    let values = (1...100).map(UInt64.init)
    #expect(Statistics.percentile(sorted: values, 0.5) == 50)
    #expect(Statistics.percentile(sorted: values, 0.99) == 99)
    #expect(Statistics.percentile(sorted: values, 1.0) == 100)
    #expect(Statistics.percentile(sorted: values, 0) == 1)
    #expect(Statistics.percentile([5, 1, 4, 2, 3], 0.5) == 3)
    #expect(Statistics.percentile(sorted: [UInt64](), 0.5) == nil)
}

@Test func figureSummarisesItsRepeats() {
    let f = Figure(engine: "lmdb", profile: "layer", metric: "read1.ops", unit: "ops/s", values: [3, 9, 6])
    #expect(f.median == 6)
    #expect(f.min == 3)
    #expect(f.max == 9)
}
