//! The CLI across processes: one writer at a time with readers beside it, and `import` killed
//! with SIGKILL at random points never losing a record it reported as committed.

import Foundation
import LayerStore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("layerstore CLI processes")
struct CLIProcessTests {
    // MARK: 6. one writer; readers beside it

    @Test("a second writer is refused with exit 3 'locked' while readers see committed records")
    func secondWriterIsRefused() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        #expect(try CLI.run(["put", store, "d", "before", "0"]).status == 0)
        #expect(try CLI.run(["flush", store]).status == 0)

        let child = try StreamingChild(["import", store, "d", "--batch", "10"])
        child.writeNow(CLI.importLines((0..<10).map { ("k\($0)", "v\($0)") }))
        let sawFirst = child.stdout.wait(timeout: 20) { $0.contains("committed 10") }
        #expect(sawFirst, "no 'committed 10' from import: \(child.stdout.state) \(child.stderr)")
        #expect(child.process.isRunning, "import must still run (its stdin is open): \(child.stderr)")

        // Every writing command is refused.
        for args in [["put", store, "d", "k", "other"], ["delete", store, "d", "k1"], ["flush", store]] {
            let r = try CLI.run(args)
            #expect(r.status == 3, "\(args): \(r)")
            #expect(r.stderr.contains("locked"), "\(args): \(r)")
        }
        var r = try CLI.run(["import", store, "d"], stdin: CLI.importLines([("x", "y")]))
        #expect(r.status == 3 && r.stderr.contains("locked") && r.stdout.isEmpty, "second import: \(r)")

        // Readers work beside the writer and see what it reported.
        r = try CLI.run(["get", store, "d", "k3"])
        #expect(r.status == 0 && r.out == "v3", "\(r)")
        r = try CLI.run(["get", store, "d", "before"])
        #expect(r.status == 0 && r.out == "0", "\(r)")
        r = try CLI.run(["scan", store, "d"])
        let expected10 = [("before", "0")] + (0..<10).map { ("k\($0)", "v\($0)") }
        #expect(r.status == 0 && r.out == String(decoding: CLI.importLines(expected10.sorted { $0.0 < $1.0 }), as: UTF8.self), "\(r)")
        do {
            let reader = try Store(path: store, options: readOnlyOptions)
            #expect(try reader.snapshot().records(in: "d").count == 11)
            try reader.close()
        }
        // The refused writers did not disturb the running one: more lines, then EOF.
        child.writeNow(CLI.importLines((10..<25).map { ("k\($0)", "v\($0)") }))
        #expect(child.stdout.wait(timeout: 20) { $0.contains("committed 20") })
        r = try CLI.run(["get", store, "d", "k19"])
        #expect(r.status == 0 && r.out == "v19", "\(r)")
        #expect(try CLI.run(["get", store, "d", "k24"]).status == 1, "k24 is in an uncommitted batch")
        #expect(try CLI.run(["put", store, "d", "k", "other"]).stderr.contains("locked"))

        child.closeStdin()
        let end = child.wait()
        #expect(end.reason == .exit && end.status == 0, "import: \(end) \(child.stderr)")
        #expect(child.stdout.state.lines == ["committed 10", "committed 20", "committed 25"])
        #expect(child.stderr.isEmpty, "\(child.stderr)")

