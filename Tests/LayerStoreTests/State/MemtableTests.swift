import Testing
@testable import LayerStore

@Suite struct MemtableTests {
    func apply(_ m: Memtable, firstLSN: LSN, _ build: (inout WriteBatch) throws -> Void) throws {
        var batch = WriteBatch()
        try build(&batch)
        batch.payload.bytes.withUnsafeBytes { m.apply(payload: $0, count: batch.count, firstLSN: firstLSN) }
    }

    @Test func versionsAreVisibleBySnapshotLSN() throws {
        let m = Memtable()
        #expect(m.isEmpty)
        try apply(m, firstLSN: 1) { try $0.put("a1", forKey: "a", in: "d"); try $0.put("b1", forKey: "b", in: "d") }
        try apply(m, firstLSN: 3) { try $0.put("a2", forKey: "a", in: "d") }
        try apply(m, firstLSN: 4) { try $0.delete(forKey: "a", in: "d") }
        #expect(!m.isEmpty)
        #expect(m.lsnRange == (1, 4))
        func value(_ key: String, _ lsn: LSN) -> String?? {
            Array(key.utf8).withUnsafeBytes { k in
                guard let v = m.lookup(k, in: "d", snapshotLSN: lsn) else { return nil }
                return .some(v.isDelete ? nil : String(decoding: v.value, as: UTF8.self))
            }
        }
        #expect(value("a", 0) == nil)
        #expect(value("a", 1) == .some("a1"))
        #expect(value("a", 2) == .some("a1"))
        #expect(value("a", 3) == .some("a2"))
        #expect(value("a", 4) == .some(nil))
        #expect(value("b", 4) == .some("b1"))
        #expect(Array("a".utf8).withUnsafeBytes { m.lookup($0, in: "other", snapshotLSN: 9) } == nil)
        let all = m.allVersions(in: "d")
        #expect(all.map { String(decoding: $0.key, as: UTF8.self) } == ["a", "b"])
        #expect(all[0].versions.map(\.lsn) == [4, 3, 1])
        let visible = m.visibleEntries(in: "d", prefix: [], snapshotLSN: 2)
        #expect(visible.map { String(decoding: $0.version.value, as: UTF8.self) } == ["a1", "b1"])
        #expect(m.visibleEntries(in: "d", prefix: Array("b".utf8), snapshotLSN: 9).count == 1)
    }

    /// Payload bytes that stay put while the memtable points into them (a WAL mapping's stand-in).
    final class PayloadOwner {
        let bytes: UnsafeMutableRawBufferPointer
        init(_ payload: [UInt8]) {
            bytes = .allocate(byteCount: max(1, payload.count), alignment: 8)
            payload.withUnsafeBytes { bytes.copyMemory(from: $0) }
        }
        deinit { bytes.deallocate() }
    }

