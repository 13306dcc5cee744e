import Foundation
import Testing
@testable import LayerStore

@Suite struct StatePublisherTests {
    /// A state told apart by its manifest generation; its memtable dies with it.
    func state(_ generation: UInt64) -> StoreState {
        var manifest = Manifest.initial(storeID: 7)
        manifest.generation = generation
        return StoreState(manifest: manifest, segments: SegmentsByDimension(), memtables: [Memtable()])
    }

    @Test func aPinnedStateOutlivesItsReplacementUntilUnpinned() {
        let publisher = StatePublisher(state(1))
        weak var first: StoreState?
        let pin = publisher.pin()
        first = pin.state.takeUnretainedValue()
        #expect(pin.slot >= 0, "an uncontended pin takes the fast path")
        publisher.update { _ in state(2) }
        publisher.update { _ in state(3) }
        // The pinned state is retired, not released; the unpinned second one is gone.
        #expect(publisher.retiredCount == 1)
        #expect(first != nil)
        #expect(pin.state.takeUnretainedValue().manifest.generation == 1)
        publisher.unpin(pin)
        publisher.update { _ in state(4) }
        #expect(publisher.retiredCount == 0)
        #expect(first == nil, "released once no slot holds it")
        #expect(publisher.load().manifest.generation == 4)
    }

    @Test func aNestedPinOnOneThreadTakesTheSlowPathAndBothStayValid() {
        let publisher = StatePublisher(state(1))
        let outer = publisher.pin()
        publisher.update { _ in state(2) }
        let inner = publisher.pin()
        #expect(inner.slot == -1, "the thread's slot is taken by the outer pin")
        #expect(outer.state.takeUnretainedValue().manifest.generation == 1)
        #expect(inner.state.takeUnretainedValue().manifest.generation == 2)
        publisher.update { _ in state(3) }
        #expect(inner.state.takeUnretainedValue().manifest.generation == 2, "a retained pin survives")
        publisher.unpin(inner)
        publisher.unpin(outer)
        publisher.update { _ in state(4) }
        #expect(publisher.retiredCount == 0)
    }

    /// Readers pin and read while a writer publishes thousands of states: every read sees a live
    /// state (a freed one would crash here, and AddressSanitizer, which CI runs this under,
    /// names any use after free), generations never go backwards for a reader, and once
    /// the readers stop every replaced state is released.
    @Test func readersNeverSeeAFreedStateWhileAWriterPublishes() {
        let publisher = StatePublisher(state(0))
        let publications: UInt64 = 3_000
        let readerCount = 4
        let done = Locked(false)
        let failures = Locked(0)
        let reads = Locked(0)
        let group = DispatchGroup()
        for _ in 0..<readerCount {
            group.enter()
            Thread {
                var last: UInt64 = 0
                var count = 0
                while !done.withLock({ $0 }) || count == 0 {
                    let pin = publisher.pin()
                    let (generation, memtables) = pin.state._withUnsafeGuaranteedRef { ($0.manifest.generation, $0.memtables.count) }
                    if generation < last || memtables != 1 { failures.withLock { $0 += 1 } }
                    last = generation
                    publisher.unpin(pin)
                    count += 1
                }
                reads.withLock { $0 += count }
                group.leave()
            }.start()
        }
        for generation in 1...publications {
            publisher.update { old in
                #expect(old.manifest.generation == generation - 1)
                return state(generation)
            }
        }
        done.withLock { $0 = true }
        group.wait()
        #expect(failures.withLock { $0 } == 0)
        #expect(reads.withLock { $0 } >= readerCount)
        publisher.update { _ in state(publications + 1) }
        #expect(publisher.retiredCount == 0)
        #expect(publisher.load().manifest.generation == publications + 1)
    }

    @Test func storeReadsStayCorrectAcrossFlushesAndCompactions() throws {
        let dir = TemporaryDirectory()
        var options = StoreOptions()
        options.flushInBackground = false
        let store = try Store(path: dir.path, options: options)
        let keys = (0..<200).map { Array("key-\($0)".utf8) }
        let stop = Locked(false)
        let wrong = Locked(0)
        let group = DispatchGroup()
        for _ in 0..<2 {
            group.enter()
            Thread {
                while !stop.withLock({ $0 }) {
                    for key in keys {
                        // A key holds its own name as value in every version, or is missing.
                        do {
                            let value = try store.withValue(forKey: key, in: "d") { span in span.withUnsafeBytes { Array($0) } }
                            if let value, value != key { wrong.withLock { $0 += 1 } }
                        } catch {
                            wrong.withLock { $0 += 1 }
                        }
                    }
                }
                group.leave()
            }.start()
        }
        for round in 0..<6 {
            try store.write { batch in for key in keys { try batch.put(key, forKey: key, in: "d") } }
            try store.flush()
            if round % 2 == 1 { _ = try store.compact() }
        }
        stop.withLock { $0 = true }
        group.wait()
        #expect(wrong.withLock { $0 } == 0)
        for key in keys { #expect(try store.value(forKey: key, in: "d") == key) }
        try store.close()
    }
}
