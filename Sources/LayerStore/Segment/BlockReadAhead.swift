//! Verifies and decompresses an LZ4 segment's next blocks (or verifies a plain segment's, when
//! every read verifies) on another core while a scan reads the current one, and lets the scan
//! decode a block itself when the other core is behind.
//!
//! Why: a scan of a cold (LZ4) segment decompressed a block, then walked its records, on one
//! thread: its speed was 1/(1/LZ4 + 1/walk). With small records LZ4 is the slower half (its
//! sequences are short: keys, headers and values interleave), so a helper thread that only
//! decompresses ahead left the scan waiting for it, at LZ4's speed, with its own core idle a
//! third of the time, and worse whenever the helper was descheduled. Sharing the blocks makes
//! the scan run at about (LZ4 + walk) / 2 when LZ4 is the slower half, and at the walk's speed
//! when it is not. A plain segment read with `.everyRead` verification is the same shape: the
//! hash of each whole block costs as much as the walk that hashes its values.
//!
//! How: every block is claimed once, in order, through one atomic counter, by whichever side
//! gets to it first. The helper claims the next unclaimed block while it is at most
//! `slotCount` blocks ahead of the scan, decodes it into the block's ring slot and publishes
//! the slot with a release store of the block's index. The scan, needing block `b`, takes the
//! slot once it is published; claims `b` and decodes it itself if nobody has; and while the
//! helper is decoding `b`, claims and decodes the next unclaimed block into its slot instead of
//! waiting. Only with nothing left to claim does it spin (then yield its core, in case the
//! helper was descheduled) until `b` is published. A hand-over costs two atomic operations, not
//! a thread wake-up; the helper sleeps only when it is a full ring ahead, and is woken when the
//! scan has taken half of it.
//!
//! Whether it pays: only where handing blocks between cores is cheap. On one machine a cold
//! scan of 4 KiB values ran 1.8 times slower with the helper than alone (both threads on one
//! core: 1.2 times slower): there the cores were siblings or far apart, and every block and
//! counter crossed between them. So a scan that may read ahead first times blocks alone, then
//! as many with the helper, and keeps the helper only if that was faster; the verdict is the
//! process's (``ReadAheadVerdict``) and is tried again every so often.
//!
//! Lifetime: the helper runs on a private queue (an overcommit thread: it runs even when the
//! caller's work fills the shared pool), holding only the shared state. When the scan is done or
//! abandons the segment early, dropping the ``BlockReadAhead`` cancels the helper and waits
//! for it, so no decompression outlives the scan. A block that fails to verify or decompress is
//! the scan's typed error at its place in the order, whichever side decoded it.

import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Blocks of one segment, from a start block to its end, decoded by the scan and a helper
/// thread together, handed out in order.
final class BlockReadAhead {
    private let state: State
    /// The next block to hand out.
    private var position: Int

    /// Blocks the helper may decode ahead of the scan: 16 × 16 KiB, about 60 µs of scanning.
    static let slotCount = 16

    /// Whether reading ahead can pay here: a second core to decompress on.
    static let isWorthwhile = sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2

    /// When the helper thread starts.
    enum Helper {
        /// At once.
        case always
        /// Never: every block is the scan's (tests of the scan's own share).
        case never
        /// As ``ReadAheadVerdict`` says, trying both ways first when it does not know.
        case whenItPays
    }

    /// Where the verdict on the helper is kept: by default, the process's for this kind of
    /// segment.
    private let verdict: ReadAheadVerdict

    /// Whether the helper was started (and so must be stopped and waited for).
    private var helperStarted = false
    /// The trial of a ``Helper/whenItPays`` read-ahead, while it runs.
    private var trial: Trial?

    /// Times `ReadAheadVerdict.trialBlockCount` blocks alone, then as many with the helper.
    private struct Trial {
        /// The block whose hand-out starts the trial's current half.
        var halfStart: Int
        var halfStartNanoseconds: UInt64 = 0
        /// The first half's time, once it is over.
        var aloneNanoseconds: UInt64?
        /// The helper was started for the second half, which has not begun: it begins once the
        /// helper has decoded a block (see ``stepTrial(at:)``).
        var awaitingHelper = false
    }

