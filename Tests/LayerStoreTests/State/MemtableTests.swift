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
}
