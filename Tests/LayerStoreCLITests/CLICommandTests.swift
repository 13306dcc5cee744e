//! The `layerstore` CLI's contract, one subcommand at a time: put/get/delete, scan, import,
//! flush, exit codes, and read-only commands that change nothing.

import Foundation
import LayerStore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("layerstore CLI commands")
struct CLICommandTests {
    // MARK: 1. put / get / delete

    @Test("put, get and delete round trip; missing keys and dimensions exit 1")
    func putGetDeleteRoundTrip() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")

        var r = try CLI.run(["put", store, "words", "greeting", "héllo wörld ✓"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.isEmpty, "\(r)")

        r = try CLI.run(["get", store, "words", "greeting"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == Data("héllo wörld ✓".utf8), "get prints exactly the value's bytes, no newline: \(r)")

        // An overwrite: the newest value wins.
        #expect(try CLI.run(["put", store, "words", "greeting", "second"]).status == 0)
        r = try CLI.run(["get", store, "words", "greeting"])
        #expect(r.status == 0 && r.out == "second", "\(r)")

        // The same key in another dimension is another record.
        #expect(try CLI.run(["put", store, "other", "greeting", "other value"]).status == 0)
        #expect(try CLI.run(["get", store, "other", "greeting"]).out == "other value")
        #expect(try CLI.run(["get", store, "words", "greeting"]).out == "second")

        // An empty value is a value, not a delete.
        #expect(try CLI.run(["put", store, "words", "empty", ""]).status == 0)
        r = try CLI.run(["get", store, "words", "empty"])
        #expect(r.status == 0 && r.stdout.isEmpty, "an empty value reads as present and empty: \(r)")

        // A missing key: exit 1, a message on stderr, nothing on stdout.
        r = try CLI.run(["get", store, "words", "nope"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.isEmpty, "\(r)")
        #expect(r.stderr.contains("nope"), "the message names the key: \(r)")

        // A dimension that never held data: exit 1.
        r = try CLI.run(["get", store, "nodim", "greeting"])
        #expect(r.status == 1, "\(r)")
        #expect(!r.stderr.isEmpty, "\(r)")

        // Delete: the key reads as missing; the other dimension keeps its record.
        r = try CLI.run(["delete", store, "words", "greeting"])
        #expect(r.status == 0, "\(r)")
        r = try CLI.run(["get", store, "words", "greeting"])
        #expect(r.status == 1 && r.stdout.isEmpty && !r.stderr.isEmpty, "\(r)")
        #expect(try CLI.run(["get", store, "other", "greeting"]).out == "other value")

        // Deleting a key that does not exist is not an error; a put after a delete revives it.
        #expect(try CLI.run(["delete", store, "words", "never-there"]).status == 0)
        #expect(try CLI.run(["put", store, "words", "greeting", "third"]).status == 0)
        #expect(try CLI.run(["get", store, "words", "greeting"]).out == "third")

        // Everything above is durable and survives a flush into segments.
        #expect(try CLI.run(["flush", store]).status == 0)
        #expect(try CLI.run(["get", store, "words", "greeting"]).out == "third")
        r = try CLI.run(["get", store, "words", "empty"])
        #expect(r.status == 0 && r.stdout.isEmpty, "empty value after flush: \(r)")
        #expect(try CLI.run(["get", store, "other", "greeting"]).out == "other value")
        #expect(try CLI.run(["get", store, "words", "nope"]).status == 1)
        #expect(try CLI.run(["get", store, "nodim", "greeting"]).status == 1)

        // A delete of a flushed key (the tombstone in the WAL hides the segment's record).
        #expect(try CLI.run(["delete", store, "other", "greeting"]).status == 0)
        r = try CLI.run(["get", store, "other", "greeting"])
        #expect(r.status == 1 && r.stdout.isEmpty, "\(r)")
    }

    @Test("get on a path with no store: exit 3 storeNotFound, and nothing is created")
    func getOnMissingStore() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("absent")
        for args in [["get", store, "d", "k"], ["scan", store, "d"]] {
            let r = try CLI.run(args)
            #expect(r.status == 3, "\(args): \(r)")
            #expect(r.stderr.contains("storeNotFound"), "\(args): \(r)")
            #expect(!FileManager.default.fileExists(atPath: store), "\(args[0]) must not create the store")
        }
    }

    // MARK: 2. scan

    @Test("scan: key order, newest wins, deletes hidden, --prefix, --keys-only, segments and WAL merged")
    func scanMergesSegmentsAndWAL() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")

        // Generation 1, out of order, with an overwrite inside the same import; then flushed.
        let first: [(String, String)] = [
            ("m", "m1"), ("c", "c1"), ("a", "a1"), ("zz", "zz1"), ("b", "b1"), ("d", "d1"), ("ab", "ab1"), ("b", "b2"),
        ]
        var r = try CLI.run(["import", store, "d"], stdin: CLI.importLines(first))
        #expect(r.status == 0 && r.lines == ["committed 8"], "\(r)")
        #expect(try CLI.run(["delete", store, "d", "zz"]).status == 0)
        #expect(try CLI.run(["put", store, "other", "a", "not-in-d"]).status == 0)
        r = try CLI.run(["flush", store])
        #expect(r.status == 0, "\(r)")

        // A segment exists now, and the flushed WAL is not replayed any more.
        let segmentFiles = (try? FileManager.default.subpathsOfDirectory(atPath: store + "/dims/d")) ?? []
        #expect(!segmentFiles.isEmpty, "flush wrote no segment file for d")
        do {
            let opened = try Store(path: store, options: readOnlyOptions)
            #expect(opened.recoveryReport.replayedOperationCount == 0,
                    "after flush the WAL is checkpointed: \(opened.recoveryReport)")
            try opened.close()
        }

