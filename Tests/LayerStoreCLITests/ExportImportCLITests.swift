//! `layerstore export` and `layerstore import --format jsonl`: any bytes round-trip through JSON
//! lines; tsv export refuses what tsv cannot hold; bad import lines are usage errors naming the
//! line, after committing the records before them; the exit codes of missing things.

import Foundation
import LayerStoreWorkload
import Testing

@Suite("layerstore export and import --format jsonl")
struct ExportImportCLITests {
    /// One `import --format jsonl` line.
    static func jsonLine(_ key: [UInt8], _ value: [UInt8], dimension: String? = nil) -> String {
        let k = Data(key).base64EncodedString(), v = Data(value).base64EncodedString()
        if let dimension { return "{\"dimension\": \"\(dimension)\", \"key\": \"\(k)\", \"value\": \"\(v)\"}\n" }
        return "{\"key\": \"\(k)\", \"value\": \"\(v)\"}\n"
    }

    /// The records of an export's JSON lines, checking each line's exact shape on the way.
    static func decode(_ result: CLIResult) -> [(dimension: String, key: [UInt8], value: [UInt8])] {
        result.lines.compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                  let dimension = object["dimension"], let key = object["key"].flatMap({ Data(base64Encoded: $0) }),
                  let value = object["value"].flatMap({ Data(base64Encoded: $0) }) else {
                Issue.record("not an export line: \(line)")
                return nil
            }
            #expect(line == "{\"dimension\": \"\(dimension)\", \"key\": \"\(object["key"]!)\", \"value\": \"\(object["value"]!)\"}")
            return (dimension, [UInt8](key), [UInt8](value))
        }
    }

    @Test("jsonl: binary keys and values (0x00, 0x09, 0x0A, 0xFF, every byte) survive export, import, export")
    func jsonlRoundTrip() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let first = dir.sub("first"), second = dir.sub("second")
        var random = SeededRandom(seed: 42)
        var expected: [[UInt8]: [UInt8]] = [:]
        var keys: [[UInt8]] = [[0x00], [0x09], [0x0A], [0xFF], [0x00, 0x09, 0x0A, 0xFF], Array(0...255), [0x0D, 0x0A],
                               Array("deleted later".utf8)]
        for _ in 0..<300 { keys.append((0..<(1 + Int(random.next() % 30))).map { _ in UInt8(truncatingIfNeeded: random.next()) }) }
        var input = ""
        for (i, key) in keys.enumerated() {
            let value: [UInt8] = i == 0 ? [] : i == 1 ? Array((0...255).reversed()) + [0x00, 0x09, 0x0A, 0xFF]
                : (0..<Int(random.next() % 200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            input += Self.jsonLine(key, value, dimension: i % 2 == 0 ? "bin" : nil)
            expected[key] = value
        }
        var r = try CLI.run(["import", first, "bin", "--format", "jsonl", "--batch", "100"], stdin: Data(input.utf8))
        #expect(r.status == 0 && r.lines.last == "committed \(keys.count)", "\(r)")
        #expect(try CLI.run(["flush", first]).status == 0)
        // Newer versions in the WAL over the flushed ones, a delete, and a second dimension.
        r = try CLI.run(["import", first, "bin", "--format", "jsonl"],
                        stdin: Data((Self.jsonLine([0x00], [0xFF, 0x0A]) + Self.jsonLine([0xFF], [])).utf8))
        #expect(r.status == 0, "\(r)")
        expected[[0x00]] = [0xFF, 0x0A]
        expected[[0xFF]] = []
        #expect(try CLI.run(["delete", first, "bin", "deleted later"]).status == 0)
        expected[Array("deleted later".utf8)] = nil
        #expect(try CLI.run(["put", first, "aaa", "text", "in another dimension"]).status == 0)

        let exported = try CLI.run(["export", first, "bin", "--format", "jsonl"])
        #expect(exported.status == 0 && exported.stderr.isEmpty, "\(exported)")
        let records = Self.decode(exported)
        #expect(records.allSatisfy { $0.dimension == "bin" })
        #expect(records.map(\.key) == expected.keys.sorted { $0.lexicographicallyPrecedes($1) }, "key order, every key once")
        #expect(records.allSatisfy { expected[$0.key] == $0.value }, "newest values, byte for byte")

        r = try CLI.run(["import", second, "bin", "--format", "jsonl"], stdin: exported.stdout)
        #expect(r.status == 0 && r.lines.last == "committed \(expected.count)", "\(r)")
        let again = try CLI.run(["export", second, "bin", "--format", "jsonl"])
        #expect(again.status == 0 && again.stdout == exported.stdout, "export → import → export is not identical")

        // Without DIM: every dimension, in name order ("aaa" before "bin").
        let all = try CLI.run(["export", first, "--format", "jsonl"])
        #expect(all.status == 0, "\(all)")
        #expect(all.lines.first == "{\"dimension\": \"aaa\", \"key\": \"dGV4dA==\", \"value\": \"aW4gYW5vdGhlciBkaW1lbnNpb24=\"}")
        #expect(Data(all.stdout.dropFirst(all.lines[0].utf8.count + 1)) == exported.stdout)
    }

    @Test("tsv: KEY<TAB>VALUE lines of text, the same as scan, and import reads them back")
    func tsvExportOfText() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store"), copy = dir.sub("copy")
        let records = (0..<1200).map { (String(format: "k%05d", $0), "value \($0) with spaces, é ✓") }
        #expect(try CLI.run(["import", store, "d"], stdin: CLI.importLines(records.reversed())).status == 0)
        #expect(try CLI.run(["flush", store]).status == 0)
        #expect(try CLI.run(["put", store, "d", "k00003", "newer"]).status == 0)
        #expect(try CLI.run(["delete", store, "d", "k00004"]).status == 0)
        #expect(try CLI.run(["put", store, "other", "x", "y"]).status == 0)

        var expected = records
        expected[3].1 = "newer"
        expected.remove(at: 4)
        let r = try CLI.run(["export", store, "d"])
        #expect(r.status == 0 && r.stdout == CLI.importLines(expected), "\(r)")
        #expect(try CLI.run(["export", store, "d", "--format", "tsv"]).stdout == r.stdout)
        #expect(try CLI.run(["scan", store, "d"]).stdout == r.stdout, "tsv export is scan's output")
        #expect(try CLI.run(["import", copy, "d"], stdin: r.stdout).status == 0)
        #expect(try CLI.run(["export", copy, "d"]).stdout == r.stdout)

        // tsv lines have no dimension column: without DIM it is a usage error.
        let noDimension = try CLI.run(["export", store])
        #expect(noDimension.status == 2 && noDimension.stdout.isEmpty && noDimension.stderr.contains("jsonl"), "\(noDimension)")
    }

    @Test("tsv export of a value with a tab (or a line break, or non-UTF-8 bytes) exits 2, prints nothing, suggests jsonl")
    func tsvRefusesWhatItCannotHold() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        #expect(try CLI.run(["import", store, "d"], stdin: Data("a\tfine\nb\tone\ttab\nc\tfine\n".utf8)).status == 0)
        var r = try CLI.run(["export", store, "d"])
        #expect(r.status == 2, "\(r)")
        #expect(r.stdout.isEmpty, "nothing printed before the refusal: \(r)")
        #expect(r.stderr.contains("tab") && r.stderr.contains("jsonl") && r.stderr.contains("\"b\""), "names the record and the way out: \(r)")
        #expect(try CLI.run(["export", store, "d", "--format", "jsonl"]).status == 0)

        let cases: [(String, [UInt8], [UInt8], String)] = [
            ("newline-value", Array("k".utf8), Array("two\nlines".utf8), "line break"),
            ("cr-value", Array("k".utf8), Array("crlf\r".utf8), "line break"),
            ("newline-key", Array("a\nb".utf8), Array("v".utf8), "line break"),
            ("binary-value", Array("k".utf8), [0xFF, 0xFE], "UTF-8"),
            ("tab-key", [0x61, 0x09], Array("v".utf8), "tab"),
        ]
        for (dimension, key, value, reason) in cases {
            #expect(try CLI.run(["import", store, dimension, "--format", "jsonl"], stdin: Data(Self.jsonLine(key, value).utf8)).status == 0)
            r = try CLI.run(["export", store, dimension, "--format", "tsv"])
            #expect(r.status == 2 && r.stdout.isEmpty && r.stderr.contains(reason) && r.stderr.contains("jsonl"), "\(dimension): \(r)")
        }
    }

    @Test("import --format jsonl: bad JSON, bad base64, another dimension exit 2 naming the line; records before it are committed")
    func importJSONLErrors() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        func good(_ range: Range<Int>) -> String {
            range.map { Self.jsonLine(Array(String(format: "k%05d", $0).utf8), Array("v\($0)".utf8)) }.joined()
        }

        // 1500 good lines, a bad one, 100 more: batches of 1000 committed, then the 500 before it.
        var r = try CLI.run(["import", store, "d", "--format", "jsonl", "--batch", "1000"],
                            stdin: Data((good(0..<1500) + "{\"key\": \"azE=\", \"value\": \n" + good(1500..<1600)).utf8))
        #expect(r.status == 2, "\(r)")
        #expect(r.lines == ["committed 1000", "committed 1500"], "\(r)")
        #expect(r.stderr.contains("line 1501") && r.stderr.contains("JSON"), "\(r)")
        r = try CLI.run(["scan", store, "d", "--keys-only"])
        #expect(r.lines == (0..<1500).map { String(format: "k%05d", $0) }, "exactly the records before the bad line")

        let bad: [(String, String, String)] = [
            ("not JSON", "this is not json", "JSON"),
            ("truncated JSON", "{\"key\": \"aw==\"", "JSON"),
            ("not an object", "[\"aw==\", \"dg==\"]", "object"),
            ("bad base64 key", "{\"key\": \"a!==\", \"value\": \"dg==\"}", "base64"),
            ("unpadded base64", "{\"key\": \"aw\", \"value\": \"dg==\"}", "base64"),
            ("bad base64 value", "{\"key\": \"aw==\", \"value\": \"d g==\"}", "base64"),
            ("a number for the value", "{\"key\": \"aw==\", \"value\": 5}", "base64"),
            ("another dimension", "{\"dimension\": \"other\", \"key\": \"aw==\", \"value\": \"dg==\"}", "other"),
            ("no value", "{\"key\": \"aw==\"}", "value"),
            ("an unknown field", "{\"key\": \"aw==\", \"value\": \"dg==\", \"Value\": \"dg==\"}", "Value"),
        ]
        for (index, (what, line, mention)) in bad.enumerated() {
            let dimension = "e\(index)"
            // Two good lines, an empty line (skipped but counted), the bad line 4, a good line.
            let input = good(0..<2) + "\n" + line + "\n" + good(2..<3)
            r = try CLI.run(["import", store, dimension, "--format", "jsonl", "--batch", "1"], stdin: Data(input.utf8))
            #expect(r.status == 2, "\(what): \(r)")
            #expect(r.lines == ["committed 1", "committed 2"], "\(what): \(r)")
            #expect(r.stderr.contains("line 4") && r.stderr.contains(mention), "\(what): \(r)")
            r = try CLI.run(["scan", store, dimension, "--keys-only"])
            #expect(r.lines == ["k00000", "k00001"], "\(what): \(r)")
        }

        // A bad first line: nothing committed, nothing reported; the matching dimension is fine.
        r = try CLI.run(["import", store, "f", "--format", "jsonl"], stdin: Data("{}\n".utf8))
        #expect(r.status == 2 && r.stdout.isEmpty && r.stderr.contains("line 1"), "\(r)")
        r = try CLI.run(["import", store, "f", "--format", "jsonl"],
                        stdin: Data("{\"dimension\": \"f\", \"key\": \"aw==\", \"value\": \"\"}\n".utf8))
        #expect(r.status == 0 && r.out == "committed 1\n", "\(r)")
        r = try CLI.run(["get", store, "f", "k"])
        #expect(r.status == 0 && r.stdout.isEmpty, "an empty value: \(r)")
    }

    @Test("export: a missing dimension exits 1, a missing store 3, an invalid name 2; export writes nothing")
    func exportOfMissingThings() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.sub("store")
        #expect(try CLI.run(["put", store, "d", "k", "v"]).status == 0)
        #expect(try CLI.run(["flush", store]).status == 0)
        #expect(try CLI.run(["put", store, "gone", "k", "v"]).status == 0)
        #expect(try CLI.run(["delete", store, "gone", "k"]).status == 0)
        let before = try DirectorySnapshot(dir.path)

        for format in ["tsv", "jsonl"] {
            var r = try CLI.run(["export", store, "nodim", "--format", format])
            #expect(r.status == 1 && r.stdout.isEmpty && r.stderr.contains("nodim"), "\(format): \(r)")
            r = try CLI.run(["export", dir.sub("no-store"), "d", "--format", format])
            #expect(r.status == 3 && r.stdout.isEmpty && r.stderr.contains("storeNotFound"), "\(format): \(r)")
            // An invalid name is the store's typed error, as for put, get and scan.
            r = try CLI.run(["export", store, "../x", "--format", format])
            #expect(r.status == 3 && r.stdout.isEmpty && r.stderr.contains("invalidArgument"), "\(format): \(r)")
            // A dimension whose keys are all deleted exists: no records, exit 0.
            r = try CLI.run(["export", store, "gone", "--format", format])
            #expect(r.status == 0 && r.stdout.isEmpty, "\(format): \(r)")
        }
        #expect(try CLI.run(["export", store, "d", "--format", "csv"]).status == 2)
        #expect(try CLI.run(["export", store, "--format", "jsonl"]).out == "{\"dimension\": \"d\", \"key\": \"aw==\", \"value\": \"dg==\"}\n")
        #expect(!FileManager.default.fileExists(atPath: dir.sub("no-store")), "a read-only open creates nothing")
        #expect(try DirectorySnapshot(dir.path) == before, "export changed the store")
        let help = try CLI.run(["export", "--help"])
        #expect(help.status == 0 && help.out.contains("Exit codes"), "\(help)")
    }
}
