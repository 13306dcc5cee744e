//! `bench`: LayerStore side by side with LMDB, SQLite and RocksDB on the standard workload,
//! with the machine's limits, in one run. Writes a Markdown table (stdout and `--markdown`),
//! a JSON file with every figure and the targets (`--json`), and an SVG chart (`--chart`).
//! Exit status: 0 when the run completed (whether or not targets hold), 1 on a real failure
//! (a wrong value read back, an engine error, a crash of a child), 2 on bad arguments.

import ArgumentParser
import BenchReport
import Foundation
import LayerStoreWorkload

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "LayerStore vs LMDB, SQLite and RocksDB on the seed-280 workload, with the machine's limits.",
        subcommands: [RunCommand.self, ReportCommand.self, OpenChildCommand.self, CrashChildCommand.self],
        defaultSubcommand: RunCommand.self)

    /// Bad arguments exit with 2 and a clear message, not ArgumentParser's 64.
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as BenchError {
            FileHandle.standardError.write(Data("bench: \(error.description)\n".utf8))
            Foundation.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the side-by-side benchmark (the default).")

    @Flag(help: "A reduced run (1/8 of the data, fewer operations, 1 repeat): minutes, not tens of minutes.")
    var quick = false
    @Option(help: "Only this profile: layer (4 KiB values) or small (100-byte values). Default: both.")
    var profile: String?
    @Option(help: "Comma-separated engines: layerstore,lmdb,sqlite,rocksdb (default: all).")
    var engines = "layerstore,lmdb,sqlite,rocksdb"
    @Option(help: "Comma-separated phases: limits,load,open,reads,scans,commit,group,readers,cold,recovery (default: all; the load runs whenever a later phase needs the store).")
    var phases = Phase.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Repeats of every phase (default 3, or 1 with --quick).")
    var repeats: Int?
    @Option(help: "Write every figure and the targets as JSON to this file.")
    var json: String?
    @Option(help: "Write the chart (SVG) to this file (default: the JSON file's name with .svg, if --json is given).")
    var chart: String?
    @Option(help: "Write the Markdown report to this file too.")
    var markdown: String?
    @Option(help: "Where the stores go (a directory of the run's own is made inside and removed afterwards). Default: the temp directory.")
    var dir: String?

    var engineKinds: [EngineKind] { engines.split(separator: ",").compactMap { EngineKind(rawValue: String($0)) } }

    func validate() throws {
        if let profile, profile != "layer", profile != "small" { throw ValidationError("--profile must be layer or small, not '\(profile)'") }
        let names = engines.split(separator: ",").map(String.init)
        if names.isEmpty { throw ValidationError("--engines needs at least one engine") }
        for name in names where EngineKind(rawValue: name) == nil {
            throw ValidationError("unknown engine '\(name)' in --engines (known: layerstore, lmdb, sqlite, rocksdb)")
        }
        let phaseNames = phases.split(separator: ",").map(String.init)
        if phaseNames.isEmpty { throw ValidationError("--phases needs at least one phase") }
        for name in phaseNames where Phase(rawValue: name) == nil {
            throw ValidationError("unknown phase '\(name)' in --phases (known: \(Phase.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if let repeats, repeats < 1 { throw ValidationError("--repeats must be at least 1") }
        if let dir {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--dir \(dir) is not an existing directory")
            }
        }
    }

    func run() throws {
        let started = now()
        let params = quick ? RunParameters.quick : RunParameters.full
        let repeats = self.repeats ?? (quick ? 1 : 3)
        let profiles = profile.map { $0 == "layer" ? [WorkloadProfile.layer] : [.small] } ?? [.layer, .small]
        let base = (dir ?? NSTemporaryDirectory()) + "/layerstore-side-by-side-\(getpid())"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let cleanup = Cleanup.onInterrupt(removing: base)
        defer { withExtendedLifetime(cleanup) {} }

        let formatter = ISO8601DateFormatter()
        var result = RunResult(
            date: formatter.string(from: Date()), machine: MachineInfo.describe(dataDirectory: base), quick: quick, scale: params.scale,
            repeats: repeats, profiles: profiles.map(\.name), engines: engineKinds.map(\.rawValue),
            configurations: Dictionary(uniqueKeysWithValues: engineKinds.map { ($0.rawValue, $0.type.configuration) }),
            parameters: params.summary)
        let recorder = Recorder()
        try Runner(params: params, quick: quick, repeats: repeats, profiles: profiles, engines: engineKinds, base: base,
                   phases: Set(phases.split(separator: ",").compactMap { Phase(rawValue: String($0)) })).run(into: recorder)
        result.figures = recorder.figures()
        result.seconds = seconds(started, now())
        result.targets = Targets.compute(result)

        let report = MarkdownReport.render(result)
        print(report)
        if let markdown { try Data(report.utf8).write(to: URL(fileURLWithPath: markdown)) }
        if let json { try result.jsonData().write(to: URL(fileURLWithPath: json)) }
        let chartPath = chart ?? json.map { ($0.hasSuffix(".json") ? String($0.dropLast(5)) : $0) + ".svg" }
        if let chartPath { try Data(SVGChart.render(result).utf8).write(to: URL(fileURLWithPath: chartPath)) }
        FileHandle.standardError.write(Data("bench: done in \(format(result.seconds)) s\(json.map { "; JSON \($0)" } ?? "")\(chartPath.map { "; chart \($0)" } ?? "")\n".utf8))
    }
}

/// Re-renders a run's JSON (figures) as Markdown and SVG, with the targets computed again.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Render a run's JSON file again as Markdown (stdout) and an SVG chart.")
    @Option(help: "The JSON file a run wrote.")
    var json: String
    @Option(help: "Write the Markdown report to this file too.")
    var markdown: String?
    @Option(help: "Write the chart (SVG) to this file.")
    var chart: String?

    func validate() throws {
        guard FileManager.default.isReadableFile(atPath: json) else { throw ValidationError("--json \(json) is not a readable file") }
    }

    func run() throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try Data(contentsOf: URL(fileURLWithPath: json))
        guard var result = try? decoder.decode(RunResult.self, from: data) else {
            throw ValidationError("\(json) is not a JSON file written by bench")
        }
        result.targets = Targets.compute(result)
        let report = MarkdownReport.render(result)
        print(report)
        if let markdown { try Data(report.utf8).write(to: URL(fileURLWithPath: markdown)) }
        if let chart { try Data(SVGChart.render(result).utf8).write(to: URL(fileURLWithPath: chart)) }
    }
}

/// Hidden: a cold open in a process of its own (the parent times many of these).
struct OpenChildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "open-child", shouldDisplay: false)
    @Option var engine: String
    @Option var path: String
    @Option var dimensions: Int
    @Option var valueBytes: Int

    func run() throws {
        guard let kind = EngineKind(rawValue: engine) else { throw ValidationError("unknown engine \(engine)") }
        try openChild(engine: kind, path: path, dimensions: dimensions, valueBytes: valueBytes)
    }
}

/// Hidden: the writer the recovery phase kills.
struct CrashChildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-child", shouldDisplay: false)
    @Option var engine: String
    @Option var path: String
    @Option var dimensions: Int
    @Option var valueBytes: Int
    @Option var recordsPerDimension: Int
    @Option var bytes: Int

    func run() throws {
        guard let kind = EngineKind(rawValue: engine) else { throw ValidationError("unknown engine \(engine)") }
        try crashChild(engine: kind, path: path, dimensions: dimensions, valueBytes: valueBytes,
                       recordsPerDimension: recordsPerDimension, bytes: bytes)
    }
}
