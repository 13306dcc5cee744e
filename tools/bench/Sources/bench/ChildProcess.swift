//! Re-running the bench binary itself as a child process (cold opens, the writer that is
//! killed): its own executable, found through /proc/self/exe, with a hidden subcommand.

import Foundation

enum ChildProcess {
    /// The running executable's path.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Starts `bench ARGS` with stdout on a pipe; the caller reads it and waits.
    static func start(_ arguments: [String]) throws -> (process: Process, output: FileHandle) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        try process.run()
        return (process, pipe.fileHandleForReading)
    }

    /// Runs `bench ARGS` to completion and returns its stdout; throws if it failed.
    static func run(_ arguments: [String]) throws -> String {
        let (process, output) = try start(arguments)
        let data = output.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw BenchError("child `bench \(arguments.joined(separator: " "))` failed with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads lines from `output` until one starts with `prefix`; returns it (nil at EOF).
    static func waitForLine(_ output: FileHandle, prefix: String) -> String? {
        var buffer = Data()
        while true {
            let chunk = output.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
                return String(line)
            }
        }
    }
}
