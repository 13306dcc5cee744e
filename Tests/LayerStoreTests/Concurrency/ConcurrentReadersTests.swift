import Foundation
import Testing
@testable import LayerStore

/// One writer and 128 reader threads; every read is checked against what the writer could
/// have committed at that snapshot.
@Suite struct ConcurrentReadersTests {
    /// Each commit writes round `r` into every key of one group, atomically: value = "g<group>-r<round>".
    static let groups = 8
    static let keysPerGroup = 6

    static func key(_ group: Int, _ k: Int) -> [UInt8] { Array("g\(group)-k\(k)".utf8) }

    static func round(of value: [UInt8], group: Int) -> Int? {
        let text = String(decoding: value, as: UTF8.self)
        let prefix = "g\(group)-r"
        guard text.hasPrefix(prefix) else { return nil }
        return Int(text.dropFirst(prefix.count).prefix(while: { $0 != "|" }))
    }

    @Test func readersSeeOnlyWholeCommittedBatchesWhileTheWriterFlushes() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions { $0.memtableByteCountMax = 8 << 10 })
        let rounds = 120
        let failures = Locked<[String]>([])
        let done = Locked(false)
        let reads = Locked(0)
        let group = DispatchGroup()
        for reader in 0..<128 {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                var lastSeen = [Int](repeating: -1, count: Self.groups)
                var count = 0
                while !done.withLock({ $0 }) || count == 0 {
                    do {
                        let snapshot = try store.snapshot()
                        let g = (reader + count) % Self.groups
                        var roundsSeen = Set<Int>()
                        for k in 0..<Self.keysPerGroup {
                            let value = try snapshot.value(forKey: Self.key(g, k), in: "d")
                            if let value {
                                guard let r = Self.round(of: value, group: g) else {
                                    failures.withLock { $0.append("malformed value \(value)") }; return
                                }
                                roundsSeen.insert(r)
                            } else {
                                roundsSeen.insert(-1)
                            }
                        }
                        // Atomic batches: every key of the group at the same round.
                        if roundsSeen.count != 1 { failures.withLock { $0.append("torn batch: \(roundsSeen)") }; return }
                        // Snapshots only move forward.
                        let r = roundsSeen.first!
                        if r < lastSeen[g] { failures.withLock { $0.append("went back from \(lastSeen[g]) to \(r)") }; return }
                        lastSeen[g] = r
                        // A zero-copy read agrees with the copying one.
                        let len = try store.withValue(forKey: Self.key(g, 0), in: "d") { $0.byteCount }
                        if r >= 0 && len == nil { failures.withLock { $0.append("value vanished") }; return }
                        count += 1
                    } catch {
                        failures.withLock { $0.append("error \(error)") }; return
                    }
                }
                reads.withLock { $0 += count }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for round in 0..<rounds {
            let g = round % Self.groups
            try store.write { batch in
                for k in 0..<Self.keysPerGroup {
                    try batch.put(Array("g\(g)-r\(round)|".utf8) + [UInt8](repeating: UInt8(k), count: 200), forKey: Self.key(g, k), in: "d")
                }
            }
            if round % 37 == 0 { try store.flush() }
        }
        done.withLock { $0 = true }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(5) })")
        #expect(reads.withLock { $0 } >= 128)
        // The final state: every group at its last round.
        for g in 0..<Self.groups {
            let last = (0..<rounds).filter { $0 % Self.groups == g }.max()!
            for k in 0..<Self.keysPerGroup {
                #expect(Self.round(of: try store.value(forKey: Self.key(g, k), in: "d")!, group: g) == last)
            }
        }
    }

    @Test func concurrentCommittersShareSyncsAndLoseNothing() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        let io = store.io
        _ = io
        let committers = 16, perCommitter = 40
        let errors = Locked(0)
        DispatchQueue.concurrentPerform(iterations: committers) { c in
            for i in 0..<perCommitter {
                do { try store.put("\(c)-\(i)", forKey: "c\(c)-\(i)", in: "d") } catch { errors.withLock { $0 += 1 } }
            }
        }
        #expect(errors.withLock { $0 } == 0)
        #expect(store.lastLSN == LSN(committers * perCommitter))
        try store.close()
        let reopened = try Store(path: dir.child("s"))
        #expect(try reopened.snapshot().records(in: "d").count == committers * perCommitter)
        for c in 0..<committers { #expect(try reopened.string(forKey: "c\(c)-\(perCommitter - 1)", in: "d") == "\(c)-\(perCommitter - 1)") }
    }
}

/// Read-only opens beside a writer that commits, rolls (truncating WAL files) and flushes
/// (removing them): every open succeeds and sees every write acknowledged before it began; none
/// faults on a WAL file shrinking under it.
@Suite struct ReadOnlyBesideWriterTests {
    @Test func readOnlyOpensNeverFaultOrFailBesideABusyWriter() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let writer = try Store(path: path, options: testOptions { $0.memtableByteCountMax = 16 << 10 })
        try writer.put("0", forKey: "counter", in: "d")
        let stop = Locked(false)
        let failures = Locked<[String]>([])
        let opens = Locked(0)
        let acknowledged = Locked(0)
        let group = DispatchGroup()
        for _ in 0..<2 {
            group.enter()
            Thread {
                defer { group.leave() }
                var ro = testOptions()
                ro.readOnly = true
                while !stop.withLock({ $0 }) {
                    do {
                        // Every write acknowledged before the open began is visible to it. (Writes
                        // appended but not yet acknowledged may or may not be: an open can copy
                        // the WAL while a group is half written.)
                        let floor = acknowledged.withLock { $0 }
                        let reader = try Store(path: path, options: ro)
                        let value = Int(try reader.string(forKey: "counter", in: "d") ?? "") ?? -2
                        if value < floor {
                            let r = reader.recoveryReport
                            failures.withLock { $0.append("acknowledged \(floor), the open saw \(value) (manifest \(r.manifestGeneration), checkpoint \(r.checkpointLSN), replayed \(r.replayedRecordCount) records \(String(describing: r.replayedLSNs)), torn \(String(describing: r.tornTail)), lastLSN \(reader.lastLSN))") }
                        }
                        opens.withLock { $0 += 1 }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }.start()
        }
        for i in 1...400 {
            try writer.write { batch in
                try batch.put(String(i), forKey: "counter", in: "d")
                try batch.put([UInt8](repeating: UInt8(i % 251), count: 300), forKey: Array("filler-\(i % 50)".utf8), in: "d")
            }
            acknowledged.withLock { $0 = i }
        }
        stop.withLock { $0 = true }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")
        #expect(opens.withLock { $0 } > 0)
    }
}
