import Testing
@testable import LayerStore

@Suite struct MemtableKeyIndexTests {
    /// Thousands of keys (the table grows many times), several versions of some, hashes that
    /// collide on purpose: every lookup at every LSN and the key order agree with a plain model.
    @Test func agreesWithAModelThroughGrowthVersionsAndCollisions() {
        let arena = ByteArena()
        let index = MemtableKeyIndex()
        var model: [[UInt8]: [(lsn: LSN, value: [UInt8])]] = [:]
        var rng = SystemRandomNumberGenerator()
        var lsn: LSN = 0
        for _ in 0..<20_000 {
            lsn += 1
            let key = (0..<Int.random(in: 1...6, using: &rng)).map { _ in UInt8.random(in: 0...7, using: &rng) }
            let value = [UInt8]("v\(lsn)".utf8)
            // Half the keys share one hash: the probe must compare bytes, not hashes alone.
            let hash = key.count.isMultiple(of: 2) ? 42 : key.withUnsafeBytes { Checksum.keyHash($0) }
            key.withUnsafeBytes { k in
                let stored = ArenaBytes(arena.copy(value))
                index.insert(k, hash: hash, version: MemtableVersion(lsn: lsn, value: stored, isDelete: false, older: -1), arena: arena)
            }
            model[key, default: []].append((lsn, value))
        }
        #expect(index.keyCount == model.count)
        for (key, versions) in model {
            let hash = key.count.isMultiple(of: 2) ? 42 : key.withUnsafeBytes { Checksum.keyHash($0) }
            for probe in [versions[0].lsn - 1, versions[0].lsn, versions.last!.lsn, lsn] {
                let expected = versions.last { $0.lsn <= probe }?.value
                let found = key.withUnsafeBytes { index.visible($0, hash: hash, at: probe) }
                #expect(found.map { $0.value.array } == expected)
            }
        }
        let ordered = index.keysInOrder().map { [UInt8]($0.key) }
        #expect(ordered == model.keys.sorted { $0.lexicographicallyPrecedes($1) })
        let chains = index.keysInOrder().map { index.chain(from: $0.newest).map(\.lsn) }
        #expect(chains.allSatisfy { $0 == $0.sorted(by: >) }, "versions newest first")
        #expect(chains.reduce(0) { $0 + $1.count } == 20_000)
        let missing: [UInt8] = [9, 9, 9, 9, 9, 9, 9]
        #expect(missing.withUnsafeBytes { index.visible($0, hash: Checksum.keyHash($0), at: lsn) } == nil)
    }

    /// More versions than one chunk holds (65,536) and a table past the size that comes from
    /// mapped memory: versions in later chunks chain back into earlier ones.
    @Test func versionsSpanChunksAndChainAcrossThem() {
        let arena = ByteArena()
        let index = MemtableKeyIndex()
        let keyCount = 50_000
        var lsn: LSN = 0
        for round in 0..<3 {
            for k in 0..<keyCount {
                lsn += 1
                let key = Array("key-\(k)".utf8)
                let value = Array("v\(round)-\(k)".utf8)
                key.withUnsafeBytes { kb in
                    index.insert(kb, hash: Checksum.keyHash(kb), version: MemtableVersion(lsn: lsn, value: ArenaBytes(arena.copy(value)), isDelete: round == 2 && k % 5 == 0, older: -1), arena: arena)
                }
            }
        }
        #expect(index.versionCount == 3 * keyCount)
        #expect(index.keyCount == keyCount)
        for k in stride(from: 0, to: keyCount, by: 997) {
            let key = Array("key-\(k)".utf8)
            let hash = key.withUnsafeBytes { Checksum.keyHash($0) }
            for round in 0..<3 {
                let at = LSN(round * keyCount + k + 1)
                let found = key.withUnsafeBytes { index.visible($0, hash: hash, at: at) }
                #expect(found?.value.array == Array("v\(round)-\(k)".utf8))
                #expect(found?.isDelete == (round == 2 && k % 5 == 0))
            }
            let newest = try! #require(index.keysInOrder().first { [UInt8]($0.key) == key })
            #expect(index.chain(from: newest.newest).map(\.lsn) == (0..<3).reversed().map { LSN($0 * keyCount + k + 1) })
        }
    }
}
