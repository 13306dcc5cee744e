//! The CLI's common contract: every subcommand's --help states its exit codes, and every
//! reporting subcommand's --json output parses and says what the text says.

import Foundation
import LayerStore
import Testing

@Suite struct JSONAndHelpCLITests {
    static let subcommands = ["put", "get", "delete", "scan", "import", "export", "flush", "recover", "verify",
                              "inspect", "compact", "backup", "stats", "demo"]

    @Test func everySubcommandsHelpStatesItsExitCodes() throws {
        let root = try CLI.run(["--help"])
        #expect(root.status == 0)
        for code in ["0 success", "1 not found", "2 usage error", "3 store failure"] {
            #expect(root.out.contains(code), "root help lacks \(code)")
        }
        for name in Self.subcommands {
            #expect(root.out.contains(name), "root help lacks \(name)")
            let help = try CLI.run([name, "--help"])
            #expect(help.status == 0, "\(name): \(help)")
            let text = help.out.replacingOccurrences(of: "\n", with: " ")
            #expect(text.contains("Exit codes: 0"), "\(name) --help states no exit codes")
            #expect(text.contains("2 usage error"), "\(name) --help does not say 2 is a usage error")
        }
    }

    struct GetJSON: Decodable {
        var dimension: String
        var key: String
        var found: Bool
        var lsn: UInt64
        var byteCount: Int?
        var value: String?
    }

    struct ScanLine: Decodable {
        var dimension: String
        var key: String
        var value: String?
    }

    @Test func getScanAndFlushReportJSON() throws {
        let dir = try TempDir()
        let store = dir.sub("s")
        #expect(try CLI.run(["put", store, "d", "a", "tab\there"]).status == 2)
        #expect(try CLI.run(["put", store, "d", "a", "one"]).status == 0)
        #expect(try CLI.run(["put", store, "d", "b", "two"]).status == 0)

        let found = try CLI.run(["get", store, "d", "a", "--json"])
        #expect(found.status == 0)
        let got = try JSONDecoder().decode(GetJSON.self, from: found.stdout)
        #expect(got.found && got.dimension == "d" && got.key == "a" && got.lsn == 2 && got.byteCount == 3)
        #expect(got.value.flatMap { Data(base64Encoded: $0) } == Data("one".utf8))
        let missing = try CLI.run(["get", store, "d", "zzz", "--json"])
        #expect(missing.status == 1)
        let none = try JSONDecoder().decode(GetJSON.self, from: missing.stdout)
        #expect(!none.found && none.value == nil && none.byteCount == nil)

        let scan = try CLI.run(["scan", store, "d", "--json"])
        #expect(scan.status == 0)
        let lines = try scan.lines.map { try JSONDecoder().decode(ScanLine.self, from: Data($0.utf8)) }
        #expect(lines.map { Data(base64Encoded: $0.key) } == [Data("a".utf8), Data("b".utf8)])
        #expect(lines.map { $0.value.flatMap { Data(base64Encoded: $0) } } == [Data("one".utf8), Data("two".utf8)])
        let keys = try CLI.run(["scan", store, "d", "--json", "--keys-only"])
        #expect(keys.lines.count == 2 && !keys.out.contains("value"))
        #expect(try CLI.run(["scan", store, "no/such", "--json"]).status == 3)

        let flush = try CLI.run(["flush", store, "--json"])
        #expect(flush.status == 0, "\(flush)")
        let object = try JSONSerialization.jsonObject(with: flush.stdout) as? [String: Any]
        #expect(object?["checkpointLSN"] as? Int == 2 && object?["replayedOperations"] as? Int == 2)
        #expect(try CLI.run(["flush", dir.sub("missing"), "--json"]).status == 3)
    }

    @Test func importAndExportSummariesInJSON() throws {
        let dir = try TempDir()
        let store = dir.sub("s")
        let input = CLI.importLines((0..<25).map { ("k\($0)", "v\($0)") })
        let imported = try CLI.run(["import", store, "d", "--batch", "10", "--json"], stdin: input)
        #expect(imported.status == 0, "\(imported)")
        #expect(imported.lines.prefix(3).map { $0 } == ["{\"committed\": 10}", "{\"committed\": 20}", "{\"committed\": 25}"])
        let summary = try JSONSerialization.jsonObject(with: Data(imported.lines.dropFirst(3).joined(separator: "\n").utf8)) as? [String: Any]
        #expect(summary?["committed"] as? Int == 25 && summary?["batches"] as? Int == 3 && summary?["bytes"] as? Int == input.count)

        let plain = try CLI.run(["export", store, "d"])
        let withJSON = try CLI.run(["export", store, "d", "--json"])
        #expect(withJSON.status == 0 && plain.stderr.isEmpty)
        #expect(withJSON.stdout == plain.stdout, "--json changes only stderr")
        let exported = try JSONSerialization.jsonObject(with: Data(withJSON.stderr.utf8)) as? [String: Any]
        #expect(exported?["records"] as? Int == 25 && exported?["dimensions"] as? Int == 1)
        #expect(exported?["bytes"] as? Int == plain.stdout.count && exported?["lsn"] as? Int == 25)
        let jsonl = try CLI.run(["export", store, "--format", "jsonl", "--json"])
        let jsonlSummary = try JSONSerialization.jsonObject(with: Data(jsonl.stderr.utf8)) as? [String: Any]
        #expect(jsonlSummary?["bytes"] as? Int == jsonl.stdout.count)
    }

    @Test func demoJSONIsTheOnlyThingOnStdout() throws {
        let dir = try TempDir()
        let result = try CLI.run(["demo", dir.sub("demo"), "--profile", "small", "--reads", "1000", "--committers", "1",
                                  "--commit-seconds", "0.2", "--no-cold", "--json"], timeout: 120)
        #expect(result.status == 0, "\(result)")
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        #expect(object?["directory"] as? String == dir.sub("demo") && object?["profile"] as? String == "small")
        let rows = object?["summary"] as? [[String: String]] ?? []
        #expect(rows.contains { $0["phase"] == "durable load" })
        #expect(rows.contains { $0["phase"] == "kill -9 and recover" && $0["result"]?.contains("recovered") == true })
        #expect(result.stderr.contains("summary"))
        #expect(try CLI.run(["demo", dir.sub("demo"), "--json"]).status == 2, "an existing DIR without --replace")
    }
}
