//! Verifies and decompresses an LZ4 segment's next blocks on another core while a scan reads
//! the current one.
//!
//! Why: a scan of a cold (LZ4) segment decompressed a block, then walked its records, on one
//! thread: its speed was 1/(1/LZ4 + 1/walk), 2.1 GB/s on small records where LZ4 alone gives
//! 4.8 and the walk alone 3.9. With the decompression a few blocks ahead on the second core,
//! the scan runs at about the slower of the two.
//!
//! How: a ring of chunks, each a few consecutive blocks (a hand-over per 16 KiB block would
//! cost a thread wake-up per 4 µs of work). The producer fills a free chunk and signals it
//! filled; the scan takes filled chunks in order and hands each back once it has moved past it.
//! Two semaphores count the free and the filled chunks, so a chunk is only ever touched by
//! one side at a time, and their signal/wait order publishes its contents.
//!
//! Lifetime: the producer runs on a private queue (an overcommit thread: it runs even when the
//! caller's work fills the shared pool), holding only the shared state. When the scan is done or
//! abandons the segment early, dropping the ``BlockReadAhead`` cancels the producer and waits
//! for it, so no decompression outlives the scan. A block that fails to verify or decompress is
//! handed over as its typed error, at its place in the order, and the producer stops there.

import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Blocks of one segment, from a start block to its end, decoded ahead by a producer thread.
final class BlockReadAhead {
    private let state: State
    /// Blocks handed out so far, and the chunk being handed out.
    private var taken = 0
    private var current: Chunk?
    private var indexInCurrent = 0
    private var chunkIndex = 0

    /// Blocks per chunk: 4 × 16 KiB, about 15 µs of scanning per hand-over.
    static let blocksPerChunk = 4
    /// Chunks in the ring: the producer may run this far ahead.
    static let chunkCount = 4

    /// Whether reading ahead can pay here: a second core to decompress on.
    static let isWorthwhile = sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2

    /// Starts decoding `segment`'s blocks `start ..< blockCount` ahead.
    init(segment: Segment, from start: Int) {
        state = State(segment: segment, start: start, end: Int(segment.layout.blockCount))
        let state = self.state
        DispatchQueue(label: "LayerStore.readAhead").async { state.produce() }
    }

    deinit {
        state.cancel()
    }

    /// The next block, in order, or `nil` after the last one.
    func next() throws(StoreError) -> BlockView? {
        while true {
            if let chunk = current {
                if indexInCurrent < chunk.views.count {
                    indexInCurrent += 1
                    taken += 1
                    return chunk.views[indexInCurrent - 1]
                }
                if let error = chunk.error { throw error }
                // The scan keeps the owners of the blocks it still reads: the chunk can go back.
                current = nil
                state.free.signal()
            }
            guard state.start + taken < state.end else { return nil }
            state.filled.wait()
            current = state.chunks[chunkIndex]
            chunkIndex = (chunkIndex + 1) % Self.chunkCount
            indexInCurrent = 0
        }
    }

    /// A ring slot: the views of consecutive blocks, and the error that ended them, if any.
    final class Chunk {
        var views: [BlockView] = []
        var error: StoreError?
    }

    /// What the producer and the scan share.
    final class State: @unchecked Sendable {
        // Safe to share: a chunk is written by the producer only between `free.wait()` and
        // `filled.signal()`, and read by the scan only between `filled.wait()` and
        // `free.signal()`; the semaphores order those accesses. `cancelled` is atomic.
        let segment: Segment
        let start: Int
        let end: Int
        let chunks: [Chunk]
        /// Counts chunks the producer may fill. Created at 0 and raised, so that no semaphore
        /// is ever below its initial value when it goes (libdispatch traps on that).
        let free = DispatchSemaphore(value: 0)
        let filled = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)
        private let cancelled = Atomic<Bool>(false)

        init(segment: Segment, start: Int, end: Int) {
            self.segment = segment
            self.start = start
            self.end = end
            chunks = (0..<BlockReadAhead.chunkCount).map { _ in Chunk() }
            for _ in 0..<BlockReadAhead.chunkCount { free.signal() }
        }

        /// Fills chunks in ring order until every block is decoded, a block fails, or the scan
        /// cancels.
        func produce() {
            defer { done.signal() }
            var next = start
            var index = 0
            while next < end {
                free.wait()
                if cancelled.load(ordering: .relaxed) { return }
                let chunk = chunks[index]
                chunk.views.removeAll(keepingCapacity: true)
                chunk.error = nil
                let last = min(next + BlockReadAhead.blocksPerChunk, end)
                while next < last {
                    do {
                        chunk.views.append(try segment.block(next, cached: false))
                        next += 1
                    } catch {
                        chunk.error = error
                        filled.signal()
                        return
                    }
                }
                filled.signal()
                index = (index + 1) % BlockReadAhead.chunkCount
            }
        }

        /// Stops the producer and waits until it has stopped.
        func cancel() {
            cancelled.store(true, ordering: .relaxed)
            // Wake a producer waiting for a free chunk (extra signals only raise the count).
            for _ in 0..<BlockReadAhead.chunkCount { free.signal() }
            done.wait()
        }
    }
}
