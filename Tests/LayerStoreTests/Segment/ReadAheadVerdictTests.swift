import Foundation
import Testing
@testable import LayerStore

/// A scan's read-ahead learns whether its helper thread pays on this machine: a trial times
/// blocks alone, then with the helper, keeps the helper only if it was faster, and hands out
/// every block exactly as a block-by-block read does whichever way it goes.
@Suite struct ReadAheadVerdictTests {
    @Test func theVerdictNeedsATrialKeepsItsAnswerAndTriesAgainLater() {
        let verdict = ReadAheadVerdict()
        let long = 3 * ReadAheadVerdict.trialBlockCount, short = long - 1
        #expect(!verdict.isKnown)
        #expect(verdict.advice(blockCount: long) == .tryBoth)
        #expect(verdict.advice(blockCount: short) == .alone)
        // Twice as fast with the helper: it stays, to be confirmed soon.
        #expect(verdict.record(alone: 1_000_000, helped: 500_000))
        #expect(verdict.isKnown)
        #expect(verdict.advice(blockCount: short) == .help)
        for _ in 1..<ReadAheadVerdict.confirmationInterval { #expect(verdict.advice(blockCount: long) == .help) }
        #expect(verdict.advice(blockCount: long) == .tryBoth)
        // Confirmed: the next trial waits the full interval.
        #expect(verdict.record(alone: 1_000_000, helped: 600_000))
        for _ in 1..<ReadAheadVerdict.retrialInterval { #expect(verdict.advice(blockCount: long) == .help) }
        #expect(verdict.advice(blockCount: long) == .tryBoth)
        // Within the noise: it goes, and the turn is tried again soon.
        #expect(!verdict.record(alone: 1_000_000, helped: 950_000))
        #expect(verdict.advice(blockCount: long) == .alone)
        for _ in 2..<ReadAheadVerdict.confirmationInterval { #expect(verdict.advice(blockCount: long) == .alone) }
        #expect(verdict.advice(blockCount: long) == .tryBoth)
        #expect(!verdict.record(alone: 1_000_000, helped: 1_800_000))
        #expect(verdict.advice(blockCount: short) == .alone)
        for _ in 1..<ReadAheadVerdict.retrialInterval { #expect(verdict.advice(blockCount: long) == .alone) }
        #expect(verdict.advice(blockCount: long) == .tryBoth)
        verdict.reset()
        #expect(!verdict.isKnown && verdict.advice(blockCount: long) == .tryBoth)
    }

    /// One LZ4 segment of 4 KiB blocks, enough for a trial and as many blocks after it.
    func coldSegment(_ dir: TemporaryDirectory) throws -> (Store, Segment) {
        let store = try Store(path: dir.child("s"), options: testOptions())
        var random = SeededRandom(seed: 0x7E57)
        try store.write { batch in
            for i in 0..<9_000 {
                let value = "\(i)-" + String(repeating: "wxyz", count: Int.random(in: 20...80, using: &random))
                try batch.put(value, forKey: "key-\(100_000 + i)", in: "d")
            }
        }
        try store.flush()
        var compaction = CompactionOptions()
        compaction.compression = .lz4
        compaction.blockByteCountTarget = 4 << 10
        _ = try store.compact(compaction)
        let segment = try #require(store.currentState().segments["d"]?.first).segment()
        // Room for the trial's halves, and for the scan's blocks while the helper starts.
        #expect(Int(segment.layout.blockCount) >= 6 * ReadAheadVerdict.trialBlockCount)
        return (store, segment)
    }

    /// The blocks `ahead` hands out, checked byte for byte against reading each block alone.
    func expectEveryBlock(_ ahead: BlockReadAhead, of segment: Segment) throws {
        var index = 0
        while let view = try ahead.next() {
            let alone = try segment.block(index, cached: false)
            // Both views' buffers stay theirs only while the views live.
            withExtendedLifetime((view, alone)) { #expect(Array(view.bytes) == Array(alone.bytes), "block \(index)") }
            index += 1
        }
        #expect(index == Int(segment.layout.blockCount))
    }

    @Test func aTrialHandsOutEveryBlockAndLeavesAVerdict() throws {
        let dir = TemporaryDirectory()
        let (store, segment) = try coldSegment(dir)
        for _ in 0..<3 {
            let verdict = ReadAheadVerdict()
            let ahead = BlockReadAhead(segment: segment, from: 0, helper: .whenItPays, verdict: verdict)
            #expect(!ahead.isHelped, "a trial starts alone")
            try expectEveryBlock(ahead, of: segment)
            #expect(verdict.isKnown)
            // The helper was started for the trial's second half, kept or stopped after it.
            #expect(ahead.isHelped)
            _ = ahead.stopHelper()
        }
        try store.close()
    }

    @Test func aKnownVerdictIsFollowedFromTheFirstBlock() throws {
        let dir = TemporaryDirectory()
        let (store, segment) = try coldSegment(dir)
        let pays = ReadAheadVerdict()
        pays.record(alone: 2_000_000, helped: 1_000_000)
        let helped = BlockReadAhead(segment: segment, from: 0, helper: .whenItPays, verdict: pays)
        #expect(helped.isHelped)
        try expectEveryBlock(helped, of: segment)
        let doesNot = ReadAheadVerdict()
        doesNot.record(alone: 1_000_000, helped: 2_000_000)
        let alone = BlockReadAhead(segment: segment, from: 0, helper: .whenItPays, verdict: doesNot)
        try expectEveryBlock(alone, of: segment)
        #expect(!alone.isHelped)
        #expect(alone.stopHelper().blocks == 0)
        try store.close()
    }

    @Test func aScanThatStopsDuringItsTrialLeavesNoHelperBehind() throws {
        let dir = TemporaryDirectory()
        let (store, segment) = try coldSegment(dir)
        let blockCount = Int(segment.layout.blockCount)
        for stop in [1, ReadAheadVerdict.trialBlockCount, ReadAheadVerdict.trialBlockCount + 3, 2 * ReadAheadVerdict.trialBlockCount, blockCount] {
            let verdict = ReadAheadVerdict()
            var ahead: BlockReadAhead? = BlockReadAhead(segment: segment, from: 0, helper: .whenItPays, verdict: verdict)
            for index in 0..<stop {
                let view = try #require(try ahead!.next())
                let alone = try segment.block(index, cached: false)
                withExtendedLifetime((view, alone)) { #expect(Array(view.bytes) == Array(alone.bytes), "block \(index)") }
            }
            ahead = nil  // cancels and waits for a started helper
            // The helped half starts once the helper has decoded a block: never before the
            // alone half's end, and in a full walk with hundreds of blocks to spare.
            #expect(verdict.isKnown == (stop == blockCount))
        }
        try store.close()
    }
}
