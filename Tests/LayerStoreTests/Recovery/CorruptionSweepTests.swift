import Foundation
import Testing
@testable import LayerStore

/// Random damage to every kind of file: bit flips, byte overwrites, zeroed runs and
/// truncations. Each damaged store is opened read-only and as the writer, every key is read,
/// every dimension scanned, and `verify` run. Every read gives the right value or a typed
/// error, never a wrong value (nor a crash); and whenever a read failed with `corrupted`,
/// `verify` reports damage.
///
/// Scale: `LAYERSTORE_CORRUPTIONS=N` damages per file kind (default 24; `tools/corrupt.sh`
/// runs thousands). Each kind prints its counts.
@Suite struct CorruptionSweepTests {
    /// The kinds of file damaged, each with how its files are picked from the store.
    enum Kind: String, CaseIterable, CustomStringConvertible {
        case wal, segment, lz4Segment, manifest
        var description: String { rawValue }

        func matches(_ name: String) -> Bool {
            switch self {
            case .wal: name.hasPrefix("wal/") && name.hasSuffix(".wal")
            case .segment: name.hasPrefix("dims/d/") && name.hasSuffix(".seg")
            case .lz4Segment: name.hasPrefix("dims/z/") && name.hasSuffix(".seg")
            case .manifest: name.hasPrefix("MANIFEST-")
            }
        }
    }

    static var damageCount: Int {
        ProcessInfo.processInfo.environment["LAYERSTORE_CORRUPTIONS"].flatMap(Int.init) ?? 24
    }

    @Test(arguments: Kind.allCases)
    func randomDamageGivesTheRightValueOrATypedError(kind: Kind) throws {
        let dir = TemporaryDirectory("sweep")
        let sample = try SampleStore.make(at: dir.child("s"))
        let targets = sample.pristine.filter { kind.matches($0.name) }
        try #require(!targets.isEmpty, "the sample store has no \(kind) file")
        // A lost WAL tail looks like a crash: the store may roll back to a consistent prefix.
        // Damage anywhere else must never change what a read returns.
        let allowed = kind == .wal ? sample.prefixes : [sample.expected]
        var rng = SeededRandom(seed: 0x5EED_0000 + UInt64(kind.rawValue.utf8.count))
        var tally = Tally()
        for round in 0..<Self.damageCount {
            sample.restore()
            let (name, bytes) = targets[Int.random(in: 0..<targets.count, using: &rng)]
            let (damaged, how) = Damage.random(bytes, using: &rng)
            // Zeros written over zeros, or a byte overwritten with itself, damage nothing.
            if damaged == bytes { tally.unchanged += 1 }
            ByteSurgery.write(sample.path + "/" + name, damaged)
            let label = "\(kind) round \(round): \(how) of \(name)"
            tally.add(StoreSweep.check(sample, allowed: allowed, label: label))
        }
        print("corruption sweep: \(kind): \(tally.rounds) corruptions (\(tally.unchanged) left the bytes as they were): "
              + "\(tally.right) right values, \(tally.typed) typed errors, \(tally.detected) detected by verify, "
              + "\(tally.rolledBack) rolled back to an earlier prefix; \(tally.wrong) wrong values")
        #expect(tally.wrong == 0)
        #expect(tally.rounds == Self.damageCount)
        // Segment and WAL damage that changes checked bytes is seen; with few rounds, only check
        // that some damage was caught at all.
        if Self.damageCount >= 20 && kind != .manifest { #expect(tally.typed > 0) }
    }

    struct Tally {
        var rounds = 0, unchanged = 0, right = 0, typed = 0, detected = 0, rolledBack = 0, wrong = 0
        mutating func add(_ r: StoreSweep.Result) {
            rounds += 1
            if r.typedError { typed += 1 } else { right += 1 }
            if r.verifyFoundDamage { detected += 1 }
            if r.rolledBack { rolledBack += 1 }
            wrong += r.wrongValues
        }
    }
}

/// Random damage to one file's bytes.
enum Damage {
    /// One random damage: 1–4 bit flips, an overwrite of 1–64 random bytes, a zeroed run of up
    /// to 512 bytes (a lost sector), or a truncation. Positions favour the written part of a
    /// file that has a long zero tail (a preallocated WAL), but also hit the tail.
    static func random(_ bytes: [UInt8], using rng: inout SeededRandom) -> ([UInt8], String) {
        guard !bytes.isEmpty else { return (bytes, "nothing") }
        var out = bytes
        let written = (bytes.lastIndex { $0 != 0 } ?? 0) + 1
        func position() -> Int {
            let limit = Int.random(in: 0..<5, using: &rng) == 0 ? bytes.count : min(bytes.count, written + 64)
            return Int.random(in: 0..<limit, using: &rng)
        }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            var at: [Int] = []
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let p = position()
                out[p] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                at.append(p)
            }
            return (out, "bit flips at \(at)")
        case 1:
            let p = position()
            let n = Int.random(in: 1...64, using: &rng)
            for i in p..<min(out.count, p + n) { out[i] = UInt8.random(in: 0...255, using: &rng) }
            return (out, "\(n) random bytes at \(p)")
        case 2:
            let p = position()
            let n = Int.random(in: 1...512, using: &rng)
            for i in p..<min(out.count, p + n) { out[i] = 0 }
            return (out, "\(n) zero bytes at \(p)")
        default:
            let n = Int.random(in: 0..<min(bytes.count, written + 64), using: &rng)
            return (Array(out.prefix(n)), "truncation to \(n) bytes")
        }
    }
}

