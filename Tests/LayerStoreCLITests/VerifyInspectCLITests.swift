//! `layerstore verify` and `layerstore inspect`: exit codes, text and JSON output, damage named
//! with file and offset, beside a live writer, and never a byte changed.

import Foundation
import LayerStore
import Testing

@Suite("layerstore verify and inspect")
struct VerifyInspectCLITests {
    /// A store made through the CLI: two dimensions flushed into segments, then WAL records.
    static func makeStore(_ dir: TempDir) throws -> String {
        let store = dir.sub("store")
        let lines = (0..<150).map { (String(format: "key%04d", $0), "value-\($0)-" + String(repeating: "v", count: 60)) }
        #expect(try CLI.run(["import", store, "alpha", "--batch", "50"], stdin: CLI.importLines(lines)).status == 0)
        #expect(try CLI.run(["import", store, "beta", "--batch", "50"], stdin: CLI.importLines(Array(lines.prefix(40)))).status == 0)
        #expect(try CLI.run(["flush", store]).status == 0)
        #expect(try CLI.run(["put", store, "alpha", "late", "1"]).status == 0)
        return store
    }

    static func segments(_ store: String, _ dimension: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: store + "/dims/" + dimension).filter { $0.hasSuffix(".seg") }.sorted()
            .map { "dims/\(dimension)/\($0)" }
    }

    static func json(_ result: CLIResult) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: result.stdout)
        return try #require(object as? [String: Any], "not a JSON object: \(result)")
    }

    @Test("verify: a clean store exits 0 with one line per file, the bytes checked and GB/s; no progress bar off a terminal")
    func verifyClean() throws {
        let dir = try TempDir()
        let store = try Self.makeStore(dir)
        let r = try CLI.run(["verify", store])
        #expect(r.status == 0, "\(r)")
        #expect(r.lines.last == "result: clean", "\(r)")
        #expect(r.out.contains("GB/s") && r.out.contains("checked "), "\(r)")
        for path in try Self.segments(store, "alpha") + Self.segments(store, "beta") {
            #expect(r.lines.contains { $0.hasPrefix("ok") && $0.hasSuffix(path) }, "\(path): \(r)")
        }
        #expect(r.lines.contains { $0.hasSuffix("MANIFEST-0000000000000003") })
        #expect(r.lines.contains { $0.contains("wal/") })
        #expect(r.stderr.isEmpty, "stderr is not a terminal: no progress bar: \(r.stderr.debugDescription)")
    }

    @Test("verify beside a live writer (import with stdin open): exit 0, nothing changed, the writer carries on")
    func verifyBesideAWriter() throws {
        let dir = try TempDir()
        let store = try Self.makeStore(dir)
        let child = try StreamingChild(["import", store, "alpha", "--batch", "5"])
        child.writeNow(CLI.importLines((0..<5).map { ("live\($0)", "v\($0)") }))
        #expect(child.stdout.wait(timeout: 20) { $0.contains("committed 5") }, "\(child.stderr)")
        let before = try DirectorySnapshot(store)
        let r = try CLI.run(["verify", store, "--json"])
        #expect(r.status == 0, "\(r)")
        #expect(try Self.json(r)["clean"] as? Bool == true)
        #expect(try CLI.run(["inspect", store]).status == 0)
        #expect(try DirectorySnapshot(store) == before, "verify or inspect changed the store under a live writer")
        child.writeNow(CLI.importLines((5..<10).map { ("live\($0)", "v\($0)") }))
        #expect(child.stdout.wait(timeout: 20) { $0.contains("committed 10") }, "\(child.stderr)")
        child.closeStdin()
        let end = child.wait()
        #expect(end.reason == .exit && end.status == 0, "\(child.stderr)")
        #expect(try CLI.run(["verify", store]).status == 0)
    }

    @Test("verify: a flipped block byte exits 1 naming the file and the block's offset, in text and JSON")
    func verifyDamage() throws {
        let dir = try TempDir()
        let store = try Self.makeStore(dir)
        let segment = try #require(Self.segments(store, "alpha").first)
        let file = store + "/" + segment
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[300] ^= 0x04
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        var r = try CLI.run(["verify", store])
        #expect(r.status == 1, "\(r)")
        #expect(r.lines.contains { $0.hasPrefix("DAMAGED") && $0.hasSuffix(segment) }, "\(r)")
        #expect(r.lines.contains { $0.contains("@ 256: block 0 checksum mismatch") }, "\(r)")
        #expect(r.lines.last?.hasPrefix("result: DAMAGED") == true, "\(r)")

        r = try CLI.run(["verify", store, "--json"])
        #expect(r.status == 1, "\(r)")
        let report = try Self.json(r)
        #expect(Set(report.keys) == ["clean", "storeID", "newestManifest", "files", "notes", "bytesChecked", "seconds", "gigabytesPerSecond"])
        #expect(report["clean"] as? Bool == false)
        #expect((report["bytesChecked"] as? Int ?? 0) > bytes.count)
        #expect(report["seconds"] is Double || report["seconds"] is Int)
        #expect(report["gigabytesPerSecond"] is Double || report["gigabytesPerSecond"] is Int)
        #expect((report["storeID"] as? String)?.hasPrefix("0x") == true)
        #expect(report["newestManifest"] as? String == "MANIFEST-0000000000000003")
        #expect(report["notes"] is [Any])
        let files = try #require(report["files"] as? [[String: Any]])
        for file in files { #expect(Set(file.keys) == ["path", "kind", "bytes", "status", "problems"], "\(file)") }
        let damaged = files.filter { $0["status"] as? String != "ok" }
        #expect(damaged.count == 1)
        #expect(damaged.first?["path"] as? String == segment && damaged.first?["kind"] as? String == "segment")
        #expect(damaged.first?["bytes"] as? Int == bytes.count)
        let problems = try #require(damaged.first?["problems"] as? [[String: Any]])
        #expect(problems.count == 1 && problems.first?["offset"] as? Int == 256 && (problems.first?["message"] as? String)?.contains("checksum") == true)
    }

    @Test("verify: a damaged WAL record, a damaged manifest and a missing segment each exit 1 naming the file")
    func verifyOtherDamage() throws {
        let dir = try TempDir()
        let store = try Self.makeStore(dir)
        // Two more records after the one from makeStore (each put is a writer session: a WAL file).
        #expect(try CLI.run(["put", store, "alpha", "later1", "1"]).status == 0)
        #expect(try CLI.run(["put", store, "alpha", "later2", "2"]).status == 0)
        let pristine = try DirectorySnapshot(store)
        func restore() throws {
            for (name, data) in pristine.entries { if let data { try data.write(to: URL(fileURLWithPath: store + "/" + name)) } }
        }
        func flip(_ path: String, at offset: Int) throws {
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: store + "/" + path)))
            bytes[offset] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: store + "/" + path))
        }
        let wal = try FileManager.default.contentsOfDirectory(atPath: store + "/wal").sorted().map { "wal/" + $0 }
        let cases: [(String, () throws -> Void, String)] = [
            ("manifest", { try flip("MANIFEST-0000000000000003", at: 30) }, "MANIFEST-0000000000000003"),
            ("missing segment", { try FileManager.default.removeItem(atPath: store + "/" + (try Self.segments(store, "beta")[0])) }, try Self.segments(store, "beta")[0]),
            ("WAL record", { try flip(wal[0], at: 64 + 40) }, wal[0]),
        ]
        for (label, damage, path) in cases {
            try restore()
            try damage()
            let r = try CLI.run(["verify", store, "--json"])
            #expect(r.status == 1, "\(label): \(r)")
            let files = try #require(try Self.json(r)["files"] as? [[String: Any]])
            let bad = files.filter { $0["status"] as? String != "ok" }
            #expect(bad.map { $0["path"] as? String } == [path], "\(label): \(bad)")
        }
    }

    @Test("verify and inspect: a path that is not a store, or no argument, exits 2")
    func usage() throws {
        let dir = try TempDir()
        _ = FileManager.default.createFile(atPath: dir.sub("file"), contents: Data("x".utf8))
        for args in [["verify", dir.sub("missing")], ["verify", dir.sub("file")], ["verify", dir.path], ["verify"],
                     ["inspect", dir.sub("missing")], ["inspect", dir.path], ["inspect"]] {
            let r = try CLI.run(args)
            #expect(r.status == 2, "\(args): \(r)")
            #expect(r.stdout.isEmpty, "\(args): \(r)")
        }
        let store = try Self.makeStore(dir)
        #expect(try CLI.run(["inspect", store, "--segment", "nope.seg"]).status == 2)
        #expect(try CLI.run(["inspect", store, "--segment", "MANIFEST-0000000000000003"]).status == 2)
        #expect(try CLI.run(["verify", store, "--bogus"]).status == 2)
    }

    @Test("verify: a file that cannot be read (a directory under a segment's name) exits 3, INCOMPLETE")
    func verifyIncomplete() throws {
        let dir = try TempDir()
        let store = try Self.makeStore(dir)
        try FileManager.default.createDirectory(atPath: store + "/dims/alpha/00000000000000ff-00000001.seg", withIntermediateDirectories: false)
        var r = try CLI.run(["verify", store])
        #expect(r.status == 3, "\(r)")
        #expect(r.lines.contains { $0.hasPrefix("UNREADABLE") && $0.hasSuffix("dims/alpha/00000000000000ff-00000001.seg") }, "\(r)")
        #expect(r.lines.last?.hasPrefix("result: INCOMPLETE") == true, "\(r)")
        // Damage outranks an incomplete check.
        let segment = try Self.segments(store, "beta")[0]
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: store + "/" + segment)))
        bytes[400] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: store + "/" + segment))
        r = try CLI.run(["verify", store])
        #expect(r.status == 1, "\(r)")
    }

    @Test("inspect: dimensions, segment ids, WAL; --json parses with the documented keys")
    func inspectStore() throws {
        let dir = try TempDir()
        let store = try Self.makeStore(dir)
        var r = try CLI.run(["inspect", store])
        #expect(r.status == 0, "\(r)")
        for name in ["alpha:", "beta:", "checkpoint LSN 190", "MANIFEST-0000000000000003", "store id 0x", "WAL above the checkpoint: 1 record, LSNs 191...191"] {
            #expect(r.out.contains(name), "\(name): \(r)")
        }
        for path in try Self.segments(store, "alpha") + Self.segments(store, "beta") { #expect(r.out.contains(path), "\(path)") }
        #expect(r.out.contains("segment 1 v1") && r.out.contains("segment 2 v1"), "\(r)")

        r = try CLI.run(["inspect", store, "--json"])
        #expect(r.status == 0, "\(r)")
        let s = try Self.json(r)
        for key in ["formatVersion", "storeID", "generation", "manifests", "skippedManifests", "checkpointLSN", "nextSegmentID",
                    "dimensions", "wal", "walRecordsAboveCheckpoint", "walFirstLSNAboveCheckpoint", "walLastLSNAboveCheckpoint", "totalBytes"] {
            #expect(s[key] != nil, "missing \(key): \(s.keys.sorted())")
        }
        #expect(s["checkpointLSN"] as? Int == 190 && s["nextSegmentID"] as? Int == 3 && s["walRecordsAboveCheckpoint"] as? Int == 1)
        let dimensions = try #require(s["dimensions"] as? [[String: Any]])
        #expect(dimensions.map { $0["name"] as? String } == ["alpha", "beta"])
        let ids = dimensions.flatMap { ($0["segments"] as? [[String: Any]] ?? []).map { $0["id"] as? Int } }
        #expect(ids == [1, 2])
        let segment = try #require((dimensions.first?["segments"] as? [[String: Any]])?.first)
        #expect(Set(segment.keys) == ["id", "version", "codec", "minLSN", "maxLSN", "recordCount", "bytes", "path", "present"])
        let wal = try #require(s["wal"] as? [[String: Any]])
        #expect(wal.last?["baseLSN"] as? Int == 191 && (wal.last?["end"] as? String)?.hasPrefix("clean") == true)
    }

    @Test("inspect --segment: fields, blocks and hash fill; a damaged segment shows the damage, exit 0; --json parses")
    func inspectSegment() throws {
        let dir = try TempDir()
        let store = try Self.makeStore(dir)
        let segment = try #require(Self.segments(store, "alpha").first)
        var r = try CLI.run(["inspect", store, "--segment", segment])
        #expect(r.status == 0, "\(r)")
        for text in ["header: ok", "footer @", "blocks (", "  0  256  ", "\"key0000\"", "hash index @", "% full): ok", "checks: ok"] {
            #expect(r.out.contains(text), "\(text): \(r)")
        }

        let file = store + "/" + segment
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[20] ^= 0x80  // the header (its store id field)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        r = try CLI.run(["inspect", store, "--segment", file])
        #expect(r.status == 0, "\(r)")
        #expect(r.out.contains("header: segment header checksum mismatch"), "\(r)")
        #expect(r.out.contains("checks: DAMAGED") && r.out.contains("@ 0: header:"), "\(r)")

        r = try CLI.run(["inspect", store, "--segment", segment, "--json"])
        #expect(r.status == 0, "\(r)")
        let s = try Self.json(r)
        for key in ["path", "bytes", "storeID", "segmentID", "version", "dimension", "listedIn", "header", "footer", "blocks", "hashIndex", "checks"] {
            #expect(s[key] != nil, "missing \(key)")
        }
        let checks = try #require(s["checks"] as? [String: Any])
        #expect(checks["status"] as? String == "damaged")
        #expect((checks["problems"] as? [[String: Any]])?.first?["offset"] as? Int == 0)
        let blocks = try #require(s["blocks"] as? [[String: Any]])
        #expect(!blocks.isEmpty && blocks.allSatisfy { $0["status"] as? String == "ok" })
        #expect(Set(blocks[0].keys) == ["index", "offset", "storedLength", "rawLength", "checksum", "status", "firstKey", "firstKeyHex"])
        #expect((s["header"] as? [String: Any])?["status"] as? String != "ok")
    }

    @Test("verify and inspect never change a byte: clean, damaged, or left by a crash")
    func readOnly() throws {
        let dir = try TempDir()
        let store = try Self.makeStore(dir)
        let segment = try Self.segments(store, "alpha")[0]
        let commands = [["verify", store], ["verify", store, "--json"], ["inspect", store], ["inspect", store, "--json"],
                        ["inspect", store, "--segment", segment], ["inspect", store, "--segment", segment, "--json"]]
        for phase in ["clean", "crashed", "damaged"] {
            if phase == "crashed" { try plantCrashLeftovers(store) }
            if phase == "damaged" {
                var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: store + "/" + segment)))
                bytes[bytes.count - 10] ^= 0xFF
                try Data(bytes).write(to: URL(fileURLWithPath: store + "/" + segment))
            }
            let before = try DirectorySnapshot(store)
            for args in commands {
                let r = try CLI.run(args)
                #expect([0, 1].contains(r.status), "\(phase) \(args): \(r)")
            }
            #expect(try CLI.run(["verify", store]).status == (phase == "damaged" ? 1 : 0), "\(phase)")
            let after = try DirectorySnapshot(store)
            #expect(after == before, "\(phase): changed \(after.differences(from: before))")
        }
    }
}
