//! The batches of one WAL file a replay gathers before the memtable inserts them together
//! (``Memtable/applyReplayed(_:workerCount:)``).
//!
//! Why gather while reading: the replay hands each record over right after the reader checked
//! it, while its payload is still in the cache. Noting each operation's dimension then costs
//! little; a pass of its own over a file of 80 MiB read it all from memory again.
//!
//! Invariants: every payload was validated (``isValidBatchPayload(_:count:)``) and stays valid
//! and unchanged while `owners` live; batches follow one another in LSN order.

/// One WAL record's batch.
struct ReplayedBatch {
    /// The record's validated payload.
    var payload: UnsafeRawBufferPointer
    /// Its operation count.
    var count: Int
    /// The LSN of its first operation.
    var firstLSN: LSN
}

/// Batches gathered for one parallel insert, with each operation's dimension.
struct ReplayBatches {
    /// The batches, in LSN order.
    private(set) var batches: [ReplayedBatch] = []
    /// The distinct dimension names, in order of first use (views into the payloads).
    private(set) var names: [ArenaBytes] = []
    /// Operations per dimension, by index into `names`.
    private(set) var operationCounts: [Int] = []
    /// Each operation's dimension, by index into `names`, in LSN order.
    private(set) var dimensionOfOperation: [UInt32] = []
    /// Each batch's one dimension, by index into `names`, or ``mixedDimensions`` if its
    /// operations name more than one: an insert worker skips a batch of a dimension that is
    /// not its own without walking its operations.
    private(set) var dimensionOfBatch: [UInt32] = []
    /// The `dimensionOfBatch` of a batch of several dimensions.
    static let mixedDimensions = UInt32.max
    /// Key and value bytes plus the memtable's per-entry overhead, summed.
    private(set) var byteCount = 0
    /// What keeps the payloads alive (a WAL mapping or copy).
    private(set) var owners: [AnyObject] = []
    private var indexOfName: [ArenaBytes: Int] = [:]
    private var last = -1

    /// Adds a validated batch whose bytes `owner` keeps alive.
    /// - Precondition: the payload passed ``isValidBatchPayload(_:count:)``, and `firstLSN`
    ///   follows the previous batch's last LSN.
    mutating func append(payload: UnsafeRawBufferPointer, count: Int, firstLSN: LSN, owner: AnyObject) {
        if let previous = batches.last {
            precondition(firstLSN == previous.firstLSN + LSN(previous.count), "replayed batches must continue one another")
        }
        if owners.last !== owner { owners.append(owner) }
        batches.append(ReplayedBatch(payload: payload, count: count, firstLSN: firstLSN))
        // The dimension all the batch's operations name so far; -1 before the first, -2 once
        // two differ.
        var batchDimension = -1
        forEachValidatedOperation(payload, count: count) { _, op in
            let name = ArenaBytes(op.dimension)
            if last < 0 || names[last] != name {
                if let known = indexOfName[name] {
                    last = known
                } else {
                    last = names.count
                    names.append(name)
                    indexOfName[name] = last
                    operationCounts.append(0)
                }
            }
            operationCounts[last] += 1
            dimensionOfOperation.append(UInt32(last))
            if batchDimension == -1 { batchDimension = last } else if batchDimension != last { batchDimension = -2 }
            byteCount += op.key.count + op.value.count + Memtable.entryOverheadByteCount
        }
        dimensionOfBatch.append(batchDimension >= 0 ? UInt32(batchDimension) : Self.mixedDimensions)
    }
}