        // The lock is released: writers work again; everything is there.
        r = try CLI.run(["put", store, "d", "k", "after"])
        #expect(r.status == 0, "\(r)")
        r = try CLI.run(["scan", store, "d", "--keys-only"])
        #expect(r.lines == (["before", "k"] + (0..<25).map { "k\($0)" }).sorted())
        #expect(try CLI.run(["get", store, "d", "k24"]).out == "v24")
        #expect(try CLI.run(["get", store, "d", "x"]).status == 1, "the refused import wrote nothing")
    }

    // MARK: 7. SIGKILL during import

    @Test("import killed with SIGKILL keeps every record it reported, and invents none")
    func sigkillDuringImport() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        var checker = KillRoundChecker(store: store, keyCount: 60_000, batch: 50)

        for (round, seed) in ([11, 23, 37, 41, 59, 67] as [UInt64]).enumerated() {
            var rng = SeededRandom(seed: seed)
            let chunkSizes = (0..<16).map { _ in Int.random(in: 1...8192, using: &rng) }
            let byLines = Bool.random(using: &rng)
            let targetLines = Int.random(in: 1...25, using: &rng)
            let delayMs = Int.random(in: 20...200, using: &rng)
            let keyCount = checker.keyCount

            let child = try StreamingChild(["import", store, "d", "--batch", String(checker.batch)])
            child.startWriting(lineCount: keyCount, chunkSizes: chunkSizes) { i in
                Data("\(KillRoundChecker.key(i))\t\(KillRoundChecker.value(i, seed: seed, byteCount: 0))\n".utf8)
            }
            if byLines {
                let ok = child.stdout.wait(timeout: 20) { $0.count >= targetLines }
                #expect(ok, "round \(round): import reported \(child.stdout.state.lines.count) lines: \(child.stderr)")
            } else {
                usleep(useconds_t(delayMs * 1000))
            }
            try checker.killAndVerify(child, round: round, seed: seed, valueByteCount: { _ in 0 },
                                      how: byLines ? "after \(targetLines) lines" : "after \(delayMs) ms")

            // Sometimes flush, so later rounds mix segments with the WAL.
            if round % 2 == 1 || Bool.random(using: &rng) {
                try checker.flushAndVerify(round: round)
            }
        }
        try checker.verifyWithCLIScan()
        print("SIGKILL rounds: \(checker.log.joined(separator: "; "))")
    }

    @Test("import killed with SIGKILL while a full memtable is being flushed in the background")
    func sigkillDuringBackgroundFlush() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        // Values of 4-20 KB: the 64 MiB memtable fills after about 5,500 records and a
        // background flush starts while the import goes on.
        var checker = KillRoundChecker(store: store, keyCount: 9_000, batch: 100)
        let memtableRecords = 5_800

        for (round, seed) in ([5, 77] as [UInt64]).enumerated() {
            var rng = SeededRandom(seed: seed)
            let target = Int.random(in: memtableRecords...(memtableRecords + 1_500), using: &rng)
            let keyCount = checker.keyCount
            let child = try StreamingChild(["import", store, "d", "--batch", String(checker.batch)])
            child.startWriting(lineCount: keyCount, chunkSizes: [65_536, 12_345]) { i in
                Data("\(KillRoundChecker.key(i))\t\(KillRoundChecker.value(i, seed: seed, byteCount: KillRoundChecker.largeSize(i, seed)))\n".utf8)
            }
            let ok = child.stdout.wait(timeout: 40) { ($0.last.flatMap(committedCount) ?? 0) >= target }
            #expect(ok, "round \(round): import reported only \(child.stdout.state.lines.last ?? "nothing"): \(child.stderr)")
            try checker.killAndVerify(child, round: round, seed: seed, valueByteCount: { KillRoundChecker.largeSize($0, seed) },
                                      how: "after committed \(target)")
        }
        try checker.flushAndVerify(round: 99)
        try checker.verifyWithCLIScan()
        print("SIGKILL during flush rounds: \(checker.log.joined(separator: "; "))")
    }
}

/// Kills `import` children and checks the store after each kill against a model of what it must
/// hold: every reported record with the round's value, whole batches only, earlier values
/// beyond the durable prefix, no stranger keys.
struct KillRoundChecker {
    let store: String
    let keyCount: Int
    let batch: Int
    /// What the store holds for each key (nil = absent) after the last verified round.
    var model: [String?]
    var log: [String] = []

    init(store: String, keyCount: Int, batch: Int) {
        self.store = store
        self.keyCount = keyCount
        self.batch = batch
        model = [String?](repeating: nil, count: keyCount)
    }

    static func key(_ i: Int) -> String { String(format: "k%06d", i) }

    /// `v<i>-<seed>`, padded with a pattern to `byteCount` bytes if that is longer.
    static func value(_ i: Int, seed: UInt64, byteCount: Int) -> String {
        let base = String(format: "v%06d-", i) + String(seed)
        guard byteCount > base.utf8.count else { return base }
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        let fill = String(repeating: letters[(i &+ Int(seed)) % letters.count], count: byteCount - base.utf8.count - 2)
        return base + "-" + fill + String(letters[i % letters.count])
    }

    /// 4-20 KB, fixed per key and seed.
    static func largeSize(_ i: Int, _ seed: UInt64) -> Int {
        var g = SeededRandom(seed: seed &* 1_000_003 &+ UInt64(i))
        return Int.random(in: 4_000...20_000, using: &g)
    }

