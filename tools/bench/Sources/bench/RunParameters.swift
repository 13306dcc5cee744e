//! How much work each phase does: the workload's numbers for a full run, a reduced set for
//! `--quick` (a fraction of the data, fewer operations) that finishes in minutes.

/// Sizes and counts of one run.
struct RunParameters: Sendable {
    /// Fraction of the workload's records loaded.
    var scale: Double
    /// Random point reads per pass.
    var reads: Int
    /// One-record durable commits timed.
    var commits: Int
    /// A read pass or the commit phase stops after this many seconds even if not done, so a
    /// slow engine cannot stretch the run past its budget (the figures say how many were done).
    var phaseSecondsMax: Double
    /// Seconds per group-commit measurement (1 and 64 committers).
    var groupSeconds: Double
    /// Bytes the writer loads in the readers-under-writes phase.
    var readersUnderWritesBytes: Int
    /// The readers-under-writes writer stops committing after this many seconds even if it has
    /// not loaded all its bytes (the figures are then of the part it loaded). SQLite's writer,
    /// starved by 128 readers, took about 70 s to load the small profile's 28 MiB in a run of
    /// that phase alone; in one full run SQLite's small-profile turns took 114, 270 and 179 s
    /// against 40-60 s for every other engine's, and the run 24 minutes.
    var readersWriterSecondsMax: Double
    /// Seconds the readers run without the writer first (their baseline p99).
    var readersBaselineSeconds: Double
    /// Reader threads in the readers-under-writes phase.
    var readerThreads = 128
    /// Bytes of synced, unflushed commits before the writer is killed (recovery).
    var recoveryBytes: Int
    /// Cold opens per measurement (median taken).
    var openRepeats = 5
    /// Whether to build a store of 10× the data for the open-scaling target (layer profile).
    var openAtTenTimes: Bool
    /// fdatasync calls per limit measurement.
    var syncSamples: Int
    /// Bytes written for the sequential-write limit.
    var sequentialWriteBytes: Int
    /// Bytes of values the LZ4 limits compress.
    var lz4SampleBytes: Int

    /// The workload as written (shared/workload.md).
    static let full = RunParameters(
        scale: 1, reads: 1_000_000, commits: 10_000, phaseSecondsMax: 6, groupSeconds: 1.5, readersUnderWritesBytes: 28 << 20,
        readersWriterSecondsMax: 30, readersBaselineSeconds: 1, recoveryBytes: 256 << 20, openAtTenTimes: true, syncSamples: 300,
        sequentialWriteBytes: 256 << 20, lz4SampleBytes: 64 << 20)

    /// A reduced run: 1/8 of the data, a tenth of the reads, fewer commits.
    static let quick = RunParameters(
        scale: 0.125, reads: 100_000, commits: 300, phaseSecondsMax: 2, groupSeconds: 0.5, readersUnderWritesBytes: 7 << 20 / 2,
        readersWriterSecondsMax: 10, readersBaselineSeconds: 0.3, recoveryBytes: 32 << 20, openAtTenTimes: false, syncSamples: 100,
        sequentialWriteBytes: 64 << 20, lz4SampleBytes: 16 << 20)

    /// The three dimensions after the workload's that phases writing new records use, so the
    /// workload's own dimensions keep exactly the workload's data (sizes and scans compare).
    static let extraDimensions = 3
    /// Dimension of the one-record commit phase.
    static func commitDimension(_ dimensionCount: Int) -> Int { dimensionCount }
    /// Dimension of the group-commit phase.
    static func groupDimension(_ dimensionCount: Int) -> Int { dimensionCount + 1 }
    /// Dimension the readers-under-writes writer loads.
    static func loadDimension(_ dimensionCount: Int) -> Int { dimensionCount + 2 }

    /// Words for the report.
    var summary: [String: String] {
        [
            "reads per pass": "\(reads) (at most \(phaseSecondsMax) s per pass)", "one-record commits": "\(commits) (at most \(phaseSecondsMax) s)",
            "group-commit seconds per measurement": String(groupSeconds),
            "readers-under-writes load": "\(readersUnderWritesBytes >> 10) KiB by 1 writer (at most \(readersWriterSecondsMax) s), \(readerThreads) reader threads, baseline \(readersBaselineSeconds) s",
            "recovery": "\(recoveryBytes >> 20) MiB of synced, unflushed 1,000-record commits, then SIGKILL",
            "cold opens per measurement": "\(openRepeats) (median), each in a new process, timed inside it",
        ]
    }
}
