//! Decompressed blocks of cold (LZ4) segments, shared by a store's readers and bounded in bytes.
//!
//! A reader holds the `DecodedBlock` it was handed for as long as it uses the bytes (a value
//! handed out zero-copy points into it), so eviction only drops the cache's reference: memory
//! is freed when the last reader lets go. Eviction is CLOCK (second chance): cheap, and close
//! to LRU for point reads.
//!
//! Unsafe code: a decoded block owns one raw allocation, freed in deinit.

import Synchronization

/// One decompressed block; its bytes live as long as the object.
final class DecodedBlock: @unchecked Sendable {
    // Safe to share: written once (by the decompression that creates it), read-only afterwards.
    private let storage: UnsafeMutableRawBufferPointer

    /// Decompresses `stored` into a new block of `rawByteCount` bytes; `nil` if it fails.
    init?(decompressing stored: UnsafeRawBufferPointer, rawByteCount: Int, pool: PoolAllocator = .shared) {
        let storage = pool.allocate(max(rawByteCount, 1))
        guard LZ4Block.decompress(stored, into: UnsafeMutableRawBufferPointer(rebasing: storage[0..<rawByteCount])) else {
            pool.release(storage)
            return nil
        }
        self.storage = storage
        self.pool = pool
        self.byteCount = rawByteCount
    }

    private let pool: PoolAllocator

    deinit { pool.release(storage) }

    /// The block's size in bytes.
    let byteCount: Int

    /// The block's bytes. Valid while `self` is alive.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<byteCount]) }
}

/// A bounded cache of decoded blocks.
final class BlockCache: @unchecked Sendable {
    struct Key: Hashable {
        var segment: UInt64
        var block: Int
    }

    private final class Slot {
        let block: DecodedBlock
        var referenced = true
        init(_ block: DecodedBlock) { self.block = block }
    }

    // Safe to share: every var is touched only with `lock` held.
    private let lock = Lock()
    private var slots: [Key: Slot] = [:]
    /// Positions on the clock; `nil` marks a hole left by an eviction.
    private var clock: [Key?] = []
    private var hand = 0
    private var byteCount = 0
    /// The most bytes of decoded blocks the cache keeps.
    let byteCountMax: Int
    private let hitCount = Atomic<Int>(0)
    private let missCount = Atomic<Int>(0)

    init(byteCountMax: Int) {
        self.byteCountMax = byteCountMax
    }

    /// The cached block, if any.
    func block(_ key: Key) -> DecodedBlock? {
        let found: DecodedBlock? = lock.withLock {
            guard let slot = slots[key] else { return nil }
            slot.referenced = true
            return slot.block
        }
        if found == nil { missCount.wrappingAdd(1, ordering: .relaxed) } else { hitCount.wrappingAdd(1, ordering: .relaxed) }
        return found
    }

    /// Adds a block, evicting others to stay within the bound.
    func insert(_ block: DecodedBlock, for key: Key) {
        guard block.byteCount <= byteCountMax else { return }
        lock.withLock {
            guard slots[key] == nil else { return }
            // The new key takes the place of the first victim on the clock (O(1)); further
            // victims, if the block is larger, leave holes that later inserts refill.
            var place: Int?
            while byteCount + block.byteCount > byteCountMax, let victim = evictOne() {
                if place == nil { place = victim } else { clock[victim] = nil }
            }
            slots[key] = Slot(block)
            if let place { clock[place] = key } else if let hole = clock.firstIndex(of: nil) { clock[hole] = key } else { clock.append(key) }
            byteCount += block.byteCount
        }
    }

    /// (hits, misses) since creation.
    var statistics: (hits: Int, misses: Int) { (hitCount.load(ordering: .relaxed), missCount.load(ordering: .relaxed)) }

    /// Evicts the next unreferenced block on the clock; returns its position (now free).
    private func evictOne() -> Int? {
        guard !slots.isEmpty else { return nil }
        while true {
            if hand >= clock.count { hand = 0 }
            let position = hand
            hand += 1
            guard let key = clock[position], let slot = slots[key] else { continue }
            if slot.referenced {
                slot.referenced = false
                continue
            }
            slots[key] = nil
            clock[position] = nil
            byteCount -= slot.block.byteCount
            return position
        }
    }
}
