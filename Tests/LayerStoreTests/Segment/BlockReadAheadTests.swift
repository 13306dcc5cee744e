import Foundation
import Testing
@testable import LayerStore

/// Scans of a cold (LZ4) segment share the decoding of its blocks with a helper thread: they
/// must read exactly what a block-by-block walk reads, whichever side decodes which block and
/// however far ahead the helper runs, stop cleanly when the scan stops early, and hand over a
/// damaged block as its typed error in its place.
@Suite struct BlockReadAheadTests {
    /// A store whose dimension "d" is one LZ4 segment of many blocks, and its contents in key order.
    func coldStore(_ dir: TemporaryDirectory, options: StoreOptions = testOptions(), compression: Bool = true) throws -> (Store, [(String, String)]) {
        let store = try Store(path: dir.child("s"), options: options)
        var model: [String: String] = [:]
        var random = SeededRandom(seed: 0xC01D)
        for round in 0..<3 {
            try store.write { batch in
                for i in 0..<2000 {
                    let key = "key-\(String(i * 7 % 2000 + 10_000))"
                    if round == 2 && i.isMultiple(of: 11) {
                        try batch.delete(forKey: key, in: "d")
                        model[key] = nil
                    } else {
                        let value = "\(round)-\(i)-" + String(repeating: "abcdefgh", count: Int.random(in: 1...120, using: &random))
                        try batch.put(value, forKey: key, in: "d")
                        model[key] = value
                    }
                }
            }
            try store.flush()
        }
        var compaction = CompactionOptions()
        if compression { compaction.compression = .lz4 }
        compaction.targetSegmentByteCount = 64 << 20
        compaction.blockByteCountTarget = 16 << 10  // enough blocks for the read-ahead's ring to wrap
        _ = try store.compact(compaction)
        let segments = try store.currentState().segments.made("d")
        #expect(segments.count == 1)
        #expect(segments[0].layout.codec == (compression ? SegmentFormat.codecLZ4 : SegmentFormat.codecNone))
        #expect(Int(segments[0].layout.blockCount) > SegmentCursor.blocksBeforeReadAhead + 3 * BlockReadAhead.slotCount)
        return (store, model.sorted { $0.key < $1.key })
    }

