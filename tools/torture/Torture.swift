//! `layerstore-torture`: kill -9 torture. Loops: start a writer (`layerstore import`, `flush`,
//! `compact`, `compact --lz4`, in a random mix), SIGKILL it at a random moment, reopen, and check
//! that every acknowledged record is there with its exact value, that no record appears that was
//! never written, and that `layerstore verify` finds the store clean.
//!
//!   layerstore-torture [--cycles N] [--seconds S] [--seed X] [--dir D]
//!
//! Bounded by cycles and time; prints the cycles run and the failures; exits 1 on any failure.

import Foundation
import LayerStore

@main
struct Torture {
    static func main() throws {
        signal(SIGPIPE, SIG_IGN)  // a killed child's stdin must not kill the driver
        var cycles = 1000, seconds = 600.0, seed: UInt64 = UInt64(Date().timeIntervalSince1970)
        var dir = NSTemporaryDirectory() + "layerstore-torture-\(getpid())"
        var args = CommandLine.arguments.dropFirst().makeIterator()
        while let arg = args.next() {
            switch arg {
            case "--cycles": cycles = Int(args.next() ?? "") ?? cycles
            case "--seconds": seconds = Double(args.next() ?? "") ?? seconds
            case "--seed": seed = UInt64(args.next() ?? "") ?? seed
            case "--dir": dir = args.next() ?? dir
            default:
                FileHandle.standardError.write(Data("usage: layerstore-torture [--cycles N] [--seconds S] [--seed X] [--dir D]\n".utf8))
                exit(2)
            }
        }
        let cli = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("layerstore").path
        guard FileManager.default.isExecutableFile(atPath: cli) else {
            FileHandle.standardError.write(Data("layerstore-torture: \(cli) not found (build the package first)\n".utf8))
            exit(2)
        }
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var run = TortureRun(cli: cli, store: dir + "/store", seed: seed)
        let deadline = Date().addingTimeInterval(seconds)
        var done = 0
        while done < cycles && Date() < deadline {
            run.cycle(done)
            done += 1
        }
        print("torture: \(done) cycles (seed \(seed)), \(run.kills) kills, \(run.acknowledged.count) keys acknowledged, \(run.failures.count) failures")
        for f in run.failures.prefix(20) { print("  FAIL \(f)") }
        if run.failures.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
        exit(run.failures.isEmpty ? 0 : 1)
    }
}

struct TortureRun {
    let cli: String
    let store: String
    var rng: SplitMixRandom
    /// key -> value as last checked (durable), and every value ever offered per key.
    var acknowledged: [String: String] = [:]
    var written: [String: Set<String>] = [:]
    var failures: [String] = []
    var kills = 0

    init(cli: String, store: String, seed: UInt64) {
        self.cli = cli
        self.store = store
        self.rng = SplitMixRandom(seed)
    }

    mutating func cycle(_ n: Int) {
        let action = Int(rng.next() % 10)
        var arguments: [String]
        var input = Data()
        var offered: [(String, String)] = []
        switch action {
        case 0...5:
            let count = 500 + Int(rng.next() % 8000)
            for i in 0..<count {
                let key = "k\(rng.next() % 5000)"
                let value = "c\(n)-\(i)-" + String(repeating: "v", count: Int(rng.next() % 300))
                offered.append((key, value))
                input.append(Data("\(key)\t\(value)\n".utf8))
            }
            arguments = ["import", store, "d", "--batch", String(1 + rng.next() % 200)]
        case 6, 7: arguments = ["flush", store]
        case 8: arguments = ["compact", store, "--target-size", "1M"]
        default: arguments = ["compact", store, "--lz4", "--target-size", "1M"]
        }
        if !FileManager.default.fileExists(atPath: store) && arguments[0] != "import" { return }
        for (k, v) in offered { written[k, default: []].insert(v) }
        let reported = runAndKill(arguments, input: input, afterMilliseconds: Int(rng.next() % 80))
        // The first `reported` offered records were acknowledged: each key must hold its last
        // acknowledged value, or a value offered after it (durable, not yet reported).
        var acceptable: [String: Set<String>] = [:]
        for (k, v) in acknowledged { acceptable[k] = [v] }
        for (i, (k, v)) in offered.enumerated() {
            if i < reported { acceptable[k] = [v] } else { acceptable[k, default: []].insert(v) }
        }
        let mustExist = Set(acknowledged.keys).union(offered.prefix(reported).map(\.0))
        check(cycle: n, action: arguments[0], acceptable: acceptable, mustExist: mustExist)
    }

    /// Runs `layerstore ARGS` with `input`, SIGKILLs it after the delay if still running, and
    /// returns the last `committed T` it printed.
    mutating func runAndKill(_ arguments: [String], input: Data, afterMilliseconds: Int) -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cli)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = env
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { failures.append("could not start \(arguments): \(error)"); return 0 }
        let writer = stdin.fileHandleForWriting
        DispatchQueue.global().async {
            try? writer.write(contentsOf: input)
            try? writer.close()
        }
        usleep(useconds_t(afterMilliseconds * 1000))
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            kills += 1
        }
        process.waitUntilExit()
        let text = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            line.hasPrefix("committed ") ? Int(line.dropFirst("committed ".count)) : nil
        }.max() ?? 0
    }

    mutating func check(cycle n: Int, action: String, acceptable: [String: Set<String>], mustExist: Set<String>) {
        do {
            let s = try Store(path: store)  // a writer open: recovery runs
            var seen: [String: String] = [:]
            for r in try s.snapshot().records(in: "d") {
                seen[String(decoding: r.key, as: UTF8.self)] = String(decoding: r.value, as: UTF8.self)
            }
            try s.close()
            for k in mustExist where seen[k] == nil {
                failures.append("cycle \(n) (\(action)): acknowledged key \(k) is missing")
            }
            for (k, v) in seen where acceptable[k]?.contains(v) != true {
                let what = written[k]?.contains(v) == true ? "an older or unacknowledged value" : "a value never written"
                failures.append("cycle \(n) (\(action)): \(k)=\(v.prefix(24)) is \(what)")
            }
            acknowledged = seen  // what is there now is durable: the next cycle builds on it
        } catch {
            failures.append("cycle \(n) (\(action)): reopen failed: \(error)")
        }
        let verify = Process()
        verify.executableURL = URL(fileURLWithPath: cli)
        verify.arguments = ["verify", store]
        verify.standardOutput = FileHandle.nullDevice
        verify.standardError = FileHandle.nullDevice
        try? verify.run()
        verify.waitUntilExit()
        if verify.terminationStatus != 0 { failures.append("cycle \(n) (\(action)): verify exited \(verify.terminationStatus)") }
    }
}

/// splitmix64, for reproducible runs.
struct SplitMixRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
