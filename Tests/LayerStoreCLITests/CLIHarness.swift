//! Helpers for running the built `layerstore` executable from tests: one-shot runs with optional
//! stdin bytes, streaming children (stdin and stdout pipes, SIGKILL), temp directories and
//! byte-exact snapshots of a store directory.

import Foundation
import LayerStoreWorkload
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one run of the CLI produced.
struct CLIResult: Sendable, CustomStringConvertible {
    var status: Int32
    var stdout: Data
    var stderr: String

    /// stdout decoded as UTF-8.
    var out: String { String(decoding: stdout, as: UTF8.self) }
    /// stdout split into lines (the trailing newline does not make an empty last line).
    var lines: [String] {
        var parts = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts
    }

    var description: String { "exit \(status), stdout \(stdout.count) bytes \(out.prefix(300).debugDescription), stderr \(stderr.debugDescription)" }
}

enum CLI {
    /// The package's `layerstore` executable, built next to the test bundle.
    static let executable: URL = Bundle.main.bundleURL.appendingPathComponent("layerstore")

    /// The child's environment: no crash backtracer (children get SIGKILLed; a lingering
    /// `swift-backtrace` can hold pipes open).
    static var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        return env
    }

    /// Runs `layerstore ARGUMENTS` to completion with `stdin` (or /dev/null) and returns what it
    /// did. Output goes through files, so no pipe can fill up and deadlock. A child still running
    /// after `timeout` seconds is killed and recorded as an issue.
    @discardableResult
    static func run(_ arguments: [String], stdin: Data? = nil, timeout: Double = 60,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let io = try TempDir(prefix: "layerstore-cli-io")
        let inPath = io.path + "/stdin", outPath = io.path + "/stdout", errPath = io.path + "/stderr"
        _ = FileManager.default.createFile(atPath: inPath, contents: stdin ?? Data())
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let inHandle = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? inHandle.close()
            try? outHandle.close()
            try? errHandle.close()
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardInput = inHandle
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        let pid = process.processIdentifier
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                kill(pid, SIGKILL)
                Issue.record("layerstore \(arguments) still running after \(timeout) s: killed", sourceLocation: sourceLocation)
                break
            }
            usleep(1000)
        }
        process.waitUntilExit()
        let stdout = (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data()
        let stderr = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data(), as: UTF8.self)
        let status: Int32 = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        if process.terminationReason == .uncaughtSignal {
            Issue.record("layerstore \(arguments) died of signal \(process.terminationStatus); stderr: \(stderr)", sourceLocation: sourceLocation)
        }
        return CLIResult(status: status, stdout: stdout, stderr: stderr)
    }

    /// `KEY<TAB>VALUE` lines for import.
    static func importLines(_ records: [(String, String)]) -> Data {
        Data(records.map { "\($0.0)\t\($0.1)\n" }.joined().utf8)
    }
}

/// A unique directory under the system temp directory, removed by `remove()` (or at deinit).
final class TempDir: @unchecked Sendable {
    let url: URL
    var path: String { url.path }

    init(prefix: String = "layerstore-cli-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the directory (not created).
    func sub(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(at: url) }

    deinit { remove() }
}

/// The names and exact bytes of everything below a directory (directories map to `nil`).
struct DirectorySnapshot: Equatable, CustomStringConvertible {
    var entries: [String: Data?]

    init(_ root: String) throws {
        entries = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: root) else {
            throw CocoaError(.fileReadNoSuchFile)
        }
        while let name = enumerator.nextObject() as? String {
            // A live writer prepares its next WAL file in the background, under a temporary
            // name nothing reads: it may appear or grow at any moment.
            if name.hasPrefix("wal/spare-") { continue }
            let full = root + "/" + name
            var info = stat()
            guard lstat(full, &info) == 0 else { throw CocoaError(.fileReadUnknown) }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                entries[name] = .some(nil)
            } else {
                entries[name] = .some(try Data(contentsOf: URL(fileURLWithPath: full)))
            }
        }
    }

    var description: String {
        entries.keys.sorted().map { name in
            if let data = entries[name]! { return "\(name) (\(data.count) bytes)" }
            return "\(name)/"
        }.joined(separator: ", ")
    }

    /// Names whose presence or bytes differ.
    func differences(from other: DirectorySnapshot) -> [String] {
        Set(entries.keys).union(other.entries.keys).sorted().filter { entries[$0] != other.entries[$0] }
    }
}

