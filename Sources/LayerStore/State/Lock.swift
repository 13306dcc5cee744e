//! A mutex and a condition variable on pthreads.
//!
//! Why not `Synchronization.Mutex`: ThreadSanitizer reports false races on it with this toolchain
//! (shared/swift-notes.md §5), and the suite must run clean under TSan. pthread primitives are
//! understood by TSan. The pthread objects live in their own allocation so their address never
//! moves.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A non-recursive mutex.
package final class Lock: @unchecked Sendable {
    // Safe to share: the pthread mutex is the synchronisation itself; its storage never moves.
    fileprivate let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let result = pthread_mutex_init(mutex, nil)
        precondition(result == 0, "pthread_mutex_init failed: \(result)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    package func lock() { pthread_mutex_lock(mutex) }
    @inline(__always)
    package func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the lock held.
    @inline(__always)
    package func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A condition variable used with a ``Lock``.
package final class Condition: @unchecked Sendable {
    // Safe to share: see `Lock`.
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    package init() {
        cond = .allocate(capacity: 1)
        cond.initialize(to: pthread_cond_t())
        let result = pthread_cond_init(cond, nil)
        precondition(result == 0, "pthread_cond_init failed: \(result)")
    }

    deinit {
        pthread_cond_destroy(cond)
        cond.deallocate()
    }

    /// Waits; `lock` must be held and is held again on return. Spurious wake-ups happen: callers
    /// wait in a loop on their predicate.
    package func wait(_ lock: Lock) { pthread_cond_wait(cond, lock.mutex) }
    package func broadcast() { pthread_cond_broadcast(cond) }
    package func signal() { pthread_cond_signal(cond) }
}

/// A value guarded by a ``Lock``.
package final class Locked<Value>: @unchecked Sendable {
    // Safe to share: `value` is only touched with `lock` held.
    private let lock = Lock()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
