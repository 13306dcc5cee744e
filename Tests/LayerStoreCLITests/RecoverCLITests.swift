//! `layerstore recover` as operators run it: exit codes, the text and JSON reports, a dry run
//! that changes nothing, a killed writer and a damaged segment.

import Foundation
import LayerStore
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct RecoverCLITests {
    func makeStore(_ dir: TempDir, flush: Bool = true) throws -> String {
        let store = dir.sub("s")
        let lines = (0..<200).map { ("k\(String(format: "%04d", $0))", "value-\($0)") }
        #expect(try CLI.run(["import", store, "d", "--batch", "20"], stdin: CLI.importLines(Array(lines[0..<150]))).status == 0)
        if flush { #expect(try CLI.run(["flush", store]).status == 0) }
        #expect(try CLI.run(["import", store, "d", "--batch", "10"], stdin: CLI.importLines(Array(lines[150...]))).status == 0)
        return store
    }

    @Test func aCleanStoreExitsZeroAndJSONParses() throws {
        let dir = try TempDir()
        let store = try makeStore(dir)
        let text = try CLI.run(["recover", store])
        #expect(text.status == 0, "\(text)")
        #expect(text.out.contains("result: consistent"))
        let json = try CLI.run(["recover", store, "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        #expect(object["consistent"] as? Bool == true)
        #expect(object["walRecords"] as? Int == 5)
        #expect((object["damageRemaining"] as? [Any])?.isEmpty == true)
    }

    @Test func aKilledWriterIsRecoveredAndReported() throws {
        let dir = try TempDir()
        let store = try makeStore(dir)
        // A writer killed mid-import: its last committed batches are in the WAL.
        let child = try StreamingChild(["import", store, "d", "--batch", "7"])
        child.startWriting(lineCount: 100_000) { i in Data("x\(String(format: "%06d", i))\tkilled-\(i)\n".utf8) }
        _ = child.stdout.wait(timeout: 30) { $0.count >= 3 }
        child.sigkill()
        _ = child.wait()
        let committed = child.stdout.state.lines.compactMap(committedCount).max() ?? 0
        #expect(committed > 0)
        let dry = try CLI.run(["recover", store, "--dry-run"])
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.out.contains("dry run"))
        let report = try CLI.run(["recover", store])
        #expect(report.status == 0, "\(report)")
        #expect(report.out.contains("WAL:"))
        // Every reported record is there.
        let scan = try CLI.run(["scan", store, "d", "--prefix", "x"])
        #expect(scan.lines.count >= committed)
    }

    @Test func aDamagedSegmentExitsOneThenSalvageExitsZero() throws {
        let dir = try TempDir()
        let store = try makeStore(dir)
        let segments = try FileManager.default.contentsOfDirectory(atPath: store + "/dims/d").filter { $0.hasSuffix(".seg") }
        let segment = store + "/dims/d/" + segments[0]
        var bytes = [UInt8](FileManager.default.contents(atPath: segment)!)
        bytes[300] ^= 0x10
        _ = FileManager.default.createFile(atPath: segment, contents: Data(bytes))
        let before = try DirectorySnapshot(store)
        // A dry run changes nothing; it says what would remain (1) or what salvage would do (0).
        let dry = try CLI.run(["recover", store, "--dry-run"])
        #expect(dry.status == 1, "\(dry)")
        let drySalvage = try CLI.run(["recover", store, "--dry-run", "--salvage"])
        #expect(drySalvage.status == 0, "\(drySalvage)")
        #expect(drySalvage.out.contains("lost"))
        #expect(try DirectorySnapshot(store) == before)
        let named = try CLI.run(["recover", store, "--json"])
        #expect(named.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: named.stdout) as? [String: Any])
        let damaged = try #require(object["blocksDamaged"] as? [[String: Any]])
        #expect(damaged.count == 1)
        #expect((damaged[0]["file"] as? String)?.hasPrefix("dims/d/") == true)
        #expect(damaged[0]["offset"] as? Int != nil)
        let salvaged = try CLI.run(["recover", store, "--salvage"])
        #expect(salvaged.status == 0, "\(salvaged)")
        #expect(salvaged.out.contains("lost"))
        #expect(salvaged.out.contains("quarantined"))
        #expect(FileManager.default.fileExists(atPath: store + "/quarantine/dims__d__" + segments[0]))
        #expect(try CLI.run(["get", store, "d", "k0199"]).out == "value-199")
    }

    @Test func usageAndStoreErrorsHaveTheirExitCodes() throws {
        let dir = try TempDir()
        #expect(try CLI.run(["recover"]).status == 2)
        #expect(try CLI.run(["recover", dir.sub("missing")]).status == 3)
        let store = try makeStore(dir, flush: false)
        let holder = try StreamingChild(["import", store, "d"])
        holder.writeNow(Data("a\tb\n".utf8))
        _ = try? CLI.run(["get", store, "d", "a"])
        let locked = try CLI.run(["recover", store])
        #expect(locked.status == 3)
        #expect(locked.stderr.contains("locked"))
        holder.closeStdin()
        _ = holder.wait()
    }
}
