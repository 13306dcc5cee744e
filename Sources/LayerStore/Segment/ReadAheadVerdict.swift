//! Whether a scan's read-ahead helper pays on this machine, learned from scans themselves
//! (BlockReadAhead.swift § Whether it pays).
//!
//! Why learned, not configured: what a hand-over of blocks between cores costs depends on where
//! the machine puts its two threads, which the process cannot see. The same code ran a cold
//! scan 1.1 times faster than LZ4 alone on one machine and 1.8 times slower than no helper on
//! another, which reported two cores of one socket either way.

import Synchronization

/// The process's verdict on decoding blocks ahead on another core, for one kind of segment:
/// unknown until a scan has tried both ways (``BlockReadAhead/Helper/whenItPays``), then kept,
/// and tried again after every ``retrialInterval`` scans that followed it, as the machine's
/// load changes. A verdict that no earlier trial agreed with (the process's first, or one
/// that turned the last) is tried again sooner, after ``confirmationInterval`` scans: a trial
/// of a hundred microseconds is at the mercy of one interruption, and the process's first
/// helper also pays for its thread's first run.
final class ReadAheadVerdict: Sendable {
    /// LZ4 segments: the helper decompresses.
    static let compressed = ReadAheadVerdict()
    /// Plain segments read with every block verified: the helper hashes.
    static let plain = ReadAheadVerdict()

    /// Blocks in each half of a trial: 64 blocks of 16 KiB, some hundreds of microseconds.
    static let trialBlockCount = 64
    /// Scans after a trial before the next one, once two trials in a row agreed. A trial costs
    /// at most one half run the slower way (tens of microseconds, against a scan of a segment's
    /// hundreds of blocks); a wrong verdict costs every scan until the next trial, and where
    /// the scheduler puts the helper changes from moment to moment.
    static let retrialInterval = 16
    /// Scans after a trial whose verdict is not confirmed yet before the next one. Of four
    /// processes scanning the layer profile with every block verified on one machine, one had
    /// both of its first trials keep the helper out (helped halves of 100–106 µs against 62–65
    /// alone) where the others' helped halves took 29–51 µs.
    static let confirmationInterval = 4
    /// How much faster the helped half must be for the helper to stay: below it, the gain is
    /// within the timing's noise, and a helper that does not pay costs a core.
    static let requiredSpeedUp = 1.1

    /// What a read-ahead of a segment should do.
    enum Advice: Equatable {
        case help, alone, tryBoth
    }

    /// 0: unknown, 1: the helper pays, 2: it does not.
    private let verdict = Atomic<Int>(0)
    private let scansSinceTrial = Atomic<Int>(0)
    /// Whether the last two trials agreed.
    private let confirmed = Atomic<Bool>(false)

    /// The advice for a read-ahead over `blockCount` blocks. A trial needs room for both halves
    /// and as many blocks again to use its answer on; a shorter read-ahead with no verdict yet
    /// goes alone.
    func advice(blockCount: Int) -> Advice {
        let known = verdict.load(ordering: .relaxed)
        let canTry = blockCount >= 3 * Self.trialBlockCount
        if known == 0 { return canTry ? .tryBoth : .alone }
        let interval = confirmed.load(ordering: .relaxed) ? Self.retrialInterval : Self.confirmationInterval
        if canTry, scansSinceTrial.wrappingAdd(1, ordering: .relaxed).newValue >= interval {
            scansSinceTrial.store(0, ordering: .relaxed)
            return .tryBoth
        }
        return known == 1 ? .help : .alone
    }

    /// Records a trial: `alone` and `helped` nanoseconds for the same number of blocks. Returns
    /// whether the helper stays.
    @discardableResult
    func record(alone: UInt64, helped: UInt64) -> Bool {
        let pays = Double(helped) * Self.requiredSpeedUp < Double(alone)
        let previous = verdict.exchange(pays ? 1 : 2, ordering: .relaxed)
        confirmed.store(previous == (pays ? 1 : 2), ordering: .relaxed)
        scansSinceTrial.store(0, ordering: .relaxed)
        return pays
    }

    /// Whether a trial has given a verdict.
    var isKnown: Bool { verdict.load(ordering: .relaxed) != 0 }

    /// Forgets the verdict (tests).
    func reset() {
        verdict.store(0, ordering: .relaxed)
        scansSinceTrial.store(0, ordering: .relaxed)
        confirmed.store(false, ordering: .relaxed)
    }
}
