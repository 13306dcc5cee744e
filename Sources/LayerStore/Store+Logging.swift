//! What the store tells its ``Store/logger``: the rare events an operator wants in a log —
//! what an open recovered, each flush, each compaction, each WAL roll at a freeze — and never
//! anything on the read or commit path.
//!
//! Levels: `notice` for what recovery had to repair or set aside (a torn WAL tail, a damaged
//! manifest passed over, leftovers removed), `info` for opens, flushes and compactions, `debug`
//! for WAL rolls, `error` for a failed flush (its memtable stays frozen and is retried).
//! Messages are fixed strings; the facts are metadata, so log handlers can index them.

import Logging

extension Store {
    /// The logger used when none is given: it drops everything, so a library never writes to
    /// an application's standard error unasked.
    public static let silentLogger = Logger(label: "LayerStore", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Logs what opening the store found and did (from ``recoveryReport``).
    func logOpened() {
        let r = recoveryReport
        // Built only for a logger that keeps `info`: the dictionary's first use costs a new
        // process tens of microseconds of runtime type lookups, in every open.
        guard let logger = givenLogger, logger.logLevel <= .notice else { return }
        var metadata: Logger.Metadata = [
            "store": "\(path)", "mode": "\(isReadOnly ? "read-only" : "writer")",
            "manifest": "\(r.manifestGeneration)", "checkpointLSN": "\(r.checkpointLSN)",
            "replayedRecords": "\(r.replayedRecordCount)", "replayedOperations": "\(r.replayedOperationCount)",
            "replayedBytes": "\(r.replayedByteCount)", "lastLSN": "\(lastLSN)",
        ]
        if let lsns = r.replayedLSNs { metadata["replayedLSNs"] = "\(lsns.lowerBound)...\(lsns.upperBound)" }
        logger.info("store opened", metadata: metadata)
        if let tail = r.tornTail {
            logger.notice("torn WAL tail \(tail.truncated ? "truncated" : "skipped"): a crash interrupted unacknowledged writes", metadata: [
                "store": "\(path)", "file": "\(tail.path)", "offset": "\(tail.offset)", "bytes": "\(tail.byteCount)",
                "discardedRecords": "\(tail.discardedRecordCount)",
            ])
        }
        for skipped in r.skippedManifests {
            logger.notice("damaged manifest passed over", metadata: ["store": "\(path)", "manifest": "\(skipped)"])
        }
        if !r.removedTempFiles.isEmpty || !r.removedUnpublishedSegments.isEmpty {
            logger.notice("leftovers of an interrupted flush or compaction removed", metadata: [
                "store": "\(path)", "tempFiles": "\(r.removedTempFiles)", "unpublishedSegments": "\(r.removedUnpublishedSegments)",
            ])
        }
    }

    /// Logs a finished flush: the segments published since `previous` for writes up to `lastLSN`.
    func logFlushed(after previous: Manifest, upTo lastLSN: LSN, startedAt started: UInt64) {
        guard logger.logLevel <= .info else { return }
        let manifest = currentState().manifest
        let written = manifest.dimensions.flatMap { d in
            d.segments.filter { $0.minLSN > previous.checkpointLSN && $0.maxLSN <= lastLSN }.map { (d.name, $0) }
        }
        logger.info("flush published", metadata: [
            "store": "\(path)", "checkpointLSN": "\(lastLSN)", "manifest": "\(manifest.generation)",
            "segments": "\(written.count)", "dimensions": "\(Set(written.map(\.0)).count)",
            "bytes": "\(written.reduce(UInt64(0)) { $0 + $1.1.fileLength })",
            "records": "\(written.reduce(UInt64(0)) { $0 + $1.1.recordCount })",
            "ms": "\(milliseconds(since: started))",
        ])
    }

    /// Logs a flush that failed; its memtable stays frozen (readable, in the WAL) for a retry.
    func logFlushFailed(_ error: StoreError) {
        logger.error("flush failed; it will be retried", metadata: ["store": "\(path)", "error": "\(error)"])
    }

    /// Logs each dimension of a finished compaction, then the totals.
    func logCompacted(_ report: CompactionReport) {
        guard logger.logLevel <= .info else { return }
        for d in report.dimensions {
            logger.info(report.dryRun ? "compaction planned (dry run)" : "compaction published", metadata: [
                "store": "\(path)", "dimension": "\(d.dimension)",
                "segmentsBefore": "\(d.segmentsBefore)", "segmentsAfter": "\(d.segmentsAfter)",
                "bytesBefore": "\(d.bytesBefore)", "bytesAfter": "\(d.bytesAfter)",
                "recordsBefore": "\(d.recordsBefore)", "recordsAfter": "\(d.recordsAfter)",
                "versionsDropped": "\(d.versionsDropped)", "tombstonesDropped": "\(d.tombstonesDropped)",
                "lz4Segments": "\(d.compressedSegments)", "written": "\(d.written)", "removed": "\(d.removed)",
            ])
        }
        logger.info("compaction finished", metadata: [
            "store": "\(path)", "dimensions": "\(report.dimensions.count)",
            "ms": "\(Int(report.seconds * 1000))", "megabytesPerSecond": "\(Int(report.megabytesPerSecond))",
        ])
    }

    /// Logs a WAL roll at a freeze: the memtable up to `lastLSN` waits for its flush.
    func logFrozen(lastLSN: LSN, memtableByteCount: Int) {
        logger.debug("WAL rolled; memtable frozen for a flush", metadata: [
            "store": "\(path)", "lastLSN": "\(lastLSN)", "memtableBytes": "\(memtableByteCount)",
        ])
    }

    private func milliseconds(since started: UInt64) -> String {
        let ns = Syscalls.monotonicNanoseconds() - started
        return "\(ns / 1_000_000).\(ns / 100_000 % 10)"
    }
}