        // Generation 2, only in the WAL: overwrite a flushed key, delete a flushed key, add keys
        // that sort between flushed ones, revive the deleted "zz".
        let second: [(String, String)] = [("ba", "ba2"), ("a", "a2"), ("aa", "aa2"), ("zz", "zz3"), ("e", "e2")]
        r = try CLI.run(["import", store, "d", "--batch", "2"], stdin: CLI.importLines(second))
        #expect(r.status == 0 && r.lines == ["committed 2", "committed 4", "committed 5"], "\(r)")
        #expect(try CLI.run(["delete", store, "d", "c"]).status == 0)
        #expect(try CLI.run(["delete", store, "d", "e"]).status == 0)

        let expected: [(String, String)] = [
            ("a", "a2"), ("aa", "aa2"), ("ab", "ab1"), ("b", "b2"), ("ba", "ba2"), ("d", "d1"), ("m", "m1"), ("zz", "zz3"),
        ]
        func text(_ records: [(String, String)], keysOnly: Bool = false) -> String {
            records.map { keysOnly ? "\($0.0)\n" : "\($0.0)\t\($0.1)\n" }.joined()
        }
        func checkScans(_ phase: String) throws {
            var r = try CLI.run(["scan", store, "d"])
            #expect(r.status == 0, "\(phase): \(r)")
            #expect(r.out == text(expected), "\(phase): scan\n\(r.out)")

            r = try CLI.run(["scan", store, "d", "--prefix", "a"])
            #expect(r.status == 0 && r.out == text(expected.filter { $0.0.hasPrefix("a") }), "\(phase): --prefix a\n\(r.out)")

            r = try CLI.run(["scan", store, "d", "--prefix", "b", "--keys-only"])
            #expect(r.status == 0 && r.out == "b\nba\n", "\(phase): --prefix b --keys-only\n\(r.out)")

            r = try CLI.run(["scan", store, "d", "--keys-only"])
            #expect(r.status == 0 && r.out == text(expected, keysOnly: true), "\(phase): --keys-only\n\(r.out)")

            r = try CLI.run(["scan", store, "d", "--prefix", "zzz"])
            #expect(r.status == 0 && r.stdout.isEmpty, "\(phase): a prefix matching nothing\n\(r)")

            r = try CLI.run(["scan", store, "d", "--prefix", "c"])
            #expect(r.status == 0 && r.stdout.isEmpty, "\(phase): only a deleted key has prefix c\n\(r)")

            r = try CLI.run(["scan", store, "other"])
            #expect(r.status == 0 && r.out == "a\tnot-in-d\n", "\(phase): other dimension\n\(r)")

            r = try CLI.run(["scan", store, "never"])
            #expect(r.status == 0 && r.stdout.isEmpty, "\(phase): a dimension with no data scans empty\n\(r)")

            // The library sees the same thing.
            let opened = try Store(path: store, options: readOnlyOptions)
            let records = try opened.snapshot().records(in: "d")
            #expect(records == expected.map { Record(key: Array($0.0.utf8), value: Array($0.1.utf8)) }, "\(phase): library")
            try opened.close()
        }
        try checkScans("segment + WAL")

