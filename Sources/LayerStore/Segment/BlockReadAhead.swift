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

    /// Starts decoding `segment`'s blocks `start ..< blockCount` ahead.
    /// - Parameter startsHelper: `false` leaves every block to the scan (tests of the scan's
    ///   own share).
    init(segment: Segment, from start: Int, startsHelper: Bool = true) {
        state = State(segment: segment, start: start, end: Int(segment.layout.blockCount))
        position = start
        let state = self.state
        if startsHelper {
            DispatchQueue(label: "LayerStore.readAhead").async { state.help() }
        } else {
            state.helperDone.signal()
        }
    }

    deinit {
        state.cancel()
    }

    /// Stops the helper and waits for it; returns how many blocks it decoded and how many
    /// times it slept for room.
    func stopHelper() -> (blocks: Int, sleeps: Int) {
        state.cancel()
        return (state.helperBlockCount.load(ordering: .relaxed), state.helperSleepCount.load(ordering: .relaxed))
    }

    /// The next block, in order, or `nil` after the last one.
    func next() throws(StoreError) -> BlockView? {
        let block = position
        guard block < state.end else { return nil }
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
        func cancel() {
            guard !cancelled.exchange(true, ordering: .sequentiallyConsistent) else { return }
            if wakeHelperAt.exchange(.max, ordering: .sequentiallyConsistent) != .max { wake.signal() }
            helperDone.wait()
        }
    }
}