    func scan(_ store: Store, prefix: String = "", limit: Int = .max) throws -> [(String, String)] {
        var out: [(String, String)] = []
        try store.scan("d", prefix: Array(prefix.utf8)) { key, value in
            out.append((key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }, value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }))
            return out.count < limit
        }
        return out
    }

    @Test func aColdScanReadsEveryRecordOnceInOrderFromManyThreads() throws {
        let dir = TemporaryDirectory()
        let (store, model) = try coldStore(dir)
        let all = try scan(store)
        #expect(all.map(\.0) == model.map(\.0) && all.map(\.1) == model.map(\.1))
        let prefixed = try scan(store, prefix: "key-11")
        #expect(prefixed.map(\.0) == model.filter { $0.0.hasPrefix("key-11") }.map(\.0))
        // Several scans at once, each with its own read-ahead.
        let failures = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            for _ in 0..<3 {
                let got = try? scan(store)
                if got?.map(\.0) != model.map(\.0) || got?.map(\.1) != model.map(\.1) { failures.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        try store.close()
    }

    @Test func aScanThatStopsEarlyStopsItsReadAhead() throws {
        let dir = TemporaryDirectory()
        let (store, model) = try coldStore(dir)
        for limit in [1, 40, 200, 700, 1500] {
            for _ in 0..<20 {
                let got = try scan(store, limit: limit)
                #expect(got.map(\.0) == model.prefix(limit).map(\.0))
            }
        }
        try store.close()
    }

    /// The blocks `ahead` hands out, checked byte for byte against reading each block alone.
    func expectEveryBlock(_ ahead: BlockReadAhead, of segment: Segment, from start: Int, pause: (Int) -> Void = { _ in }) throws {
        var index = start
        while let view = try ahead.next() {
            let alone = try segment.block(index, cached: false)
            #expect(Array(view.bytes) == Array(alone.bytes), "block \(index)")
            pause(index)
            index += 1
        }
        #expect(index == Int(segment.layout.blockCount))
    }

    @Test func withoutItsHelperTheScanDecodesEveryBlockItself() throws {
        let dir = TemporaryDirectory()
        let (store, _) = try coldStore(dir)
        let segment = try #require(store.currentState().segments["d"]?.first).segment()
        for start in [0, 5] {
            let ahead = BlockReadAhead(segment: segment, from: start, helper: .never)
            try expectEveryBlock(ahead, of: segment, from: start)
            #expect(ahead.stopHelper().blocks == 0)
        }
        try store.close()
    }

    @Test func aSlowScanLetsTheHelperFillTheRingAndWakesItForMore() throws {
        // The helper runs a full ring ahead, sleeps, and is woken as the scan takes blocks:
        // every block still arrives once, in order, with the right bytes.
        let dir = TemporaryDirectory()
        let (store, _) = try coldStore(dir)
        let segment = try #require(store.currentState().segments["d"]?.first).segment()
        let slow = BlockReadAhead(segment: segment, from: 0)
        try expectEveryBlock(slow, of: segment, from: 0) { index in
            if index % 3 == 0 { usleep(300) }
        }
        let (slowHelped, slowSleeps) = slow.stopHelper()
        #expect(slowSleeps > 0)
        #expect(slowHelped > Int(segment.layout.blockCount) / 2)
        // A fast scan races the helper for every block.
        for start in [0, 1, 7] {
            let fast = BlockReadAhead(segment: segment, from: start)
            try expectEveryBlock(fast, of: segment, from: start)
            #expect(fast.stopHelper().blocks <= Int(segment.layout.blockCount) - start)
        }
        // Abandoned at every stage: the helper is stopped and waited for, asleep or not.
        for taken in [0, 1, BlockReadAhead.slotCount / 2, BlockReadAhead.slotCount + 3] {
            let ahead = BlockReadAhead(segment: segment, from: 0)
            for _ in 0..<taken { _ = try ahead.next() }
            usleep(2000)
        }
        try store.close()
    }

    @Test func aPlainSegmentVerifiedOnEveryReadIsVerifiedAheadTooAndADamagedBlockStopsTheScanInItsPlace() throws {
        let dir = TemporaryDirectory()
        var options = testOptions()
        options.blockVerification = .everyRead
        let (store, model) = try coldStore(dir, options: options, compression: false)
        let segment = try #require(store.currentState().segments["d"]?.first).segment()
        #expect(segment.verification == .everyRead)
        let all = try scan(store)
        #expect(all.map(\.0) == model.map(\.0) && all.map(\.1) == model.map(\.1))
        let ahead = BlockReadAhead(segment: segment, from: 0)
        try expectEveryBlock(ahead, of: segment, from: 0)
        try expectScanStopsAtDamage(dir, store, segment, model, block: Int(segment.layout.blockCount) - 3, at: 9, options: options)
    }

    @Test func aDamagedBlockAheadIsATypedErrorInItsPlace() throws {
        let dir = TemporaryDirectory()
        let (store, model) = try coldStore(dir)
        let segment = try #require(store.currentState().segments["d"]?.first).segment()
        try expectScanStopsAtDamage(dir, store, segment, model, block: Int(segment.layout.blockCount) - 2, at: 5, options: testOptions())
    }

    /// Closes `store`, flips a byte `at` bytes into `block` of its one segment of "d", reopens
    /// it and scans: the scan must end in `corrupted`, after every record before the damaged
    /// block in order and nothing after it.
    func expectScanStopsAtDamage(_ dir: TemporaryDirectory, _ store: Store, _ segment: Segment, _ model: [(String, String)],
                                 block: Int, at offset: Int, options: StoreOptions) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.child("s/dims/d")).filter { $0.hasSuffix(".seg") }
        #expect(files.count == 1)
        let entry = try segment.blockEntry(block)
        try store.close()
        ByteSurgery.flip(dir.child("s/dims/d/") + files[0], at: entry.offset + offset)
        let reopened = try Store(path: dir.child("s"), options: options)
        var delivered: [String] = []
        do {
            try reopened.scan("d") { key, _ in
                delivered.append(key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
                return true
            }
            Issue.record("a scan over a damaged block finished")
        } catch {
            #expect(error.code == .corrupted, "\(error)")
        }
        #expect(delivered.count > model.count / 2 && delivered.count < model.count)
        #expect(delivered == Array(model.prefix(delivered.count).map(\.0)))
        try reopened.close()
    }
}