    /// Starts decoding `segment`'s blocks `start ..< blockCount` ahead.
    /// - Parameter verdict: for ``Helper/whenItPays``, where to learn and keep whether the
    ///   helper pays (default: the process's verdict for the segment's codec).
    init(segment: Segment, from start: Int, helper: Helper = .always, verdict: ReadAheadVerdict? = nil) {
        state = State(segment: segment, start: start, end: Int(segment.layout.blockCount))
        position = start
        self.verdict = verdict ?? (segment.layout.codec == SegmentFormat.codecLZ4 ? .compressed : .plain)
        switch helper {
        case .always: startHelper()
        case .never: break
        case .whenItPays:
            switch self.verdict.advice(blockCount: state.end - start) {
            case .help: startHelper()
            case .alone: break
            case .tryBoth: trial = Trial(halfStart: start)
            }
        }
    }

    deinit {
        if helperStarted { state.cancel() }
    }

    private func startHelper() {
        helperStarted = true
        let state = self.state
        DispatchQueue(label: "LayerStore.readAhead").async { state.help() }
    }

    /// Stops the helper and waits for it; returns how many blocks it decoded and how many
    /// times it slept for room.
    func stopHelper() -> (blocks: Int, sleeps: Int) {
        if helperStarted { state.cancel() }
        return (state.helperBlockCount.load(ordering: .relaxed), state.helperSleepCount.load(ordering: .relaxed))
    }

    /// Whether the helper is running (or ran) for this read-ahead.
    var isHelped: Bool { helperStarted }

    /// Moves the trial on as block `block` is about to be handed out: each half covers
    /// `trialBlockCount` hand-outs, timed from the first to the first after it.
    private func stepTrial(at block: Int) {
        guard var t = trial else { return }
        if t.awaitingHelper {
            // Until then the scan goes on alone.
            guard state.helperHasDecoded.load(ordering: .relaxed) else { return }
            t.awaitingHelper = false
            t.halfStart = block
            t.halfStartNanoseconds = Syscalls.monotonicNanoseconds()
        } else if block == t.halfStart {
            t.halfStartNanoseconds = Syscalls.monotonicNanoseconds()
        } else if block == t.halfStart + ReadAheadVerdict.trialBlockCount {
            let elapsed = Syscalls.monotonicNanoseconds() &- t.halfStartNanoseconds
            if let alone = t.aloneNanoseconds {
                let helps = verdict.record(alone: alone, helped: elapsed)
                if !helps { state.cancel() }
                trial = nil
                return
            }
            t.aloneNanoseconds = elapsed
            // The helped half starts once the helper has decoded its first block. Its thread's
            // start and first run (tens of microseconds, against a half of about a hundred on
            // a fast machine) are paid once per read-ahead, not per block; counted in the
            // half, they kept the helper out of verified scans it made twice as fast.
            t.awaitingHelper = true
            startHelper()
        }
        trial = t
    }

    /// The next block, in order, or `nil` after the last one.
    func next() throws(StoreError) -> BlockView? {
        let block = position
        guard block < state.end else { return nil }
        if trial != nil { stepTrial(at: block) }
        let slot = state.slots[block % Self.slotCount]
        var idleSpins = 0
        while slot.published.load(ordering: .acquiring) != block {
            let claim = state.nextClaim.load(ordering: .relaxed)
            assert(claim >= block, "a block was handed out before it was claimed")
            if claim == block {
                // Nobody has it: decode it here, straight to the caller.
                if state.nextClaim.compareExchange(expected: block, desired: block + 1, ordering: .relaxed).exchanged {
                    let view = try state.segment.block(block, cached: false)
                    advance(past: block)
                    return view
                }
            } else if claim < state.end && claim - block < Self.slotCount {
                // The helper is decoding this one: decode a later one meanwhile, into its slot.
                if state.nextClaim.compareExchange(expected: claim, desired: claim + 1, ordering: .relaxed).exchanged {
                    _ = state.decode(claim)
                }
            } else {
                // Nothing left to share: wait, spinning first (a block takes microseconds),
                // then yielding the core (the helper may be waiting for it).
                idleSpins += 1
                if idleSpins > 256 { sched_yield() }
            }
        }
        let view = slot.view
        let error = slot.error
        slot.view = nil
        slot.error = nil
        advance(past: block)
        if let error { throw error }
        guard let view else { preconditionFailure("a published read-ahead slot holds neither a block nor an error") }
        return view
    }

    /// Records that the scan has moved past `block` and wakes the helper if it waits for room.
    private func advance(past block: Int) {
        position = block + 1
        state.taken.store(block + 1, ordering: .sequentiallyConsistent)
        let wakeAt = state.wakeHelperAt.load(ordering: .sequentiallyConsistent)
        if block + 1 >= wakeAt,
           state.wakeHelperAt.compareExchange(expected: wakeAt, desired: .max, ordering: .sequentiallyConsistent).exchanged {
            state.wake.signal()
        }
    }

