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

    /// Keys inserted in key order (a bulk load) come out in that order without a sort, through
    /// growth, later versions and colliding hashes; one key out of order falls back to sorting.
    @Test func keysInsertedInOrderKeepTheirOrderAndOneOutOfOrderKeyStillSorts() {
        let arena = ByteArena()
        let index = MemtableKeyIndex()
        func key(_ n: Int) -> [UInt8] { [0, 0, 0, 7, 0, 0, 0, 0] + withUnsafeBytes(of: UInt64(n).bigEndian) { Array($0) } }
        var lsn: LSN = 0
        func insert(_ k: [UInt8]) {
            lsn += 1
            let hash: UInt64 = k.last! % 3 == 0 ? 99 : k.withUnsafeBytes { Checksum.keyHash($0) }
            k.withUnsafeBytes { kb in
                index.insert(kb, hash: hash, version: MemtableVersion(lsn: lsn, value: ArenaBytes(arena.copy([UInt8(lsn & 0xFF)])), isDelete: false, older: -1), arena: arena)
            }
        }
        for n in 0..<5_000 {
            insert(key(n))
            if n % 10 == 0 { insert(key(n)) }  // a second version: the key is not new
        }
        var expected = (0..<5_000).map(key)
        #expect(index.keysInOrder().map { [UInt8]($0.key) } == expected)
        #expect(index.keysInOrder().allSatisfy { index.chain(from: $0.newest).first!.lsn > 0 })
        insert(key(2_500) + [1])  // between key 2500 and 2501, inserted last
        expected.insert(key(2_500) + [1], at: 2_501)
        #expect(index.keysInOrder().map { [UInt8]($0.key) } == expected)
        insert(key(9_000))
        expected.append(key(9_000))
        #expect(index.keysInOrder().map { [UInt8]($0.key) } == expected)
    }

    /// Long keys that share their first 16 bytes, and keys that are prefixes of others, sort
    /// by their whole bytes.
    @Test func keysEqualInTheirFirstSixteenBytesSortWhole() {
        let arena = ByteArena()
        let index = MemtableKeyIndex()
        var rng = SystemRandomNumberGenerator()
        let prefix = [UInt8](repeating: 0xAB, count: 16)
        var keys = Set<[UInt8]>()
        while keys.count < 2_000 {
            let tail = (0..<Int.random(in: 0...4, using: &rng)).map { _ in UInt8.random(in: 0...7, using: &rng) }  // 3 × 4,681 keys to draw 2,000 from
            keys.insert(Array(prefix.prefix(Int.random(in: 14...16, using: &rng))) + tail)
        }
        var lsn: LSN = 0
        for k in keys.shuffled() {
            lsn += 1
            k.withUnsafeBytes { kb in
                index.insert(kb, hash: Checksum.keyHash(kb), version: MemtableVersion(lsn: lsn, value: ArenaBytes(arena.copy([1])), isDelete: false, older: -1), arena: arena)
            }
        }
        #expect(index.keysInOrder().map { [UInt8]($0.key) } == keys.sorted { $0.lexicographicallyPrecedes($1) })
    }
}