/// Seeded, reproducible random numbers for tests: the workload's splitmix64.
typealias SeededRandom = SplitMix64

/// Lines arriving on a child's stdout, collected by a background thread.
final class LineCollector: @unchecked Sendable {
    private let condition = NSCondition()
    private var partial = Data()
    private var collected: [String] = []
    private var ended = false

    func append(_ bytes: UnsafeRawBufferPointer) {
        condition.lock()
        partial.append(contentsOf: bytes)
        while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
            collected.append(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
            partial = Data(partial[(newline + 1)...])
        }
        condition.broadcast()
        condition.unlock()
    }

    func finish() {
        condition.lock()
        if !partial.isEmpty { collected.append(String(decoding: partial, as: UTF8.self) + "<no newline>") }
        partial = Data()
        ended = true
        condition.broadcast()
        condition.unlock()
    }

    /// The complete lines so far and whether the stream ended.
    var state: (lines: [String], ended: Bool) {
        condition.lock()
        defer { condition.unlock() }
        return (collected, ended)
    }

    /// Waits until `predicate` holds for the lines (or the stream ended, or the time is up).
    @discardableResult
    func wait(timeout: Double, until predicate: ([String]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !predicate(collected) {
            if ended || !condition.wait(until: deadline) { return predicate(collected) }
        }
        return true
    }
}

/// A flag shared with a background thread.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

/// A `layerstore` child with a stdin pipe the test keeps open, stdout read line by line in the
/// background, and stderr to a file. The test decides when stdin closes or the child dies.
final class StreamingChild: @unchecked Sendable {
    let arguments: [String]
    let process = Process()
    let stdout = LineCollector()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let errDir: TempDir
    private let errHandle: FileHandle
    private let stopIO = StopFlag()
    private let readerDone = DispatchSemaphore(value: 0)
    private let writerDone = DispatchSemaphore(value: 0)
    private var writerStarted = false
    private var stdinClosed = false

