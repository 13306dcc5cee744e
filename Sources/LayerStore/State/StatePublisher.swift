//! The current ``StoreState``, published so that point reads use it without a lock and without
//! touching a shared reference count.
//!
//! Why not a lock and a retain: every read would write the lock's and the state's cache lines,
//! and two cores reading the same store would pass those lines back and forth on every read
//! (measured: two threads read slower than one). Here a reader writes only its own slot.
//!
//! The scheme is hazard pointers (Michael, 2004) with one slot per thread, found by a
//! thread-local index:
//! - A reader loads the published state, claims its slot with that state's address (a
//!   compare-exchange, so a slot shared by two threads, or a read nested in another read on the
//!   same thread, is noticed), then loads the published state again: if it changed, the reader
//!   lets go and tries again. Otherwise the state cannot be freed until the slot is cleared.
//! - A writer swaps the published state and retires the old one; it releases a retired state
//!   only when no slot holds it. Both steps run under `lock`, so a retired state held by a slow
//!   reader is released by a later publication (or when the publisher goes away).
//! - A reader that cannot claim a slot takes the slow path: `lock`, then a plain retain.
//! All slot and publication accesses are sequentially consistent: the reader's claim must be
//! ordered before its second load, and the writer's swap before its scan of the slots.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A state pinned for one read: it stays alive until ``StatePublisher/unpin(_:)``.
@usableFromInline
struct StatePin {
    /// The slot holding the state, or `-1` when the pin is a retain (the slow path).
    let slot: Int
    let state: Unmanaged<StoreState>
}

/// One hazard slot, 128 bytes: in an array of them, two slots' addresses never share a cache
/// line (or an adjacent-line prefetch pair). The padding comes first, so that the first
/// slot's address is 120 bytes past whatever precedes the array.
private struct HazardSlot: ~Copyable, Sendable {
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    let address = Atomic<UInt>(0)
}

/// The published state of one store.
final class StatePublisher: @unchecked Sendable {
    // Safe to share: `published` and the slots are atomics; `retired` is only touched with
    // `lock` held.
    /// The published state's address; the publisher holds one retain of it.
    private let published: Atomic<UInt>
    private let lock = Lock()
    /// States replaced but still held by a reader's slot; each holds one retain.
    private var retired: [Unmanaged<StoreState>] = []

    /// Slots per store: enough that threads rarely share one; a thread that finds its slot
    /// taken reads through the slow path, which is correct, only slower.
    static let slotCount = 64
    /// The slots, inside this object, after every other property: a reader writes only its
    /// own slot, and reaching it from `self` writes no reference count. One allocation, where
    /// 64 slot objects cost a cold open 9% of its instructions.
    private let slots: InlineArray<64, HazardSlot>

    init(_ state: StoreState) {
        published = Atomic(UInt(bitPattern: Unmanaged.passRetained(state).toOpaque()))
        slots = InlineArray { _ in HazardSlot() }
        assert(slots.count == StatePublisher.slotCount)
    }

    deinit {
        // No reader can be inside a read: each holds a reference to the store that owns `self`.
        Unmanaged<StoreState>.fromOpaque(UnsafeRawPointer(bitPattern: published.load(ordering: .sequentiallyConsistent))!).release()
        for state in retired { state.release() }
    }

    /// The published state, retained (for snapshots, which keep it).
    func load() -> StoreState {
        let pin = self.pin()
        defer { unpin(pin) }
        return pin.state.takeUnretainedValue()
    }

    /// Pins the published state for one read. Pair with ``unpin(_:)``; nothing in between may
    /// pin again on this thread expecting the fast path (it would take the slow path).
    func pin() -> StatePin {
        let slotIndex = ThreadIndex.current % StatePublisher.slotCount
        var claimed: UInt?
        for _ in 0..<4 {
            let address = published.load(ordering: .sequentiallyConsistent)
            guard slots[slotIndex].address.compareExchange(expected: 0, desired: address, ordering: .sequentiallyConsistent).exchanged else {
                break
            }
            if published.load(ordering: .sequentiallyConsistent) == address {
                claimed = address
                break
            }
            // A writer published meanwhile: the state claimed may already be released.
            slots[slotIndex].address.store(0, ordering: .sequentiallyConsistent)
        }
        if let claimed {
            return StatePin(slot: slotIndex, state: Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: claimed)!))
        }
        return lock.withLock {
            let state = Unmanaged<StoreState>.fromOpaque(UnsafeRawPointer(bitPattern: published.load(ordering: .sequentiallyConsistent))!)
            _ = state.retain()
            return StatePin(slot: -1, state: state)
        }
    }

    /// Ends a read begun by ``pin()``.
    func unpin(_ pin: StatePin) {
        if pin.slot < 0 {
            pin.state.release()
        } else {
            assert(slots[pin.slot].address.load(ordering: .relaxed) == UInt(bitPattern: pin.state.toOpaque()))
            slots[pin.slot].address.store(0, ordering: .releasing)
        }
    }

    /// Publishes the state `body` makes of the current one. Runs `body` under the publisher's
    /// lock, so updates are serialised.
    func update<E: Error>(_ body: (StoreState) throws(E) -> StoreState) throws(E) {
        try lock.withLock { () throws(E) in
            let current = Unmanaged<StoreState>.fromOpaque(UnsafeRawPointer(bitPattern: published.load(ordering: .sequentiallyConsistent))!)
            let next = try body(current.takeUnretainedValue())
            let old = published.exchange(UInt(bitPattern: Unmanaged.passRetained(next).toOpaque()), ordering: .sequentiallyConsistent)
            assert(old == UInt(bitPattern: current.toOpaque()))
            retired.append(current)
            reclaimLocked()
        }
    }

    /// Releases every retired state no slot holds.
    private func reclaimLocked() {
        var held = Set<UInt>()
        for i in slots.indices {
            let address = slots[i].address.load(ordering: .sequentiallyConsistent)
            if address != 0 { held.insert(address) }
        }
        retired.removeAll { state in
            guard !held.contains(UInt(bitPattern: state.toOpaque())) else { return false }
            state.release()
            return true
        }
    }

    /// Retired states still waiting for a reader to let go (for tests).
    var retiredCount: Int { lock.withLock { retired.count } }
}

/// A small number per thread, assigned on first use, to spread threads over hazard slots.
enum ThreadIndex {
    private static let next = Atomic<Int>(0)

    /// This thread's index.
    @inline(__always)
    static var current: Int {
        if let value = pthread_getspecific(key) { return Int(bitPattern: value) - 1 }
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue & 0xFFFF_FFFF
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: index + 1))
        return index
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key, nil)
        precondition(result == 0, "pthread_key_create failed: \(result)")
        return key
    }()
}
