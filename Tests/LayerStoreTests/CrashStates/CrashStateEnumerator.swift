//! Which disk states to try at one crash point: every "extreme" choice among the operations that
//! are not durable there, and a seeded random sample of the rest (all subsets explode quickly).
//!
//! The extremes, for the volatile operations `V` (in trace order):
//! - all kept; all dropped;
//! - each one alone dropped (the others kept) and each one alone kept (the others dropped);
//!   for a name operation "dropped" is the old directory entry still on disk;
//! - the in-order prefixes: the first `p` kept, the rest dropped (a disk that wrote back in order);
//! - each write torn at a sector boundary `b`: only its pieces before `b` kept, or only those
//!   from `b` on, with the other operations kept; and its pieces before `b` kept with the
//!   operations before it kept and those after it dropped (a crash in the middle of it).
//! Up to `allSubsetsUpTo` volatile operations, every subset kept (the rest dropped) besides.
//! Then `randomSamples` choices where each operation is kept or dropped with even odds, and a
//! write of several pieces is torn (each piece kept with even odds) one time in three.

import Foundation

/// How hard to look: the default run keeps the whole suite fast; the long mode looks at more.
struct CrashStateConfiguration: CustomStringConvertible {
    /// Random choices tried at each crash point, on top of the extremes.
    var randomSamples: Int
    /// The most sector boundaries at which one write is torn (evenly spread); nil: every one.
    var tearBoundariesMax: Int?
    /// Up to this many volatile operations, every subset of them kept (the rest dropped) is
    /// tried, not only the extremes: 2^n states.
    var allSubsetsUpTo: Int
    /// Every how many distinct disks the raw state is also checked by `verify` and a dry-run
    /// `recover`, and the recovered store reopened and verified (1 = every one).
    var verifyEvery: Int
    /// Crash states of a first workload whose recovery (and the commits after it) is itself
    /// crashed at every point: a crash during recovery.
    var recoveryCrashes: Int
    /// The seed of the random choices.
    var seed: UInt64 = 0x5EED_C7A5_4000_0001

    static let standard = CrashStateConfiguration(randomSamples: 8, tearBoundariesMax: 16, allSubsetsUpTo: 4, verifyEvery: 4, recoveryCrashes: 8)
    static let long = CrashStateConfiguration(randomSamples: 64, tearBoundariesMax: nil, allSubsetsUpTo: 10, verifyEvery: 1, recoveryCrashes: 60)

    /// From `LAYERSTORE_CRASH_STATES`: unset or empty for ``standard``, `exhaustive` (or `long`)
    /// for ``long``, a number for the standard mode with that many random choices per crash point.
    static var fromEnvironment: CrashStateConfiguration {
        let value = ProcessInfo.processInfo.environment["LAYERSTORE_CRASH_STATES"] ?? ""
        if value == "exhaustive" || value == "long" { return .long }
        if let samples = Int(value), samples >= 0 {
            var c = CrashStateConfiguration.standard
            c.randomSamples = samples
            return c
        }
        return .standard
    }

    var description: String {
        "random samples per crash point \(randomSamples), tear boundaries per write \(tearBoundariesMax.map(String.init) ?? "all"), all subsets up to \(allSubsetsUpTo) volatile, verify every \(verifyEvery), recoveries crashed \(recoveryCrashes)"
    }
}

struct CrashStateEnumerator {
    let model: DiskModel
    let configuration: CrashStateConfiguration

    /// The fates to try at a crash point whose volatile operations are `volatile`.
    func choices(volatile: [Int], random: inout SeededRandom) -> [[Int: DiskModel.Fate]] {
        guard !volatile.isEmpty else { return [[:]] }
        var out: [[Int: DiskModel.Fate]] = [[:]]
        func all(_ fate: DiskModel.Fate) -> [Int: DiskModel.Fate] {
            Dictionary(uniqueKeysWithValues: volatile.map { ($0, fate) })
        }
        out.append(all(.dropped))
        for index in volatile {
            out.append([index: .dropped])
            if volatile.count > 1 {
                var alone = all(.dropped)
                alone[index] = .kept
                out.append(alone)
            }
        }
        for p in 1..<volatile.count {
            out.append(Dictionary(uniqueKeysWithValues: volatile[p...].map { ($0, .dropped) }))
        }
        for (position, index) in volatile.enumerated() {
            let count = model.pieceCount(index)
            guard count > 1 else { continue }
            for boundary in boundaries(count) {
                out.append([index: .torn((0..<count).map { $0 < boundary })])
                out.append([index: .torn((0..<count).map { $0 >= boundary })])
                var midway = Dictionary(uniqueKeysWithValues: volatile[(position + 1)...].map { ($0, DiskModel.Fate.dropped) })
                midway[index] = .torn((0..<count).map { $0 < boundary })
                out.append(midway)
            }
        }
        if volatile.count <= configuration.allSubsetsUpTo {
            for mask in 0..<(1 << volatile.count) {
                out.append(Dictionary(uniqueKeysWithValues: volatile.enumerated().map { ($1, mask & (1 << $0) != 0 ? .kept : .dropped) }))
            }
        }
        for _ in 0..<configuration.randomSamples {
            var fates: [Int: DiskModel.Fate] = [:]
            for index in volatile {
                let count = model.pieceCount(index)
                if count > 1 && random.next() % 3 == 0 {
                    fates[index] = .torn((0..<count).map { _ in random.next() & 1 == 0 })
                } else {
                    fates[index] = random.next() & 1 == 0 ? .kept : .dropped
                }
            }
            out.append(fates)
        }
        return out
    }

    /// The boundaries (1..<count) at which a write of `count` pieces is torn.
    private func boundaries(_ count: Int) -> [Int] {
        let all = Array(1..<count)
        guard let limit = configuration.tearBoundariesMax, all.count > limit else { return all }
        // Evenly spread, always including the first and the last boundary.
        return (0..<limit).map { all[$0 * (all.count - 1) / max(1, limit - 1)] }
    }
}