    init(_ arguments: [String]) throws {
        _ = ignoreSIGPIPE
        self.arguments = arguments
        errDir = try TempDir(prefix: "layerstore-cli-child")
        _ = FileManager.default.createFile(atPath: errDir.sub("stderr"), contents: nil)
        errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errDir.sub("stderr")))
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.environment = CLI.environment
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = errHandle
        try process.run()
        // Our end of stdin never blocks (the writer polls), so killing the child cannot leave
        // a writer thread stuck in write(2).
        let inFD = stdinPipe.fileHandleForWriting.fileDescriptor
        _ = fcntl(inFD, F_SETFL, fcntl(inFD, F_GETFL) | O_NONBLOCK)
        let outFD = stdoutPipe.fileHandleForReading.fileDescriptor
        let collector = stdout, stop = stopIO, done = readerDone
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                var fds = pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)
                let ready = poll(&fds, 1, 20)
                if ready == 0 {
                    if stop.isSet { break }
                    continue
                }
                if ready < 0 { if errno == EINTR { continue }; break }
                let n = buffer.withUnsafeMutableBytes { read(outFD, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                buffer.withUnsafeBytes { collector.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            collector.finish()
            done.signal()
        }
        reader.start()
    }

    var pid: Int32 { process.processIdentifier }

    /// Writes `data` to the child's stdin in the background, in chunks of the given sizes
    /// (cycled), until all is written, the child's stdin is gone (EPIPE) or `stopWriting()`.
    func startWriting(_ data: Data, chunkSizes: [Int] = [4096]) {
        startWriting(pieces: 1, chunkSizes: chunkSizes) { _ in data }
    }

    /// Like `startWriting(_:chunkSizes:)` for `lineCount` lines made on the writer thread.
    func startWriting(lineCount: Int, chunkSizes: [Int] = [4096], line: @escaping @Sendable (Int) -> Data) {
        startWriting(pieces: lineCount, chunkSizes: chunkSizes, piece: line)
    }

    private func startWriting(pieces: Int, chunkSizes: [Int], piece: @escaping @Sendable (Int) -> Data) {
        precondition(!writerStarted)
        writerStarted = true
        let inFD = stdinPipe.fileHandleForWriting.fileDescriptor
        let stop = stopIO, done = writerDone
        let thread = Thread {
            var bytes: [UInt8] = []
            var nextPiece = 0
            var offset = 0, chunk = 0
            // Keeps `bytes` filled a chunk ahead of `offset`, dropping what was written.
            func fill(to end: Int) -> Int {
                if offset > 1 << 20 { bytes.removeFirst(offset); offset = 0 }
                while bytes.count < offset + end && nextPiece < pieces {
                    bytes.append(contentsOf: piece(nextPiece))
                    nextPiece += 1
                }
                return min(bytes.count, offset + end)
            }
            outer: while !stop.isSet {
                let end = fill(to: max(1, chunkSizes[chunk % chunkSizes.count]))
                if end <= offset { break }
                chunk += 1
                while offset < end {
                    if stop.isSet { break outer }
                    let n = bytes.withUnsafeBytes { write(inFD, $0.baseAddress! + offset, end - offset) }
                    if n > 0 { offset += n; continue }
                    if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                        var fds = pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&fds, 1, 20)
                        continue
                    }
                    break outer  // EPIPE: the child is gone
                }
            }
            done.signal()
        }
        thread.start()
    }

    /// Writes `data` to stdin now (small amounts: fits in the pipe), from the calling thread.
    func writeNow(_ data: Data) {
        let inFD = stdinPipe.fileHandleForWriting.fileDescriptor
        let bytes = [UInt8](data)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(inFD, $0.baseAddress! + offset, bytes.count - offset) }
            if n > 0 { offset += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { usleep(1000); continue }
            return
        }
    }

    /// Waits for the background writer (if any) to stop, then closes the child's stdin (EOF).
    func closeStdin(stopWriter: Bool = false) {
        if stopWriter { stopIO.set() }
        if writerStarted { writerDone.wait() }
        if !stdinClosed {
            stdinClosed = true
            try? stdinPipe.fileHandleForWriting.close()
        }
    }

    func sigkill() { kill(pid, SIGKILL) }

    /// Waits for the child to end (killing it after `timeout`), then for its stdout to reach EOF,
    /// stops the writer and closes stdin. Returns how it ended.
    @discardableResult
    func wait(timeout: Double = 30) -> (reason: Process.TerminationReason, status: Int32) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                Issue.record("layerstore \(arguments) still running after \(timeout) s: killed")
                kill(pid, SIGKILL)
                break
            }
            usleep(1000)
        }
        process.waitUntilExit()
        // Every line the child wrote is in the pipe: read to EOF (bounded, in case another
        // process inherited the pipe's write end).
        if readerDone.wait(timeout: .now() + 5) == .timedOut {
            stopIO.set()
            readerDone.wait()
        }
        stopIO.set()
        closeStdin()
        try? errHandle.close()
        return (process.terminationReason, process.terminationStatus)
    }

    /// The child's stderr so far.
    var stderr: String {
        String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errDir.sub("stderr")))) ?? Data(), as: UTF8.self)
    }

    deinit {
        if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() }
        stopIO.set()
    }
}

/// Parses a `committed T` line.
func committedCount(_ line: String) -> Int? {
    guard line.hasPrefix("committed ") else { return nil }
    return Int(line.dropFirst("committed ".count))
}

/// Ignores SIGPIPE once: writing to a dead child's stdin must fail with EPIPE, not kill the test.
let ignoreSIGPIPE: Void = {
    signal(SIGPIPE, SIG_IGN)
}()
