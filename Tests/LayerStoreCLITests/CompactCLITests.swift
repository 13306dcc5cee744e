//! `layerstore compact` as operators run it, including SIGKILL at random moments: the store is
//! always either the old state or the new one.

import Foundation
import LayerStore
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct CompactCLITests {
    /// A store with several flushed generations (overwrites and deletes) of ~12 MB.
    func makeStore(_ dir: TempDir) throws -> (store: String, expected: [String: String]) {
        let store = dir.sub("s")
        var expected: [String: String] = [:]
        for round in 0..<4 {
            var lines: [(String, String)] = []
            for i in stride(from: round, to: 6000, by: 2) {
                let key = "k\(String(format: "%05d", i))"
                let value = "r\(round)-" + String(repeating: "v", count: 400 + i % 300)
                lines.append((key, value))
                expected[key] = value
            }
            #expect(try CLI.run(["import", store, "d", "--batch", "500"], stdin: CLI.importLines(lines)).status == 0)
            #expect(try CLI.run(["flush", store]).status == 0)
        }
        for i in stride(from: 0, to: 6000, by: 97) {
            let key = "k\(String(format: "%05d", i))"
            #expect(try CLI.run(["delete", store, "d", key]).status == 0)
            expected[key] = nil
        }
        return (store, expected)
    }

    func contents(_ store: String) throws -> [String: String] {
        var ro = StoreOptions()
        ro.readOnly = true
        let s = try Store(path: store, options: ro)
        var out: [String: String] = [:]
        for r in try s.snapshot().records(in: "d") {
            out[String(decoding: r.key, as: UTF8.self)] = String(decoding: r.value, as: UTF8.self)
        }
        return out
    }

    @Test func compactReportsBeforeAndAfterAndKeepsTheData() throws {
        let dir = try TempDir()
        let (store, expected) = try makeStore(dir)
        let dry = try CLI.run(["compact", store, "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry)")
        let before = try DirectorySnapshot(store)
        let run = try CLI.run(["compact", store, "--target-size", "4M", "--lz4"])
        #expect(run.status == 0, "\(run)")
        #expect(run.out.contains("segments 4 -> "))
        #expect(run.out.contains("LZ4 segments"))
        #expect(try DirectorySnapshot(store) != before)
        #expect(try contents(store) == expected)
        #expect(try CLI.run(["recover", store]).status == 0)
        #expect(try CLI.run(["compact", store, "--target-size", "zero"]).status == 2)
        #expect(try CLI.run(["compact", store, "--cold-after", "soon"]).status == 2)
        // An invalid dimension name is the store's typed error, as for put, get, scan and export.
        let settled = try DirectorySnapshot(store)
        let bad = try CLI.run(["compact", store, "--dimension", "../x"])
        #expect(bad.status == 3 && bad.stderr.contains("invalidArgument"), "\(bad)")
        #expect(try DirectorySnapshot(store) == settled, "a refused compaction changed the store")
    }

    @Test func aKilledCompactionLeavesTheOldStateOrTheNewOne() throws {
        let dir = try TempDir()
        let (store, expected) = try makeStore(dir)
        var rng = SeededRandom(seed: 77)
        var sawOld = false, sawNew = false
        for round in 0..<8 {
            let child = try StreamingChild(["compact", store, "--target-size", "2M"] + (round % 2 == 0 ? ["--lz4"] : []))
            usleep(UInt32.random(in: 1_000...120_000, using: &rng))
            child.sigkill()
            _ = child.wait()
            // Opening as a writer applies recovery; then every record must be exactly right.
            let s = try Store(path: store)
            let segments = s.mappedAddressRanges(of: "d").count
            try s.close()
            if segments == 4 && round == 0 { sawOld = true }
            if segments < 4 { sawNew = true }
            #expect(try contents(store) == expected, "round \(round)")
            #expect(try CLI.run(["recover", store]).status == 0, "round \(round)")
        }
        _ = sawOld
        #expect(sawNew || sawOld)
    }

    @Test func aLockedStoreIsRefused() throws {
        let dir = try TempDir()
        let (store, _) = try makeStore(dir)
        let holder = try StreamingChild(["import", store, "other"])
        holder.writeNow(Data("a\tb\n".utf8))
        _ = holder.stdout.wait(timeout: 10) { $0.count >= 0 }
        usleep(200_000)
        let r = try CLI.run(["compact", store])
        #expect(r.status == 3)
        #expect(r.stderr.contains("locked"))
        holder.closeStdin()
        _ = holder.wait()
    }
}
