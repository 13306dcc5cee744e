//! `layerstore backup` and `layerstore stats` as operators run them: a backup of a store whose
//! writer (this test process) keeps committing and flushing, JSON reports, and refusals.

import Foundation
import LayerStore
import Testing

@Suite struct BackupStatsCLITests {
    struct BackupJSON: Decodable {
        var destination: String
        var lsn: UInt64
        var checkpointLSN: UInt64
        var segmentCount: Int
        var linkedSegmentCount: Int
        var walOperationCount: Int
        var verified: Bool?
    }

    @Test func aBackupBesideALiveWriterVerifiesAndHoldsAPrefixOfTheWriterHistory() throws {
        let dir = try TempDir()
        let path = dir.sub("s")
        var options = StoreOptions()
        options.memtableByteCountMax = 16 << 10
        options.walFileByteCount = 1 << 16
        let store = try Store(path: path, options: options)
        // Key i holds i: a backup at LSN L holds exactly keys 1...L.
        for i in 1...200 { try store.put("\(i)", forKey: "k\(i)", in: "d") }
        let stop = StopFlag()
        let writer = Thread {
            var i = 201
            while !stop.isSet {
                do { try store.put("\(i)", forKey: "k\(i)", in: "d") } catch { return }
                if i % 150 == 0 { try? store.flush() }
                i += 1
            }
        }
        writer.start()
        let result = try CLI.run(["backup", path, dir.sub("b"), "--json"])
        stop.set()
        while !writer.isFinished { usleep(1000) }
        #expect(result.status == 0, "\(result)")
        let report = try JSONDecoder().decode(BackupJSON.self, from: result.stdout)
        #expect(report.verified == true)
        #expect(report.lsn >= 200)
        #expect(report.walOperationCount == Int(report.lsn - report.checkpointLSN))

        #expect(try CLI.run(["verify", dir.sub("b")]).status == 0)
        var readOnly = StoreOptions()
        readOnly.readOnly = true
        let backup = try Store(path: dir.sub("b"), options: readOnly)
        #expect(backup.lastLSN == report.lsn)
        let records = try backup.snapshot().records(in: "d")
        #expect(records.count == Int(report.lsn))
        #expect(Set(records.map { String(decoding: $0.key, as: UTF8.self) }) == Set((1...Int(report.lsn)).map { "k\($0)" }))
        #expect(records.allSatisfy { "k" + String(decoding: $0.value, as: UTF8.self) == String(decoding: $0.key, as: UTF8.self) })
        try store.close()
    }

    @Test func backupRefusesANonEmptyDestinationAMissingStoreAndBadUsage() throws {
        let dir = try TempDir()
        let path = dir.sub("s")
        #expect(try CLI.run(["put", path, "d", "k", "v"]).status == 0)
        let first = try CLI.run(["backup", path, dir.sub("b")])
        #expect(first.status == 0, "\(first)")
        #expect(first.out.contains("verify: clean"))
        let before = try DirectorySnapshot(dir.sub("b"))
        let again = try CLI.run(["backup", path, dir.sub("b")])
        #expect(again.status == 3)
        #expect(again.stderr.contains("invalidArgument") && again.stderr.contains("not empty"))
        #expect(try DirectorySnapshot(dir.sub("b")) == before)
        let missing = try CLI.run(["backup", dir.sub("nothing"), dir.sub("b2")])
        #expect(missing.status == 3)
        #expect(!FileManager.default.fileExists(atPath: dir.sub("b2")))
        #expect(try CLI.run(["backup", path]).status == 2)
        let help = try CLI.run(["backup", "--help"])
        #expect(help.status == 0 && help.out.contains("Exit codes"))
    }

    @Test func statsCountsLiveAndDeadRecordsAsTextAndJSON() throws {
        let dir = try TempDir()
        let path = dir.sub("s")
        #expect(try CLI.run(["import", path, "d"], stdin: CLI.importLines((0..<20).map { ("k\($0)", "first") })).status == 0)
        #expect(try CLI.run(["flush", path]).status == 0)
        #expect(try CLI.run(["import", path, "d"], stdin: CLI.importLines((0..<5).map { ("k\($0)", "second") })).status == 0)
        #expect(try CLI.run(["delete", path, "d", "k19"]).status == 0)
        let json = try CLI.run(["stats", path, "--json"])
        #expect(json.status == 0, "\(json)")
        let stats = try JSONDecoder().decode(StoreStats.self, from: json.stdout)
        #expect(stats.lsn == 26 && stats.checkpointLSN == 20)
        let d = try #require(stats.dimensions.first)
        #expect(d.name == "d" && d.liveRecordCount == 19 && d.deadRecordCount == 7 && d.tombstoneCount == 1)
        #expect(d.versionCount == 26 && d.segments.count == 1 && d.memtableVersionCount == 6)
        #expect(stats.oldestSnapshotLSN == nil)

        let text = try CLI.run(["stats", path])
        #expect(text.status == 0)
        #expect(text.lines.contains { $0.hasPrefix("d ") && $0.contains(" 19 ") })
        #expect(try CLI.run(["stats", dir.sub("nothing")]).status == 3)
        #expect(try CLI.run(["stats"]).status == 2)
    }
}
