//! Running a body on N OS threads at once and collecting their errors. Threads, not tasks:
//! the engines' calls block (fsync, mutexes, page faults), and the readers-under-writes phase
//! needs 128 truly concurrent readers, which a cooperative pool of 2 threads would not give.

import Foundation
import Synchronization

/// Starts `count` threads running `body(index)`, waits for all, rethrows the first error.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    let errors = Mutex<[any Error]>([])
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            do { try body(index) } catch { errors.withLock { $0.append(error) } }
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
    if let first = errors.withLock({ $0.first }) { throw first }
}

/// A flag threads poll to stop.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func stop() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}
