import Testing
@testable import LayerStore

@Suite struct RecoverProgressTests {
    @Test func progressCoversEveryListedSegmentThenTheWALAndTheCheck() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        for round in 0..<3 {
            try store.write { batch in for i in 0..<50 { try batch.put("v\(round)", forKey: "k\(i)", in: "d\(round)") } }
            try store.flush()
        }
        try store.put("tail", forKey: "k", in: "d0")
        try store.close()
        var seen: [RecoverProgress] = []
        let report = try Recoverer.run(path: path, dryRun: false, salvage: false, options: testOptions()) { seen.append($0) }
        #expect(report.consistent)
        let segmentBytes = try #require(seen.last).totalByteCount
        #expect(segmentBytes > 0)
        #expect(seen.allSatisfy { $0.totalByteCount == segmentBytes && $0.doneByteCount <= segmentBytes })
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.doneByteCount <= $1.doneByteCount }, "progress never goes back")
        #expect(seen.filter { $0.item.hasPrefix("dims/") }.count == 3, "one report per listed segment")
        #expect(seen.map(\.item).suffix(3) == ["wal/", "applying", "checking the result"])
        #expect(seen.last!.doneByteCount == segmentBytes)
    }

    @Test func lengthsNoFileHasSaturateInsteadOfTrapping() {
        #expect(RecoverProgress.adding(5, 7) == 12)
        #expect(RecoverProgress.adding(5, UInt64.max) == Int.max)
        #expect(RecoverProgress.adding(Int.max - 1, 2) == Int.max)
        var manifest = Manifest.initial(storeID: 1)
        manifest.dimensions = [ManifestDimension(name: "d", segments: [
            SegmentDescriptor(id: 1, version: 1, codec: 0, minLSN: 1, maxLSN: 1, recordCount: 1, fileLength: UInt64.max),
            SegmentDescriptor(id: 2, version: 1, codec: 0, minLSN: 2, maxLSN: 2, recordCount: 1, fileLength: 10),
        ])]
        #expect(RecoverProgress.listedByteCount(manifest) == Int.max)
    }
}
