import Foundation
import Testing
@testable import LayerStore

/// Random damage to every kind of file: opening and reading either give the right values or a
/// typed error — never a crash, never a wrong value.
@Suite struct CorruptionSweepTests {
    /// A store with flushed segments, manifests and an unflushed WAL, and its expected contents.
    /// Also returns the contents after each write since the flush: a cut-off WAL tail may roll
    /// the store back to any of these (a consistent prefix), and to nothing older.
    func makeStore(_ dir: TemporaryDirectory) throws -> (path: String, expected: [String: String], prefixes: [[String: String]]) {
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions { $0.blockByteCountTarget = 512 })
        var expected: [String: String] = [:]
        var prefixes: [[String: String]] = []
        for i in 0..<120 {
            let value = String(repeating: "v\(i)-", count: 1 + i % 13)
            try store.put(value, forKey: "key-\(i)", in: "d")
            expected["key-\(i)"] = value
            if i == 80 { try store.flush() }
            if i >= 80 { prefixes.append(expected) }
        }
        for i in stride(from: 0, to: 120, by: 7) {
            try store.delete(forKey: "key-\(i)", in: "d")
            expected["key-\(i)"] = nil
            prefixes.append(expected)
        }
        try store.close()
        return (path, expected, prefixes)
    }

    /// Everything the store returns, or `nil` if a read failed with a typed error.
    func contents(_ store: Store) -> [String: String]? {
        do {
            var all: [String: String] = [:]
            for record in try store.snapshot().records(in: "d") {
                all[String(decoding: record.key, as: UTF8.self)] = String(decoding: record.value, as: UTF8.self)
            }
            for i in 0..<120 { _ = try store.string(forKey: "key-\(i)", in: "d") }
            return all
        } catch {
            return nil
        }
    }

    enum Outcome { case rightValues, typedError }

    /// Opens (read-only and as writer) and reads everything; fails the test on a wrong value.
    func check(_ path: String, _ expected: [String: String], _ label: String) -> Outcome {
        var outcome = Outcome.rightValues
        for readOnly in [true, false] {
            do {
                var options = testOptions()
                options.readOnly = readOnly
                options.blockVerification = .everyRead
                let store = try Store(path: path, options: options)
                for i in 0..<120 {
                    do {
                        let got = try store.string(forKey: "key-\(i)", in: "d")
                        #expect(got == expected["key-\(i)"], "\(label): wrong value for key-\(i)")
                    } catch { outcome = .typedError }
                }
                do {
                    for record in try store.snapshot().records(in: "d") {
                        let key = String(decoding: record.key, as: UTF8.self)
                        #expect(expected[key] == String(decoding: record.value, as: UTF8.self), "\(label): scan gave a wrong value for \(key)")
                    }
                } catch { outcome = .typedError }
                try? store.close()
            } catch {
                outcome = .typedError
            }
        }
        return outcome
    }

    @Test func aDamagedWALRollsBackToAConsistentPrefixOrFailsTyped() throws {
        let dir = TemporaryDirectory()
        let (path, _, prefixes) = try makeStore(dir)
        let pristine = dir.files(under: "s").map { ($0, ByteSurgery.read(path + "/" + $0)) }
        let wal = try #require(pristine.first { $0.0.hasPrefix("wal/") })
        var rng = SeededRandom(seed: 4242)
        var typed = 0, rolledBack = 0
        for round in 0..<80 {
            for (name, bytes) in pristine { ByteSurgery.write(path + "/" + name, bytes) }
            var damaged = wal.1
            if round % 2 == 0 {
                damaged = Array(damaged.prefix(Int.random(in: 0..<damaged.count, using: &rng)))
            } else {
                damaged[Int.random(in: 64..<damaged.count, using: &rng)] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            }
            ByteSurgery.write(path + "/" + wal.0, damaged)
            var ro = testOptions()
            ro.readOnly = true
            guard let store = try? Store(path: path, options: ro), let got = contents(store) else { typed += 1; continue }
            #expect(prefixes.contains(got), "round \(round): the store is not a prefix of its history")
            if got != prefixes.last { rolledBack += 1 }
        }
        // A flipped bit in a record that later records prove durable is always caught.
        #expect(typed > 0)
        #expect(rolledBack > 0)  // truncations: a lost tail is indistinguishable from a crash
    }

    @Test(arguments: ["seg", "MANIFEST"])
    func randomDamageNeverYieldsAWrongValue(kind: String) throws {
        let dir = TemporaryDirectory()
        let (path, expected, _) = try makeStore(dir)
        let pristine = dir.files(under: "s").map { ($0, ByteSurgery.read(path + "/" + $0)) }
        let targets = pristine.filter { $0.0.contains(kind == "seg" ? ".seg" : kind) && !$0.1.isEmpty }
        try #require(!targets.isEmpty)
        var rng = SeededRandom(seed: UInt64(kind.utf8.count) * 7919)
        var errors = 0, clean = 0
        for round in 0..<60 {
            // Restore everything, then damage one file of the kind.
            let existing = Set(dir.files(under: "s"))
            for name in existing where !pristine.contains(where: { $0.0 == name }) { try? FileManager.default.removeItem(atPath: path + "/" + name) }
            for (name, bytes) in pristine { ByteSurgery.write(path + "/" + name, bytes) }
            let (name, bytes) = targets[Int.random(in: 0..<targets.count, using: &rng)]
            var damaged = bytes
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    damaged[Int.random(in: 0..<damaged.count, using: &rng)] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                }
            case 1:
                let at = Int.random(in: 0..<damaged.count, using: &rng)
                for i in at..<min(damaged.count, at + Int.random(in: 1...64, using: &rng)) { damaged[i] = UInt8.random(in: 0...255, using: &rng) }
            default:
                damaged = Array(damaged.prefix(Int.random(in: 0..<damaged.count, using: &rng)))
            }
            ByteSurgery.write(path + "/" + name, damaged)
            switch check(path, expected, "round \(round) \(name)") {
            case .typedError: errors += 1
            case .rightValues: clean += 1
            }
        }
        // Segment damage is always noticed; damage to the fallback manifest copy may not matter.
        #expect(errors + clean == 60)
        #expect(errors > 0 || kind == "MANIFEST")
    }
}