    /// Batches over dimensions of very different sizes, with overwrites and deletes, applied
    /// one by one, and gathered as a replay does and inserted on one and on two threads: every
    /// dimension ends with the same keys, versions and values, and every lookup agrees.
    @Test(arguments: [1, 2]) func aGatheredReplayEqualsBatchByBatchApplies(workerCount: Int) throws {
        var random = SeededRandom(seed: 0x5EED_0000 + UInt64(workerCount))
        let dimensions = ["big", "mid", "small", "one", "tiny"]
        let weights = [60, 25, 10, 1, 4]
        var batches: [WriteBatch] = []
        for b in 0..<180 {
            var batch = WriteBatch()
            // Every third batch names one dimension (as a load's do), which a worker that does
            // not own it skips whole; the others mix them.
            let only = b % 3 == 0 ? (b / 3) % dimensions.count : nil
            for _ in 0..<500 {
                var pick = Int.random(in: 0..<100, using: &random)
                var d = 0
                while pick >= weights[d] { pick -= weights[d]; d += 1 }
                if let only { d = only }
                let key = Array("k\(Int.random(in: 0..<(d == 3 ? 3 : 20_000), using: &random))".utf8)
                if Int.random(in: 0..<10, using: &random) == 0 {
                    try batch.delete(forKey: key, in: dimensions[d])
                } else {
                    try batch.put((0..<Int.random(in: 0..<24, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) },
                                  forKey: key, in: dimensions[d])
                }
            }
            batches.append(batch)
        }

        let expected = Memtable()
        var lsn: LSN = 1
        for batch in batches {
            batch.payload.bytes.withUnsafeBytes { expected.apply(payload: $0, count: batch.count, firstLSN: lsn) }
            lsn += LSN(batch.count)
        }
        // Two "files", so the second insert lands in tables that already hold keys.
        let replayed = Memtable()
        var owners: [PayloadOwner] = []
        lsn = 1
        for file in [batches[0..<80], batches[80...]] {
            var gathered = ReplayBatches()
            for batch in file {
                let owner = PayloadOwner(batch.payload.bytes)
                owners.append(owner)
                gathered.append(payload: UnsafeRawBufferPointer(owner.bytes), count: batch.count, firstLSN: lsn, owner: owner)
                lsn += LSN(batch.count)
            }
            // Uniform batches are marked with their dimension, the others as mixed.
            let uniform = file.indices.map { $0 % 3 == 0 }
            #expect(gathered.dimensionOfBatch.map { $0 != ReplayBatches.mixedDimensions } == uniform)
            for (i, batch) in gathered.batches.enumerated() where uniform[i] {
                let first = gathered.batches[..<i].reduce(0) { $0 + $1.count }
                #expect(gathered.dimensionOfOperation[first..<(first + batch.count)].allSatisfy { $0 == gathered.dimensionOfBatch[i] })
            }
            #expect(replayed.applyReplayed(gathered, workerCount: workerCount) == workerCount)
        }
        owners.removeAll()  // the memtable keeps what it points into

        #expect(replayed.lsnRange == expected.lsnRange)
        #expect(replayed.byteCount == expected.byteCount)
        #expect(Set(replayed.dimensionNames) == Set(dimensions))
        for dimension in dimensions {
            let a = replayed.allVersions(in: dimension), b = expected.allVersions(in: dimension)
            #expect(a.count == b.count, "\(dimension)")
            #expect(zip(a, b).allSatisfy { $0.key == $1.key && $0.versions.map(\.lsn) == $1.versions.map(\.lsn)
                && $0.versions.map(\.value) == $1.versions.map(\.value) && $0.versions.map(\.isDelete) == $1.versions.map(\.isDelete) },
                    "\(dimension)")
            for entry in b.prefix(200) {
                for snapshot in [lsn - 1, entry.versions.last!.lsn, entry.versions[0].lsn - 1] {
                    let got = entry.key.withUnsafeBytes { replayed.lookup($0, in: dimension, snapshotLSN: snapshot) }
                    let want = entry.key.withUnsafeBytes { expected.lookup($0, in: dimension, snapshotLSN: snapshot) }
                    #expect(got?.isDelete == want?.isDelete && got.map { [UInt8]($0.value) } == want.map { [UInt8]($0.value) })
                }
            }
        }
        #expect(Array("absent".utf8).withUnsafeBytes { replayed.lookup($0, in: "big", snapshotLSN: lsn) } == nil)
    }
}

/// A reader's memtable holds only the WAL it replayed: its key filter is sized by that WAL, not
/// by the writer's memtable limit (512 KiB of filter for the default 64 MiB).
@Suite struct ReadOnlyMemtableSizeTests {
    @Test func aReadOnlyOpenSizesItsMemtableByTheWALItReplays() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let writer = try Store(path: path, options: testOptions())
        let writerFilter = writer.currentState().memtables[0].filterByteCount
        #expect(writerFilter == 1 << (KeyFilter.bitCountLog2(forMemtableByteCount: testOptions().memtableByteCountMax) - 3))
        try writer.put("v", forKey: "k", in: "d")
        try writer.flush()
        try writer.close()
        var readOnly = testOptions()
        readOnly.readOnly = true
        // A cleanly closed store: nothing to replay, the smallest filter.
        let empty = try Store(path: path, options: readOnly)
        #expect(empty.currentState().memtables[0].filterByteCount == 1 << (10 - 3))
        #expect(try empty.string(forKey: "k", in: "d") == "v")
        try empty.close()
        // A store with unflushed writes: a filter for that much WAL, no more than the writer's.
        let again = try Store(path: path, options: testOptions())
        for i in 0..<2000 { try again.put(String(repeating: "x", count: 100), forKey: "k\(i)", in: "d") }
        let reader = try Store(path: path, options: readOnly)
        let filter = reader.currentState().memtables[0].filterByteCount
        #expect(filter > 1 << (10 - 3) && filter <= writerFilter)
        #expect(try reader.string(forKey: "k1999", in: "d") == String(repeating: "x", count: 100))
        try reader.close()
        try again.close()
    }
}