        // After a second flush there are two segments (plus an empty WAL): the same answer.
        #expect(try CLI.run(["flush", store]).status == 0)
        try checkScans("two segments")
    }

    @Test("scan output is byte-exact for many records and large values")
    func scanManyRecords() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        // 3000 keys in a shuffled order; values of varied sizes up to 20 KB (beyond one block).
        var rng = SeededRandom(seed: 7)
        var records: [(String, String)] = (0..<3000).map { i in
            let length = i % 500 == 0 ? 20_000 : Int.random(in: 0...40, using: &rng)
            return (String(format: "key-%05d", i), String(format: "v%05d-", i) + String(repeating: "x", count: length))
        }
        records.shuffle(using: &rng)
        let half = records.count / 2
        var r = try CLI.run(["import", store, "d", "--batch", "700"], stdin: CLI.importLines(Array(records[..<half])))
        #expect(r.status == 0 && r.lines == ["committed 700", "committed 1400", "committed 1500"], "\(r)")
        #expect(try CLI.run(["flush", store]).status == 0)
        r = try CLI.run(["import", store, "d", "--batch", "700"], stdin: CLI.importLines(Array(records[half...])))
        #expect(r.status == 0 && r.lines == ["committed 700", "committed 1400", "committed 1500"], "\(r)")

        let sorted = records.sorted { $0.0 < $1.0 }
        r = try CLI.run(["scan", store, "d"])
        #expect(r.status == 0)
        #expect(r.stdout == CLI.importLines(sorted), "scan of 3000 records is not byte-exact")
        r = try CLI.run(["scan", store, "d", "--prefix", "key-012"])
        #expect(r.stdout == CLI.importLines(sorted.filter { $0.0.hasPrefix("key-012") }))
        #expect(r.lines.count == 100)
        r = try CLI.run(["get", store, "d", "key-01000"])
        #expect(r.status == 0 && r.out == "v01000-" + String(repeating: "x", count: 20_000))
    }

    // MARK: 3. import

    @Test("import: committed lines per batch, and every value readable afterwards")
    func importBatches() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        let records = (0..<2500).map { (String(format: "k%05d", $0), "value \($0) with spaces") }
        var r = try CLI.run(["import", store, "d", "--batch", "1000"], stdin: CLI.importLines(records))
        #expect(r.status == 0, "\(r)")
        #expect(r.out == "committed 1000\ncommitted 2000\ncommitted 2500\n", "\(r)")
        #expect(r.stderr.isEmpty, "\(r)")

        r = try CLI.run(["scan", store, "d"])
        #expect(r.status == 0 && r.stdout == CLI.importLines(records), "scan after import")
        for i in [0, 999, 1000, 1999, 2000, 2499] {
            r = try CLI.run(["get", store, "d", String(format: "k%05d", i)])
            #expect(r.status == 0 && r.out == "value \(i) with spaces", "k\(i): \(r)")
        }

        // The default batch is 1000; empty lines are skipped; a value may hold tabs (only the
        // first tab separates); a second import overwrites.
        var input = Data()
        for i in 0..<2500 {
            input.append(Data("k\(String(format: "%05d", i))\tnew\t\(i)\n".utf8))
            if i % 600 == 0 { input.append(Data("\n".utf8)) }
        }
        r = try CLI.run(["import", store, "d"], stdin: input)
        #expect(r.status == 0 && r.out == "committed 1000\ncommitted 2000\ncommitted 2500\n", "\(r)")
        r = try CLI.run(["get", store, "d", "k01234"])
        #expect(r.status == 0 && r.out == "new\t1234", "\(r)")
        r = try CLI.run(["scan", store, "d", "--keys-only"])
        #expect(r.lines.count == 2500)

        // Empty input: nothing to report, exit 0.
        r = try CLI.run(["import", store, "d"], stdin: Data())
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r)")
    }

    @Test("import: a line without a tab exits 2 after committing (and reporting) the records before it")
    func importBadLine() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        var input = CLI.importLines((0..<1500).map { (String(format: "k%05d", $0), "v\($0)") })
        input.append(Data("this line has no tab\n".utf8))
        input.append(CLI.importLines((1500..<1600).map { (String(format: "k%05d", $0), "v\($0)") }))
        var r = try CLI.run(["import", store, "d", "--batch", "1000"], stdin: input)
        #expect(r.status == 2, "\(r)")
        #expect(r.lines == ["committed 1000", "committed 1500"], "\(r)")
        #expect(r.stderr.contains("1501"), "the message names the line: \(r)")

        r = try CLI.run(["scan", store, "d", "--keys-only"])
        #expect(r.status == 0)
        #expect(r.lines == (0..<1500).map { String(format: "k%05d", $0) }, "exactly the records before the bad line")
        #expect(try CLI.run(["get", store, "d", "k01499"]).out == "v1499")
        #expect(try CLI.run(["get", store, "d", "k01500"]).status == 1)

        // A bad first line: nothing committed, nothing reported.
        r = try CLI.run(["import", store, "e"], stdin: Data("no-tab\nk\tv\n".utf8))
        #expect(r.status == 2 && r.stdout.isEmpty, "\(r)")
        #expect(try CLI.run(["get", store, "e", "k"]).status == 1)
    }

    // MARK: 4. usage errors and typed store errors

    @Test("usage errors exit 2 and change nothing")
    func usageErrors() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        #expect(try CLI.run(["put", store, "d", "k", "v"]).status == 0)
        let before = try DirectorySnapshot(store)

        let cases: [[String]] = [
            ["put", store, "d", "a\tb", "v"],  // a tab in KEY
            ["put", store, "d", "a\nb", "v"],  // a newline in KEY
            ["put", store, "d", "k", "v\tw"],  // a tab in VALUE
            ["delete", store, "d", "a\tb"],
            ["import", store, "d", "--batch", "0"],
            ["import", store, "d", "--batch", "-5"],
            ["import", store, "d", "--batch", "many"],
            ["import", store, "d", "--batch", "1000001"],
            ["put", store, "d", "k"],  // missing VALUE
            ["put", store, "d"],
            ["get", store, "d"],
            ["delete", store],
            ["scan"],
            ["flush"],
            ["import", store],
            ["put", store, "d", "k", "v", "extra"],
            ["scan", store, "d", "--no-such-option"],
            ["frobnicate", store],  // unknown subcommand
        ]
        for args in cases {
            let r = try CLI.run(args, stdin: Data("x\ty\n".utf8))
            #expect(r.status == 2, "\(args.map(\.debugDescription)): \(r)")
            #expect(!r.stderr.isEmpty, "\(args.map(\.debugDescription)): usage errors explain themselves on stderr")
            #expect(r.stdout.isEmpty, "\(args.map(\.debugDescription)): \(r)")
        }
        #expect(try DirectorySnapshot(store) == before, "a usage error changed the store")
        #expect(try CLI.run(["get", store, "d", "k"]).out == "v")
        // --help is not an error.
        let help = try CLI.run(["--help"])
        #expect(help.status == 0 && help.out.contains("Exit codes"), "\(help)")
    }

    @Test("invalid names and keys are typed store errors: exit 3 naming the problem, nothing written")
    func invalidArguments() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        #expect(try CLI.run(["put", store, "d", "k", "v"]).status == 0)
        #expect(try CLI.run(["flush", store]).status == 0)
        let before = try DirectorySnapshot(dir.path)

        for bad in ["../x", "a/b", ".hidden", "", String(repeating: "n", count: 65), "sp ace"] {
            for args in [["put", store, bad, "k", "v"], ["delete", store, bad, "k"], ["get", store, bad, "k"],
                         ["scan", store, bad]] {
                let r = try CLI.run(args)
                #expect(r.status == 3, "\(args.map(\.debugDescription)): \(r)")
                #expect(r.stdout.isEmpty, "\(args.map(\.debugDescription)): \(r)")
                if !bad.isEmpty && bad.count <= 64 {
                    #expect(r.stderr.contains(bad), "\(args.map(\.debugDescription)): stderr names the dimension: \(r)")
                }
                #expect(r.stderr.contains("invalidArgument") || r.stderr.contains("limitExceeded"), "\(args.map(\.debugDescription)): \(r)")
            }
            let r = try CLI.run(["import", store, bad], stdin: Data("k\tv\n".utf8))
            #expect(r.status == 3 && r.stdout.isEmpty, "import into \(bad.debugDescription): \(r)")
        }
        // An empty key is rejected by the store.
        for args in [["put", store, "d", "", "v"], ["delete", store, "d", ""], ["get", store, "d", ""]] {
            let r = try CLI.run(args)
            #expect(r.status == 3 && r.stderr.contains("invalidArgument"), "\(args.map(\.debugDescription)): \(r)")
        }
        let r = try CLI.run(["import", store, "d"], stdin: Data("\tvalue\n".utf8))
        #expect(r.status == 3 && r.stdout.isEmpty, "import of an empty key: \(r)")

        // Nothing was written anywhere (no directory climbed out of dims/, no WAL record).
        // A writer's open may rewrite nothing either: compare the whole temp directory.
        let after = try DirectorySnapshot(dir.path)
        #expect(after.differences(from: before).filter { !$0.hasPrefix("store/wal") }.isEmpty,
                "invalid arguments changed files: \(after.differences(from: before))")
        #expect(!FileManager.default.fileExists(atPath: store + "/x"))
        #expect(!FileManager.default.fileExists(atPath: dir.sub("x")))
        #expect(try CLI.run(["scan", store, "d"]).out == "k\tv\n")
    }

    @Test("get KEY and scan --prefix with a tab are usage errors like put and delete KEY (exit 2)")
    func getKeyWithTab() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        #expect(try CLI.run(["put", store, "d", "k", "v"]).status == 0)
        var r = try CLI.run(["get", store, "d", "a\tb"])
        #expect(r.status == 2, "get does not validate KEY like put/delete do: \(r)")
        r = try CLI.run(["scan", store, "d", "--prefix", "a\tb"])
        #expect(r.status == 2, "scan does not validate --prefix like put/delete validate KEY: \(r)")
    }

    // MARK: 5. read-only commands change nothing

    @Test("get and scan never change a byte of a store, clean or crashed")
    func readOnlyCommandsChangeNothing() throws {
        let dir = try TempDir()
        defer { dir.remove() }

        // A cleanly closed store with segments and WAL records.
        let clean = dir.sub("clean")
        #expect(try CLI.run(["import", clean, "d", "--batch", "40"],
                            stdin: CLI.importLines((0..<100).map { ("k\($0)", "v\($0)") })).status == 0)
        #expect(try CLI.run(["flush", clean]).status == 0)
        #expect(try CLI.run(["put", clean, "d", "k5", "new5"]).status == 0)
        #expect(try CLI.run(["delete", clean, "d", "k6"]).status == 0)

        // A store whose writer was SIGKILLed mid-import: a preallocated WAL, maybe a torn tail;
        // things a writer's open would clean up and a reader must leave alone.
        let crashed = dir.sub("crashed")
        #expect(try CLI.run(["put", crashed, "d", "first", "1"]).status == 0)
        #expect(try CLI.run(["flush", crashed]).status == 0)
        let child = try StreamingChild(["import", crashed, "d", "--batch", "7"])
        child.startWriting(CLI.importLines((0..<200_000).map { (String(format: "c%06d", $0), "value-\($0)") }),
                           chunkSizes: [333, 4096, 77])
        #expect(child.stdout.wait(timeout: 20) { $0.count >= 3 }, "import reported nothing: \(child.stderr)")
        child.sigkill()
        let end = child.wait()
        #expect(end.reason == .uncaughtSignal)
        let reported = child.stdout.state.lines.compactMap(committedCount).max() ?? 0
        #expect(reported >= 21)
        // Make sure a writer's open would have work to do, so "changed nothing" means something:
        // temp files and an unpublished segment of a flush, and a torn record right after the
        // last one (in the clean store's trimmed WAL and the crashed store's preallocated one).
        for store in [clean, crashed] {
            try plantCrashLeftovers(store)
            let reader = try Store(path: store, options: readOnlyOptions)
            #expect(reader.recoveryReport.tornTail?.truncated == false, "the planted torn tail: \(reader.recoveryReport)")
            try reader.close()
        }

        for (store, expectations) in [
            (clean, [(["get", clean, "d", "k5"], 0, "new5"), (["get", clean, "d", "k6"], 1, ""),
                     (["get", clean, "d", "k99"], 0, "v99"), (["get", clean, "nodim", "k1"], 1, "")]),
            (crashed, [(["get", crashed, "d", "first"], 0, "1"), (["get", crashed, "d", "c000000"], 0, "value-0"),
                       (["get", crashed, "d", String(format: "c%06d", reported - 1)], 0, "value-\(reported - 1)"),
                       (["get", crashed, "nodim", "x"], 1, "")]),
        ] {
            let before = try DirectorySnapshot(store)
            for (args, status, out) in expectations {
                let r = try CLI.run(args)
                #expect(r.status == status && r.out == out, "\(args): \(r)")
            }
            var r = try CLI.run(["scan", store, "d"])
            #expect(r.status == 0 && !r.stdout.isEmpty, "\(r)")
            if store == crashed {
                #expect(r.lines.count >= reported + 1, "the reader sees every reported record")
            }
            r = try CLI.run(["scan", store, "d", "--prefix", "k1", "--keys-only"])
            #expect(r.status == 0, "\(r)")
            r = try CLI.run(["scan", store, "nodim"])
            #expect(r.status == 0, "\(r)")
            let after = try DirectorySnapshot(store)
            #expect(after == before, "read-only commands changed \(after.differences(from: before)) in \(store)")
        }

        // The writer (unlike the readers) cleans up; the crashed store is still good for a
        // writer afterwards, with every reported record.
        for store in [clean, crashed] {
            let opened = try Store(path: store)
            let report = opened.recoveryReport
            #expect(report.tornTail?.truncated == true, "\(store): \(report)")
            // (Beside the planted ones: the spare WAL file the killed writer had prepared.)
            #expect(Set(report.removedTempFiles.filter { !$0.hasPrefix("wal/spare-") }) == ["leftover.tmp", "d/0000000000000777-00000001.seg.tmp"], "\(report)")
            #expect(report.removedUnpublishedSegments == ["d/00000000000003e7-00000001.seg"], "\(report)")
            try opened.close()
        }
        #expect(try CLI.run(["get", clean, "d", "k5"]).out == "new5")
        let opened = try Store(path: crashed)
        let records = try opened.snapshot().records(in: "d")
        #expect(records.count >= reported + 1)
        for i in 0..<reported {
            #expect(records[i].value == Array("value-\(i)".utf8))
        }
        try opened.close()
    }

    // MARK: 8. not a store

    @Test("a path that is a regular file: every command exits 3 with notAStore and the file is untouched")
    func regularFileIsNotAStore() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = dir.sub("file")
        let content = Data("I am a file, not a store\n".utf8)
        _ = FileManager.default.createFile(atPath: file, contents: content)
        for args in [["put", file, "d", "k", "v"], ["get", file, "d", "k"], ["scan", file, "d"],
                     ["delete", file, "d", "k"], ["flush", file], ["import", file, "d"]] {
            let r = try CLI.run(args, stdin: Data("k\tv\n".utf8))
            #expect(r.status == 3, "\(args): \(r)")
            #expect(r.stderr.contains("notAStore"), "\(args): \(r)")
            #expect(r.stdout.isEmpty, "\(args): \(r)")
        }
        #expect(FileManager.default.contents(atPath: file) == content)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["file"])

        // A directory with foreign files is not a store either (and is left alone).
        let foreign = dir.sub("foreign")
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: false)
        _ = FileManager.default.createFile(atPath: foreign + "/notes.txt", contents: content)
        for args in [["put", foreign, "d", "k", "v"], ["get", foreign, "d", "k"]] {
            let r = try CLI.run(args)
            #expect(r.status == 3 && r.stderr.contains("notAStore"), "\(args): \(r)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: foreign) == ["notes.txt"])
    }
}

