//! The workload's data for one profile, prepared before any clock starts: the expected read
//! check of every record and the expected XXH3 sum of every dimension, computed once from the
//! generator, so every engine's answers are checked against the same truth.

import CBenchXXHash
import LayerStoreWorkload

/// One profile's records and their expected checks.
final class DataSet: Sendable {
    /// The (possibly scaled) profile.
    let profile: WorkloadProfile
    /// `Workload.touch` of every record's value, indexed by `dimension * recordsPerDimension + record`.
    let touches: [UInt64]
    /// The sum (wrapping) of XXH3-64 of every value, per dimension.
    let hashSums: [UInt64]

    init(profile: WorkloadProfile) {
        self.profile = profile
        var touches = [UInt64](repeating: 0, count: profile.recordCount)
        var sums = [UInt64](repeating: 0, count: profile.dimensionCount)
        for dim in 0..<profile.dimensionCount {
            for rec in 0..<profile.recordsPerDimension {
                let value = Workload.value(dimension: dim, record: rec, count: profile.valueByteCount)
                value.withUnsafeBytes { raw in
                    touches[dim * profile.recordsPerDimension + rec] = Workload.touch(raw)
                    sums[dim] &+= bench_xxh3(raw.baseAddress, raw.count)
                }
            }
        }
        self.touches = touches
        self.hashSums = sums
    }

    /// The record (dimension, record number) of a global index.
    @inline(__always)
    func record(_ index: Int) -> (dimension: Int, record: Int) {
        (index / profile.recordsPerDimension, index % profile.recordsPerDimension)
    }

    /// Keys and expected touches of read pass `pass`: `count` uniform random records.
    func readPass(_ pass: Int, count: Int) -> ReadPass {
        let indices = Workload.randomRecords(pass: pass, count: count, total: profile.recordCount)
        var keys: [[UInt8]] = []
        keys.reserveCapacity(count)
        var dims: [Int] = []
        dims.reserveCapacity(count)
        var expected: [UInt64] = []
        expected.reserveCapacity(count)
        for i in indices {
            let (d, r) = record(i)
            keys.append(Workload.key(dimension: d, record: r))
            dims.append(d)
            expected.append(touches[i])
        }
        return ReadPass(keys: keys, dimensions: dims, expected: expected)
    }
}

/// A prepared sequence of random reads.
struct ReadPass: Sendable {
    var keys: [[UInt8]]
    var dimensions: [Int]
    var expected: [UInt64]
    var count: Int { keys.count }
}