/// Reads a (possibly damaged) store every way a user can, and judges what came back.
enum StoreSweep {
    struct Result {
        var typedError = false
        var verifyFoundDamage = false
        var rolledBack = false
        var wrongValues = 0
    }

    /// Read-only open and reads, then `verify`, then a writer open and reads (a writer open
    /// may truncate a torn tail, so it comes last).
    /// - Parameter strict: a value no allowed state has is an issue. Not for crafted files
    ///   whose checksums were recomputed: such a file is as valid as a written one, and may
    ///   hold other values; there only typed errors and the absence of crashes count.
    static func check(_ sample: SampleStore, allowed: [SampleStore.Model], label: String, strict: Bool = true) -> Result {
        var result = Result()
        var corruptedSeen = false
        for readOnly in [true, false] {
            var options = testOptions()
            options.readOnly = readOnly
            options.blockVerification = .everyRead
            let mode = readOnly ? "read-only" : "writer"
            do {
                let store = try Store(path: sample.path, options: options)
                defer { try? store.close() }
                let (wrong, failure, rolledBack) = readEverything(store, sample: sample, allowed: allowed,
                                                                  label: "\(label), \(mode)", strict: strict)
                result.wrongValues += wrong
                if rolledBack { result.rolledBack = true }
                if let failure {
                    result.typedError = true
                    if failure.code == .corrupted && readOnly { corruptedSeen = true }
                }
            } catch {
                result.typedError = true
                if error.code == .corrupted && readOnly { corruptedSeen = true }
            }
            if readOnly {
                do {
                    let report = try Verifier.verify(store: sample.path)
                    result.verifyFoundDamage = report.hasDamage
                } catch {
                    // Only a store verify cannot recognize at all (no manifest left) may throw.
                    result.verifyFoundDamage = error.code == .notAStore || error.code == .corrupted
                }
                if corruptedSeen && !result.verifyFoundDamage {
                    Issue.record("\(label): a read failed with `corrupted` but verify reported no damage")
                    result.wrongValues += 1
                }
            }
        }
        return result
    }

    /// Scans every dimension and reads every key ever written. The scans must show one of the
    /// `allowed` states, and the point reads must agree with the scans (or, when a scan failed,
    /// with some allowed state). Returns the count of wrong values, the first typed error,
    /// and whether the store showed an earlier state than the newest.
    static func readEverything(_ store: Store, sample: SampleStore, allowed: [SampleStore.Model], label: String,
                               strict: Bool = true) -> (wrong: Int, failure: StoreError?, rolledBack: Bool)
    {
        var wrong = 0
        var failure: StoreError?
        var scanned: SampleStore.Model? = [:]
        for dim in SampleStore.dimensions {
            do {
                var seen: [String: String] = [:]
                for record in try store.snapshot().records(in: dim) {
                    seen[String(decoding: record.key, as: UTF8.self)] = String(decoding: record.value, as: UTF8.self)
                }
                if !seen.isEmpty { scanned?[dim] = seen }
            } catch {
                failure = failure ?? error
                scanned = nil
            }
        }
        var rolledBack = false
        if let scanned {
            if !allowed.contains(where: { normalized($0) == scanned }) {
                if strict { Issue.record("\(label): the scans show a state the store never had") }
                wrong += 1
            } else if normalized(allowed.last!) != scanned {
                rolledBack = true
            }
        }
        // A scan from a key in the middle: it seeks through the block table's first keys.
        for (dim, prefix) in [("d", "key-05"), ("z", "cold-04")] {
            do {
                var seen: [String: String] = [:]
                for record in try store.snapshot().records(in: dim, prefix: Array(prefix.utf8)) {
                    seen[String(decoding: record.key, as: UTF8.self)] = String(decoding: record.value, as: UTF8.self)
                }
                let fine = scanned.map { seen == ($0[dim] ?? [:]).filter { $0.key.hasPrefix(prefix) } }
                    ?? allowed.contains { seen == ($0[dim] ?? [:]).filter { $0.key.hasPrefix(prefix) } }
                if !fine {
                    if strict { Issue.record("\(label): the scan of \(dim) from \(prefix) is wrong") }
                    wrong += 1
                }
            } catch {
                failure = failure ?? error
            }
        }
        for dim in SampleStore.dimensions {
            for key in sample.keys[dim] ?? [] {
                do {
                    let got = try store.string(forKey: key, in: dim)
                    let fine = scanned.map { got == $0[dim]?[key] } ?? allowed.contains { $0[dim]?[key] == got }
                    if !fine {
                        if strict { Issue.record("\(label): wrong value for \(dim)/\(key): \(got.map { String($0.prefix(40)) } ?? "nil")") }
                        wrong += 1
                    }
                } catch {
                    failure = failure ?? error
                }
            }
        }
        return (wrong, failure, rolledBack)
    }

    /// A model without empty dimensions (a scan of a dimension whose keys are all deleted
    /// shows nothing).
    static func normalized(_ m: SampleStore.Model) -> SampleStore.Model {
        m.filter { !$0.value.isEmpty }
    }
}