/// Leaves in `store` what a writer killed mid-flush (or a machine crash mid-append) could
/// leave: temp files, a segment file no manifest published, and a torn record right after the
/// newest WAL file's last record.
func plantCrashLeftovers(_ store: String) throws {
    _ = FileManager.default.createFile(atPath: store + "/leftover.tmp", contents: Data("half a manifest".utf8))
    _ = FileManager.default.createFile(atPath: store + "/dims/d/0000000000000777-00000001.seg.tmp", contents: Data(repeating: 7, count: 100))
    _ = FileManager.default.createFile(atPath: store + "/dims/d/00000000000003e7-00000001.seg", contents: Data(repeating: 9, count: 100))
    let walNames = try FileManager.default.contentsOfDirectory(atPath: store + "/wal").filter { $0.hasSuffix(".wal") }.sorted()
    let wal = try #require(walNames.last.map { store + "/wal/" + $0 })
    let bytes = try Data(contentsOf: URL(fileURLWithPath: wal))
    // The last non-zero byte, found a word at a time (the file is preallocated: mostly zeros).
    let lastNonZero: Int = bytes.withUnsafeBytes { raw in
        var end = raw.count
        while end >= 8 && raw.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self) == 0 { end -= 8 }
        while end > 0 && raw[end - 1] == 0 { end -= 1 }
        return end - 1
    }
    try #require(lastNonZero >= 64, "no record in \(wal)")
    let next = (lastNonZero + 1 + 7) / 8 * 8  // records are 8-byte aligned
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: wal))
    try handle.seek(toOffset: UInt64(next))
    try handle.write(contentsOf: Data([0x2A, 0, 0, 0, 0x40, 0, 0, 0] + [UInt8](repeating: 0xA5, count: 40)))
    try handle.close()
}

let readOnlyOptions: StoreOptions = {
    var options = StoreOptions()
    options.readOnly = true
    return options
}()