    mutating func killAndVerify(_ child: StreamingChild, round: Int, seed: UInt64, valueByteCount: (Int) -> Int,
                                how: String) throws {
        #expect(child.process.isRunning, "round \(round): import ended before the kill: \(child.stderr)")
        child.sigkill()
        let end = child.wait()
        #expect(end.reason == .uncaughtSignal && end.status == SIGKILL, "round \(round): \(end) \(child.stderr)")

        // Everything it printed, read to EOF: only well-formed, increasing, per-batch counts.
        let lines = child.stdout.state.lines
        let counts = lines.compactMap(committedCount)
        #expect(counts.count == lines.count, "round \(round): unexpected output \(lines)")
        #expect(counts == (0..<counts.count).map { ($0 + 1) * batch }, "round \(round): \(counts)")
        let reported = counts.last ?? 0

        // A reader first (it skips a torn tail without repairing it), then the writer open
        // that recovers; both must see the same records.
        let reader = try Store(path: store, options: readOnlyOptions)
        let readerRecords = try reader.snapshot().records(in: "d")
        try reader.close()
        let opened = try Store(path: store)
        let report = opened.recoveryReport
        let records = try opened.snapshot().records(in: "d")
        try opened.close()
        #expect(readerRecords == records, "round \(round): read-only open and writer open disagree")

        // Scan order, and no key that was never written.
        let keys = records.map { String(decoding: $0.key, as: UTF8.self) }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 }, "round \(round): records out of order")
        var found = [String?](repeating: nil, count: keyCount)
        var strangers: [String] = []
        for (k, record) in zip(keys, records) {
            if k.hasPrefix("k"), k.count == 7, let i = Int(k.dropFirst()), i < keyCount, Self.key(i) == k {
                found[i] = String(decoding: record.value, as: UTF8.self)
            } else {
                strangers.append(k)
            }
        }
        #expect(strangers.isEmpty, "round \(round): keys never written: \(strangers.prefix(5))")

        // Every reported record is there with this round's value.
        let written = (0..<keyCount).map { Self.value($0, seed: seed, byteCount: valueByteCount($0)) }
        var lost = 0
        for i in 0..<reported where found[i] != written[i] {
            lost += 1
            if lost <= 5 { Issue.record("round \(round) (seed \(seed)): reported \(reported) but \(Self.key(i)) = \(found[i]?.prefix(40) ?? "absent")") }
        }
        #expect(lost == 0, "round \(round): \(lost) reported records lost or wrong")

        // Batches are atomic and in order: this round's values form a prefix of whole batches
        // at least as long as what was reported; after it, the earlier state.
        var durable = 0
        while durable < keyCount && found[durable] == written[durable] {
            durable += 1
        }
        #expect(durable >= reported, "round \(round)")
        #expect(durable % batch == 0, "round \(round): a partial batch (\(durable) records) survived the crash")
        var mismatches = 0
        for i in durable..<keyCount where found[i] != model[i] {
            mismatches += 1
            if mismatches <= 5 {
                Issue.record("round \(round): \(Self.key(i)) = \(found[i]?.prefix(40) ?? "absent"), expected \(model[i]?.prefix(40) ?? "absent") (durable prefix \(durable))")
            }
        }
        #expect(mismatches == 0, "round \(round): \(mismatches) records beyond the durable prefix differ from before")
        model = found
        var entry = "seed \(seed): \(how), reported \(reported), durable \(durable), checkpoint \(report.checkpointLSN)"
        if !report.removedTempFiles.isEmpty || !report.removedUnpublishedSegments.isEmpty {
            entry += ", recovery removed \(report.removedTempFiles + report.removedUnpublishedSegments)"
        }
        if let torn = report.tornTail { entry += ", torn tail of \(torn.byteCount) bytes" }
        log.append(entry)
    }

    /// `layerstore flush`, then the same records, none replayed from the WAL.
    mutating func flushAndVerify(round: Int) throws {
        let r = try CLI.run(["flush", store])
        #expect(r.status == 0, "round \(round): flush \(r)")
        let flushed = try Store(path: store, options: readOnlyOptions)
        let records = try flushed.snapshot().records(in: "d")
        #expect(records.count == model.filter { $0 != nil }.count, "round \(round): flush changed the records")
        for record in records {
            let k = String(decoding: record.key, as: UTF8.self)
            if let i = Int(k.dropFirst()), i < keyCount, model[i] != String(decoding: record.value, as: UTF8.self) {
                Issue.record("round \(round): \(k) changed in the flush")
            }
        }
        #expect(flushed.recoveryReport.replayedOperationCount == 0, "round \(round): \(flushed.recoveryReport)")
        try flushed.close()
        if !log.isEmpty { log[log.count - 1] += ", flushed" }
    }

    /// The CLI's scan agrees with the model.
    func verifyWithCLIScan() throws {
        let r = try CLI.run(["scan", store, "d"])
        #expect(r.status == 0)
        let expectedLines = (0..<keyCount).compactMap { i in model[i].map { "\(Self.key(i))\t\($0)" } }
        #expect(r.lines == expectedLines, "CLI scan differs from the model")
        #expect(model.contains { $0 != nil }, "no round committed anything: \(log)")
    }
}
