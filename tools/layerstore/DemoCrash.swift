//! The demo's crash phase: a child `layerstore import` is killed with SIGKILL in the middle of
//! its work, then the store is recovered and every record the child reported durable is checked.

import Foundation
import LayerStore

extension DemoRun {
    /// Kills a child writer mid-import, recovers its store, and checks what it acknowledged.
    /// Returns a line for the summary.
    func crashAndRecover() throws -> String {
        // The child dies with its stdin still being written: that must be EPIPE, not our death.
        signal(SIGPIPE, SIG_IGN)
        let crashPath = path + "-crash"
        try? FileManager.default.removeItem(atPath: crashPath)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["import", crashPath, "events", "--batch", "100"]
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        child.environment = environment
        let input = Pipe(), output = Pipe()
        child.standardInput = input
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()
        // Feed records until the child has reported a few durable batches, then kill it.
        let writer = input.fileHandleForWriting
        var built = Data()
        for i in 0..<200_000 { built.append(Data("event-\(String(format: "%06d", i))\tpayload \(i)\n".utf8)) }
        let lines = built
        let feeder = Thread { try? writer.write(contentsOf: lines); try? writer.close() }
        feeder.start()
        var reported = 0
        var buffer = Data()
        let reader = output.fileHandleForReading
        while reported < 3000 {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            let text = String(decoding: buffer, as: UTF8.self)
            reported = text.split(separator: "\n").compactMap { $0.hasPrefix("committed ") ? Int($0.dropFirst(10)) : nil }.max() ?? reported
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        let recovery = try Recoverer.run(path: crashPath, dryRun: false, salvage: false)
        var readOnly = StoreOptions()
        readOnly.readOnly = true
        let store = try Store(path: crashPath, options: readOnly)
        var missing = 0
        for i in 0..<reported where try store.string(forKey: "event-\(String(format: "%06d", i))", in: "events") != "payload \(i)" {
            missing += 1
        }
        try store.close()
        let replayed = recovery.walFirstLSN.map { "\(recovery.walRecords) WAL records (LSNs \($0)...\(recovery.walLastLSN ?? $0)) to replay" } ?? "nothing to replay"
        print("crash     killed a writer after it reported \(reported) records durable; recover: \(replayed), "
            + (recovery.tornTail.map { "torn tail at \($0.offset ?? 0) truncated, " } ?? "") + (recovery.consistent ? "consistent" : "NOT consistent")
            + "; \(reported - missing) of \(reported) reported records found")
        guard missing == 0, recovery.consistent else { throw StoreError(.corrupted, "\(missing) reported records missing after the crash") }
        try? FileManager.default.removeItem(atPath: crashPath)
        return "\(reported) of \(reported) acknowledged records recovered"
    }
}