    /// A ring slot: the decoded block (or the error that ended the helper) of the block whose
    /// index `published` holds.
    final class Slot {
        /// The block whose decoding this slot holds, published with a release store after
        /// `view`/`error` are written; -1 before the first.
        let published = Atomic<Int>(-1)
        var view: BlockView?
        var error: StoreError?
    }

    /// What the helper and the scan share.
    final class State: @unchecked Sendable {
        // Safe to share: a slot's `view`/`error` are written only by the side that claimed its
        // block (each block is claimed once, through `nextClaim`), and only once the scan has
        // taken every block that slot held before (`taken`, acquire); the scan reads them only
        // after it loaded that block's index from `published` (acquire). The counters are
        // atomics.
        let segment: Segment
        let end: Int
        let slots: [Slot]
        /// The next block nobody has claimed.
        let nextClaim: Atomic<Int>
        /// Blocks before this one the scan has taken (and no longer needs a slot for).
        let taken: Atomic<Int>
        /// While the helper sleeps for room: the `taken` count that wakes it (`.max` otherwise).
        /// Whoever swaps it back to `.max` owns the one wake-up signal.
        let wakeHelperAt = Atomic<Int>(.max)
        let wake = DispatchSemaphore(value: 0)
        let helperDone = DispatchSemaphore(value: 0)
        private let cancelled = Atomic<Bool>(false)
        /// Blocks the helper decoded, and times it slept for room (what tests check the
        /// sharing with): counted by the helper alone, stored once it stops.
        let helperBlockCount = Atomic<Int>(0)
        let helperSleepCount = Atomic<Int>(0)
        /// Set by the helper once it has decoded its first block (what a trial's helped half
        /// waits for).
        let helperHasDecoded = Atomic<Bool>(false)

        init(segment: Segment, start: Int, end: Int) {
            self.segment = segment
            self.end = end
            nextClaim = Atomic(start)
            taken = Atomic(start)
            slots = (0..<BlockReadAhead.slotCount).map { _ in Slot() }
        }

        /// Claims and decodes blocks until every block is claimed, a block fails, or the scan
        /// cancels.
        func help() {
            var blocks = 0, sleeps = 0
            defer {
                helperBlockCount.store(blocks, ordering: .relaxed)
                helperSleepCount.store(sleeps, ordering: .relaxed)
                helperDone.signal()
            }
            while true {
                let block = nextClaim.load(ordering: .relaxed)
                if block >= end || cancelled.load(ordering: .relaxed) { return }
                if block - taken.load(ordering: .acquiring) >= BlockReadAhead.slotCount {
                    if sleepUntilRoom(for: block) { sleeps += 1 }
                    continue
                }
                guard nextClaim.compareExchange(expected: block, desired: block + 1, ordering: .relaxed).exchanged else {
                    continue  // the scan took it
                }
                guard decode(block) else { return }
                if blocks == 0 { helperHasDecoded.store(true, ordering: .relaxed) }
                blocks += 1
            }
        }

        /// Decodes `block`, which the caller claimed, into its slot and publishes it; returns
        /// whether it decoded (a failure is published as the block's error).
        func decode(_ block: Int) -> Bool {
            let slot = slots[block % BlockReadAhead.slotCount]
            var decoded = true
            do {
                slot.view = try segment.block(block, cached: false)
            } catch {
                slot.error = error
                decoded = false
            }
            slot.published.store(block, ordering: .releasing)
            return decoded
        }

        /// Sleeps until the scan has taken half the ring ahead of `block`, or cancels; returns
        /// whether it slept.
        private func sleepUntilRoom(for block: Int) -> Bool {
            let target = block - BlockReadAhead.slotCount / 2
            wakeHelperAt.store(target, ordering: .sequentiallyConsistent)
            if taken.load(ordering: .sequentiallyConsistent) >= target || cancelled.load(ordering: .sequentiallyConsistent) {
                // No need to sleep, unless the scan or `cancel` already swapped the target out:
                // then its signal is on the way and must be consumed.
                if wakeHelperAt.compareExchange(expected: target, desired: .max, ordering: .sequentiallyConsistent).exchanged { return false }
            }
            wake.wait()
            return true
        }

        /// Stops the helper and waits until it has stopped.
        /// - Precondition: the helper was started.
        func cancel() {
            guard !cancelled.exchange(true, ordering: .sequentiallyConsistent) else { return }
            if wakeHelperAt.exchange(.max, ordering: .sequentiallyConsistent) != .max { wake.signal() }
            helperDone.wait()
        }
    }
}
