import Foundation
import Logging
import Testing
@testable import LayerStore

/// The store's `Logger`: recovery, flushes, compactions and WAL rolls are logged with their
/// facts; commits and reads log nothing; without a logger nothing is logged at all.
@Suite struct LoggingTests {
    /// One captured log line.
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    /// A log handler that keeps every line.
    struct CapturingHandler: LogHandler {
        let entries: Locked<[Entry]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).mapValues { "\($0)" }
            entries.withLock { $0.append(Entry(level: event.level, message: "\(event.message)", metadata: fields)) }
        }
    }

    static func logger(_ entries: Locked<[Entry]>) -> Logger {
        Logger(label: "test") { _ in CapturingHandler(entries: entries) }
    }

    @Test func recoveryFlushCompactionAndRollsAreLoggedAndCommitsAreNot() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        do {
            let store = try Store(path: path, options: testOptions())
            for i in 0..<10 { try store.put("v\(i)", forKey: "k\(i)", in: "d") }
            try store.close()
        }
        // A crash artefact: bytes behind the last record that no record proves durable.
        let wal = try #require(dir.files(under: "s/wal").filter { $0.hasSuffix(".wal") }.last)
        let handle = try #require(FileHandle(forWritingAtPath: path + "/wal/" + wal))
        handle.seekToEndOfFile()
        handle.write(Data(repeating: 0xAB, count: 100))
        try handle.close()

        let entries = Locked<[Entry]>([])
        let store = try Store(path: path, options: testOptions(), logger: Self.logger(entries))
        var logged = entries.withLock { $0 }
        let opened = try #require(logged.first { $0.message == "store opened" })
        #expect(opened.level == .info && opened.metadata["replayedOperations"] == "10" && opened.metadata["mode"] == "writer")
        let torn = try #require(logged.first { $0.message.hasPrefix("torn WAL tail truncated") })
        #expect(torn.level == .notice && torn.metadata["bytes"] == "100" && torn.metadata["file"]?.hasSuffix(wal) == true)

        // Commits and reads log nothing.
        let before = logged.count
        for i in 0..<50 { try store.put("w\(i)", forKey: "k\(i)", in: "d") }
        _ = try store.value(forKey: Array("k1".utf8), in: "d")
        #expect(entries.withLock { $0.count } == before)

        try store.flush()
        logged = entries.withLock { $0 }
        let rolled = try #require(logged.first { $0.message.hasPrefix("WAL rolled") })
        #expect(rolled.level == .debug && rolled.metadata["lastLSN"] == "60")
        let flushed = try #require(logged.first { $0.message == "flush published" })
        #expect(flushed.level == .info && flushed.metadata["checkpointLSN"] == "60" && flushed.metadata["segments"] == "1")
        #expect(flushed.metadata["records"] == "60" && (Int(flushed.metadata["bytes"] ?? "") ?? 0) > 0 && flushed.metadata["ms"] != nil)

        try store.put("x", forKey: "k1", in: "d")
        try store.flush()
        _ = try store.compact()
        logged = entries.withLock { $0 }
        let compacted = try #require(logged.first { $0.message == "compaction published" })
        #expect(compacted.metadata["dimension"] == "d" && compacted.metadata["segmentsBefore"] == "2" && compacted.metadata["segmentsAfter"] == "1")
        #expect(compacted.metadata["versionsDropped"] == "11")
        #expect(logged.contains { $0.message == "compaction finished" })
    }

    @Test func aReadOnlyOpenLogsASkippedTailAndTheDefaultLoggerIsSilent() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let writer = try Store(path: path, options: testOptions())
        try writer.put("v", forKey: "k", in: "d")
        let entries = Locked<[Entry]>([])
        var options = testOptions()
        options.readOnly = true
        let reader = try Store(path: path, options: options, logger: Self.logger(entries))
        let opened = try #require(entries.withLock { $0 }.first { $0.message == "store opened" })
        #expect(opened.metadata["mode"] == "read-only" && opened.metadata["lastLSN"] == "1")
        #expect(reader.logger.label == "test")
        #expect(writer.logger.label == "LayerStore")
        #expect(writer.logger.logLevel == Store.silentLogger.logLevel)
        // Without a logger the store keeps none: the silent one is made only when asked for.
        #expect(writer.givenLogger == nil && reader.givenLogger != nil)
        let given = try Store(path: dir.child("t"), options: testOptions(), logger: Store.silentLogger)
        #expect(given.givenLogger?.label == "LayerStore")
        try given.close()
    }
}
