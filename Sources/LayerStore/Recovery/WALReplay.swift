//! Replays the WAL above the manifest's checkpoint into a memtable, on every open
//! (Formats/wal.md § Reading and damage).
//!
//! Rules: files are read in number order; only the files that can hold LSNs above the
//! checkpoint are scanned. Each file's first LSN must continue the previous one. A torn record
//! may only end the last file: a writer truncates it, a read-only opener skips it. A bad record
//! followed by one proving it was durable, a gap in LSNs, or a torn record in an earlier file
//! (the writer syncs a file before starting the next) is damage.

/// The result of scanning a store's WAL.
struct WALReplayResult {
    /// The LSN the next write gets.
    var nextLSN: LSN
    /// Each WAL file present: its number and first LSN, in order.
    var files: [(number: UInt64, baseLSN: LSN)]
    /// The memtable the records went into.
    var memtable: Memtable
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum WALReplay {
    static func replay(
        io: any FileIO, layout: StoreLayout, storeID: UInt64, checkpointLSN: LSN,
        into makeMemtable: (_ walByteCount: Int64) -> Memtable,
        truncateTornTail: Bool, mmap: MmapManager, report: inout RecoveryReport
    ) throws(StoreError) -> WALReplayResult {
        let directory = layout.walDirectory
        let numbers = try io.list(directory).compactMap(WALFormat.fileNumber).sorted()
        var headers: [(number: UInt64, header: WALHeader?, size: Int64)] = []
        for number in numbers {
            let path = directory + "/" + WALFormat.fileName(number)
            let (header, size) = try readHeader(io: io, path: path, number: number, storeID: storeID, isLast: number == numbers.last)
            headers.append((number, header, size))
        }
        // A last file whose header never became durable holds nothing: it is dropped, and a
        // writer removes it once the rest has replayed (its presence is evidence: see the
        // torn-tail check below, which must see it again if this open fails).
        var emptyLast: UInt64?
        if let last = headers.last, last.header == nil {
            headers.removeLast()
            emptyLast = last.number
        }
        var expected = checkpointLSN + 1
        // Skip files that lie wholly at or below the checkpoint: the next file starts at or below it + 1.
        var start = 0
        while start + 1 < headers.count, headers[start + 1].header!.baseLSN <= checkpointLSN + 1 { start += 1 }
        var firstReplayed: LSN?
        // The memtable is made knowing how much WAL there is to replay: a reader sizes its key
        // filter by that, not by the writer's memtable limit.
        let memtable = makeMemtable(headers[start...].reduce(0) { $0 + $1.size })
        // Each file is inserted while the next one is read; everything is in the memtable
        // before this returns or throws.
        // No applier (a dispatch queue, and the runtime's dispatch set-up in a new process)
        // when there is no file to replay: the common open of a cleanly closed store.
        let applier = start < headers.count ? ReplayApplier(memtable: memtable, workerCount: replayWorkerCount) : nil
        defer { applier?.wait() }
        for index in start..<headers.count {
            let (number, header, size) = (headers[index].number, headers[index].header!, headers[index].size)
            let path = directory + "/" + WALFormat.fileName(number)
            if index == start {
                guard header.baseLSN <= expected else {
                    throw StoreError.corrupted("WAL records \(expected)..<\(header.baseLSN) are missing", path: path, offset: 0)
                }
            } else if header.baseLSN != expected {
                throw StoreError.corrupted("WAL file starts at LSN \(header.baseLSN), expected \(expected)", path: path, offset: 0)
            }
            var fileNext = header.baseLSN
            // The file's records are checked first and inserted together, while the next file
            // is read (ReplayApplier; on both cores where there are two: Memtable.applyReplayed);
            // its mapping or copy stays alive in the memtable.
            var batches = ReplayBatches()
            let end = try scan(io: io, path: path, size: size, header: header, mmap: mmap, mapped: truncateTornTail) { record, owner in
                let last = record.firstLSN + LSN(record.operationCount) - 1
                fileNext = last + 1
                guard record.firstLSN > checkpointLSN else { return }
                batches.append(payload: record.payload, count: record.operationCount, firstLSN: record.firstLSN, owner: owner)
                if firstReplayed == nil { firstReplayed = record.firstLSN }
                report.replayedRecordCount += 1
                report.replayedOperationCount += record.operationCount
                report.replayedByteCount += record.byteCount
                report.replayedLSNs = firstReplayed!...last
            }
            applier!.submit(batches)
            expected = max(expected, fileNext)
            switch end {
            case .clean:
                break
            case .damaged(let offset, let reason):
                throw StoreError.corrupted("WAL damaged: \(reason)", path: path, offset: UInt64(offset))
            case .torn(let offset, let byteCount, let discarded):
                // Only the newest file in the directory may be torn: a roll syncs the old file
                // before it creates the next, so even a dropped empty newest file proves that
                // the file before it was whole.
                guard number == numbers.last else {
                    throw StoreError.corrupted("WAL record torn in a file that is not the last", path: path, offset: UInt64(offset))
                }
                if truncateTornTail {
                    applier!.wait()  // (an insert may still be reading this file's mapping)
                    let fd = try io.open(path, [.write], permissions: 0)
                    defer { io.close(fd) }
                    try io.truncate(fd, path: path, length: Int64(offset))
                    try io.sync(fd, path: path)
                }
                report.tornTail = .init(path: path, offset: UInt64(offset), byteCount: UInt64(byteCount),
                                        discardedRecordCount: discarded, truncated: truncateTornTail)
            }
        }
        if truncateTornTail, let emptyLast {
            try io.remove(directory + "/" + WALFormat.fileName(emptyLast))
            // Durably: the next new file may take a lower number (all others were checkpointed
            // away), and a crash that kept it but not this removal would leave it not the last.
            try io.syncDirectory(directory)
        }
        // What was replayed counts as durable from now on (new writes go to a new file after it),
        // so a writer makes the last file durable: after a process crash its tail may still sit
        // unsynced in the page cache.
        if truncateTornTail, let last = headers.last {
            let path = directory + "/" + WALFormat.fileName(last.number)
            let fd = try io.open(path, [.write], permissions: 0)
            defer { io.close(fd) }
            try io.syncData(fd, path: path)
        }
        return WALReplayResult(nextLSN: expected, files: headers.map { ($0.number, $0.header!.baseLSN) }, memtable: memtable)
    }

    /// Threads a replay inserts with: both cores of a small machine, at most two (the inserts
    /// wait on memory, and more threads would mostly queue on it).
    private static let replayWorkerCount = max(1, min(2, sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Reads one file's header. A last file too short for a header, or whose header is all
    /// zeros, was being created when the writer died: `nil`. Anything else that fails is damage.
    private static func readHeader(io: any FileIO, path: String, number: UInt64, storeID: UInt64, isLast: Bool) throws(StoreError) -> (WALHeader?, Int64) {
        let fd = try io.open(path, [], permissions: 0)
        defer { io.close(fd) }
        let size = try io.size(fd, path: path)
        var bytes = [UInt8](repeating: 0, count: WALFormat.headerByteCount)
        let n = try bytes.withMutableBytes { (raw) throws(StoreError) in try io.read(fd, path: path, into: raw, at: 0) }
        if isLast && WALFormat.headerNeverWritten(bytes.prefix(n)) { return (nil, size) }
        let header = try bytes.withBytes { (raw) throws(StoreError) in
            try WALReader.header(raw, number: number, storeID: storeID, path: path)
        }
        return (header, size)
    }

    /// Reads one WAL file's records. A writer (which holds the lock: nobody else changes the
    /// file) maps it; a read-only opener reads a copy, because the live writer may truncate
    /// the file (a roll gives back its preallocated tail) and a mapping past the new end would
    /// fault (SIGBUS). A copy that comes up short just ends there, like a torn tail.
    ///
    /// `body` also gets the object that keeps the record's bytes alive (the mapping or the
    /// copy): the memtable keeps it and points into it rather than copying every record. A
    /// replayed file is never written again (new writes go to a new file; a torn tail is cut
    /// after the last record kept), so the bytes stay as they were.
    private static func scan(io: any FileIO, path: String, size: Int64, header: WALHeader, mmap: MmapManager,
                             mapped: Bool, _ body: (WALRecord, AnyObject) -> Void) throws(StoreError) -> WALEnd {
        let fd = try io.open(path, [], permissions: 0)
        defer { io.close(fd) }
        if mapped {
            let region = try MmapRegion(io: io, fd: fd, path: path, count: Int(size), manager: mmap)
            region.advise(.sequential)
            return withExtendedLifetime(region) { WALReader.records(region.bytes, header: header) { body($0, region) } }
        }
        let copy = WALCopy(byteCount: Int(size))
        let count = try copy.bytes.withMutableBytes { (raw) throws(StoreError) -> Int in
            var done = 0
            while done < raw.count {
                let n = try io.read(fd, path: path, into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]), at: Int64(done))
                if n == 0 { break }
                done += n
            }
            return done
        }
        return copy.bytes.withUnsafeBytes { raw in
            WALReader.records(UnsafeRawBufferPointer(rebasing: raw[0..<count]), header: header) { body($0, copy) }
        }
    }
}

/// A WAL file read into memory by a read-only opener, kept alive by the memtable that points
/// into it. Its bytes are written once, before any record is handed out, and never again.
private final class WALCopy {
    var bytes: [UInt8]
    init(byteCount: Int) { bytes = [UInt8](repeating: 0, count: byteCount) }
}
