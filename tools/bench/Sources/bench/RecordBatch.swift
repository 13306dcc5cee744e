//! The records of one commit, generated before the commit's clock starts, so that every engine
//! is timed on its own work and gets exactly the same bytes.

import LayerStoreWorkload

/// Records to commit together.
struct RecordBatch: Sendable {
    var dimensions: [Int] = []
    var keys: [[UInt8]] = []
    var values: [[UInt8]] = []

    var count: Int { keys.count }
    var valueBytes: Int { values.reduce(0) { $0 + $1.count } }

    /// The workload's records `records` of `dimension`, with values of `valueByteCount` bytes.
    mutating func append(dimension: Int, record: Int, valueByteCount: Int) {
        dimensions.append(dimension)
        keys.append(Workload.key(dimension: dimension, record: record))
        values.append(Workload.value(dimension: dimension, record: record, count: valueByteCount))
    }

    /// Batches of up to `size` records walking `records` (global indices over `recordsPerDimension`) in order.
    static func batches(of size: Int, records: Range<Int>, recordsPerDimension: Int, firstRecord: Int = 0,
                        valueByteCount: Int) -> UnfoldSequence<RecordBatch, Int> {
        sequence(state: records.lowerBound) { next in
            guard next < records.upperBound else { return nil }
            var batch = RecordBatch()
            let end = min(records.upperBound, next + size)
            for i in next..<end {
                batch.append(dimension: i / recordsPerDimension, record: firstRecord + i % recordsPerDimension,
                             valueByteCount: valueByteCount)
            }
            next = end
            return batch
        }
    }
}
