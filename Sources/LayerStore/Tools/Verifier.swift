//! `layerstore verify`: checks every checksum of every file of a store, and the structure the
//! checksums protect, without changing a byte (Formats/*.md, "Reading and damage").
//!
//! Invariants:
//! - Read-only: files are opened `O_RDONLY`, segments are mapped `PROT_READ`, no lock is taken,
//!   nothing is created, truncated or removed. It runs beside a live writer.
//! - Every checksummed byte is hashed once, straight from the mapping (no copy), except WAL
//!   files, which are read with `pread`: a live writer `ftruncate`s a WAL file when it rolls,
//!   and touching a mapping past a file's new end raises SIGBUS.
//! - Segment files are checked two at a time on private queues; the calling thread only reports
//!   progress, and the results are merged in listing order, so the report is deterministic.
//! - Damage is kept apart from notes. A torn tail of the last WAL file, temporary files, and
//!   segments no manifest lists are crash artefacts that a writer's open cleans up or skips:
//!   notes. Anything else that fails a check is damage, reported with the file and the offset.
//! - A file that a live writer removes between the listing and the check (an old manifest or
//!   WAL file) is a note, not damage.

import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks a whole store; see ``verify(store:progress:)``.
package enum Verifier {
    /// Checks every file of the store at `path` and returns what it found.
    ///
    /// - Parameters:
    ///   - path: the store directory.
    ///   - progress: called on this thread as bytes are checked (for a progress bar).
    /// - Returns: one result per file (manifests, segments, WAL files) and the notes.
    /// - Throws: `storeNotFound` or `notAStore` when `path` is missing, not a directory, or
    ///   holds no manifest; `ioFailure` when the store's directories cannot be listed. Damage is
    ///   never thrown: it is in the report.
    package static func verify(store path: String, progress: ((VerificationProgress) -> Void)? = nil) throws(StoreError) -> VerificationReport {
        try verify(store: path, io: SystemFileIO(), progress: progress)
    }

    /// ``verify(store:progress:)`` through a given I/O implementation (tests count its calls).
    package static func verify(store path: String, io: any FileIO, progress: ((VerificationProgress) -> Void)?) throws(StoreError) -> VerificationReport {
        // Beside a live writer, a flush can publish a manifest and drop the WAL files between
        // them that this run's manifest still needed: damage found while a newer manifest
        // appeared is checked again on the new files (as a read-only open is taken again).
        let manifests = ManifestStore(io: io, directory: StoreLayout(path).root, permissions: 0)
        var report = try verifyOnce(store: path, io: io, progress: progress)
        for _ in 0..<5 where report.hasDamage {
            let newest = try? manifests.generations().first
            guard let newest, report.newestManifest != ManifestFormat.fileName(newest) else { break }
            report = try verifyOnce(store: path, io: io, progress: progress)
        }
        return report
    }

    private static func verifyOnce(store path: String, io: any FileIO, progress: ((VerificationProgress) -> Void)?) throws(StoreError) -> VerificationReport {
        let clock = ContinuousClock()
        let start = clock.now
        var run = try VerificationRun(io: io, root: path, progress: progress)
        run.checkManifests()
        // A live writer publishes two manifests per flush and prunes all but the newest two, so
        // every manifest listed may be gone by the time it is read: start again on the new ones.
        for _ in 0..<20 where run.report.files.isEmpty {
            run = try VerificationRun(io: io, root: path, progress: progress)
            run.checkManifests()
        }
        run.resolveStoreID()
        run.checkSegments()
        run.checkWAL()
        var report = run.report
        let elapsed = clock.now - start
        report.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return report
    }
}

/// A segment file found under `dims/`: its directory and the id and version its name gives.
struct SegmentFile {
    var dimension: String
    var name: String
    var id: UInt64
    var version: UInt32

    /// Relative to the store.
    var path: String { "dims/\(dimension)/\(name)" }
}

/// The state of one verification, in the order the checks run.
struct VerificationRun {
    let io: any FileIO
    let layout: StoreLayout
    let progress: ((VerificationProgress) -> Void)?
    var report = VerificationReport()
    /// Manifest generations found, newest first.
    var generations: [UInt64] = []
    /// Segment files found under `dims/`.
    var segmentFiles: [SegmentFile] = []
    /// `false` when `wal/` is missing (the store does not open without it).
    var hasWALDirectory = true
    var totalByteCount = 0
    var newest: Manifest?
    var storeID: UInt64?

    /// Lists the store; throws when `root` is not a store or cannot be listed.
    init(io: any FileIO, root: String, progress: ((VerificationProgress) -> Void)?) throws(StoreError) {
        self.io = io
        self.layout = StoreLayout(root)
        self.progress = progress
        switch try io.kind(of: layout.root) {
        case .missing: throw StoreError(.storeNotFound, "no store at this path", path: layout.root)
        case .file: throw StoreError(.notAStore, "not a directory", path: layout.root)
        case .directory: break
        }
        let names = try io.list(layout.root)
        generations = names.compactMap(ManifestFormat.generation).sorted(by: >)
        guard !generations.isEmpty else { throw StoreError(.notAStore, "no manifest found: not a LayerStore store", path: layout.root) }
        var sized: [String] = generations.map(ManifestFormat.fileName)
        let quarantine = Quarantine(io: io, layout: layout, directoryPermissions: 0).directory
        for name in names where ManifestFormat.generation(name) == nil && !["LOCK", "wal", "dims"].contains(name) {
            note(name, nil, name.hasSuffix(StoreLayout.tempSuffix)
                 ? "temporary file of an interrupted publish: never read; a writer's open removes it"
                 : layout.root + "/" + name == quarantine ? "damaged files set aside by `layerstore recover`: not part of the store, not checked"
                 : "not a LayerStore file: ignored")
        }
        hasWALDirectory = try io.kind(of: layout.walDirectory) == .directory
        if hasWALDirectory { sized += try Verifier.walNumbers(io: io, layout: layout) { note($0, nil, $1) }.map { "wal/" + WALFormat.fileName($0) } }
        if try io.kind(of: layout.dimensionsDirectory) == .directory {
            try listSegments()
            sized += segmentFiles.map(\.path)
        }
        totalByteCount = sized.reduce(0) { $0 + Verifier.fileSize(io: io, path: layout.root + "/" + $1) }
    }

    /// Finds the segment files under `dims/`; anything else there is a note.
    private mutating func listSegments() throws(StoreError) {
        for dimension in try io.list(layout.dimensionsDirectory) {
            let directory = layout.dimensionDirectory(dimension)
            guard try io.kind(of: directory) == .directory, (try? Validate.dimensionName(dimension)) != nil else {
                note("dims/" + dimension, nil, "not a dimension directory: ignored")
                continue
            }
            for name in try io.list(directory) {
                if let (id, version) = SegmentName.parse(name) {
                    segmentFiles.append(SegmentFile(dimension: dimension, name: name, id: id, version: version))
                } else {
                    note("dims/\(dimension)/\(name)", nil, name.hasSuffix(StoreLayout.tempSuffix)
                         ? "temporary file of an interrupted flush: never read; a writer's open removes it"
                         : "not a segment file name: ignored")
                }
            }
        }
    }

    // MARK: Manifests

    /// Decodes and checks every manifest; the newest valid one is the one an open chooses.
    mutating func checkManifests() {
        var valid: [Manifest] = []
        for generation in generations {
            let name = ManifestFormat.fileName(generation)
            var result = VerificationReport.FileResult(path: name, kind: .manifest, byteCount: 0, status: .ok, problems: [])
            let path = layout.root + "/" + name
            announce(name)
            do throws(StoreError) {
                let bytes = try io.readWholeFile(path)
                result.byteCount = bytes.count
                let manifest = try ManifestCodec.decode(bytes, generation: generation, path: path)
                if let first = valid.first, manifest.storeID != first.storeID {
                    result.fail(.damaged, offset: 16, "store id \(hexID(manifest.storeID)) differs from \(hexID(first.storeID)) of the newer \(ManifestFormat.fileName(first.generation)): manifests of two stores in one directory")
                } else {
                    valid.append(manifest)
                }
            } catch where error.errno == ENOENT {
                note(name, nil, "removed while verifying (a live writer pruned it)")
                continue
            } catch {
                result.fail(error)
            }
            advance(result.byteCount)
            report.files.append(result)
        }
        newest = valid.first
        storeID = newest?.storeID
        guard let newest else { return }
        let chosen = ManifestFormat.fileName(newest.generation)
        report.newestManifest = chosen
        for result in report.files where result.status != .ok {
            if let g = ManifestFormat.generation(result.path), g > newest.generation {
                note(result.path, nil, "newer than \(chosen) and not valid: an open skips it and uses \(chosen)")
            }
        }
    }

    /// With no valid manifest, looks for a store id that a segment or WAL header's own checksum
    /// confirms, so the other files can still be checked.
    mutating func resolveStoreID() {
        report.storeID = storeID
        guard storeID == nil else { return }
        let segments = segmentFiles.map { (layout.root + "/" + $0.path, $0.id, $0.version) }
        let wal = hasWALDirectory ? ((try? Verifier.walNumbers(io: io, layout: layout) { _, _ in }) ?? []) : []
        for (path, id, version) in segments {
            if let candidate = StoreIDProbe.segment(io: io, path: path, segmentID: id, version: version) {
                return confirm(candidate, by: path)
            }
        }
        for number in wal {
            let path = layout.walDirectory + "/" + WALFormat.fileName(number)
            if let candidate = StoreIDProbe.wal(io: io, path: path, number: number) {
                return confirm(candidate, by: path)
            }
        }
    }

    private mutating func confirm(_ candidate: UInt64, by path: String) {
        storeID = candidate
        report.storeID = candidate
        note(".", nil, "no valid manifest: checking against store id \(hexID(candidate)), which the header checksum of \(relative(path)) confirms")
    }

    // MARK: Segments

    /// Checks every segment file (two at a time: see ``Verifier/checkSegmentFiles``), then
    /// reports the segments the newest manifest lists that are not there.
    mutating func checkSegments() {
        let outcomes: [Result<SegmentFileCheck, StoreError>]?
        if let storeID {
            let (base, total, callback) = (report.checkedByteCount, totalByteCount, progress)
            outcomes = Verifier.checkSegmentFiles(io: io, root: layout.root, storeID: storeID, files: segmentFiles) { done, path in
                callback?(VerificationProgress(checkedByteCount: base + done, totalByteCount: total, path: path))
            }
        } else {
            outcomes = nil
        }
        var seen = Set<String>()
        for (i, file) in segmentFiles.enumerated() {
            seen.insert(file.path)
            if let result = accept(file, outcomes?[i], listed: listing(of: file)) { report.files.append(result) }
        }
        let manifestName = newest.map { ManifestFormat.fileName($0.generation) } ?? ""
        for dimension in newest?.dimensions ?? [] {
            for segment in dimension.segments {
                let file = SegmentFile(dimension: dimension.name, name: SegmentName.fileName(id: segment.id, version: segment.version),
                                       id: segment.id, version: segment.version)
                let path = file.path
                guard !seen.contains(path) else { continue }
                // A live writer's flush or compaction may have published it after the listing.
                if (try? io.kind(of: layout.root + "/" + path)) == .file, let storeID {
                    announce(path)
                    let outcome = Verifier.checkSegmentFiles(io: io, root: layout.root, storeID: storeID, files: [file]) { _, _ in }
                    if let result = accept(file, outcome[0], listed: segment) {
                        report.files.append(result)
                        continue
                    }
                }
                if let current = currentNewest(), current.generation > newest!.generation,
                    !current.segments(of: dimension.name).contains(where: { $0.id == segment.id && $0.version == segment.version }) {
                    note(path, nil, "listed in \(manifestName), removed by a compaction that published \(ManifestFormat.fileName(current.generation)) while verifying")
                    continue
                }
                var result = VerificationReport.FileResult(path: path, kind: .segment, byteCount: 0, status: .ok, problems: [])
                result.fail(.missing, offset: 0, "listed in \(manifestName) but missing: the store does not open without it")
                report.files.append(result)
            }
        }
    }

    /// The result for one segment file from its check (`nil`: no store id to check it with);
    /// `nil` if a live writer removed the file meanwhile.
    private mutating func accept(_ file: SegmentFile, _ outcome: Result<SegmentFileCheck, StoreError>?,
                                 listed: SegmentDescriptor?) -> VerificationReport.FileResult? {
        var result = VerificationReport.FileResult(path: file.path, kind: .segment, byteCount: 0, status: .ok, problems: [])
        switch outcome {
        case nil:
            result.fail(.unchecked, offset: 0, "cannot be checked: no valid manifest, and no header confirms a store id")
            return result
        case .failure(let error) where error.errno == ENOENT:
            note(file.path, nil, "removed while verifying")
            return nil
        case .failure(let error):
            result.fail(error)
            return result
        case .success(let check):
            advance(check.byteCount)
            let (judged, notes) = judge(check, file: file, listed: listed)
            for (offset, message) in notes { note(file.path, offset, message) }
            return judged
        }
    }

    /// What a segment check means for the store: its problems, and whether the file agrees with
    /// its directory and with the newest manifest's entry for it (or is not listed at all).
    func judge(_ check: SegmentFileCheck, file: SegmentFile, listed: SegmentDescriptor?)
        -> (VerificationReport.FileResult, notes: [(offset: UInt64?, message: String)]) {
        var result = VerificationReport.FileResult(path: file.path, kind: .segment, byteCount: check.byteCount, status: .ok, problems: [])
        var notes = check.notes
        let unpublished = listed == nil && newest.map { file.id >= $0.nextSegmentID } == true
        let failure: VerificationReport.Status = unpublished ? .ignored : check.unsupported ? .unsupported : .damaged
        for problem in check.problems { result.fail(failure, offset: problem.offset, problem.message) }
        if let header = check.header, header.dimension != file.dimension {
            result.fail(unpublished ? .ignored : .damaged, offset: UInt64(SegmentFormat.dimensionNameOffset), "the header names dimension \"\(header.dimension)\", but the file is in dims/\(file.dimension)")
        }
        let manifestName = newest.map { ManifestFormat.fileName($0.generation) } ?? ""
        if let listed {
            if UInt64(check.byteCount) != listed.fileLength {
                result.fail(.damaged, offset: min(UInt64(check.byteCount), listed.fileLength), "the file is \(check.byteCount) bytes, \(manifestName) says \(listed.fileLength)")
            }
            if let h = check.header, h.minLSN != listed.minLSN || h.maxLSN != listed.maxLSN || h.recordCount != listed.recordCount || h.codec != listed.codec {
                result.fail(.damaged, offset: 0, "the header (LSNs \(h.minLSN)...\(h.maxLSN), \(h.recordCount) records, codec \(h.codec)) disagrees with \(manifestName) (LSNs \(listed.minLSN)...\(listed.maxLSN), \(listed.recordCount) records, codec \(listed.codec))")
            }
        } else if let newest {
            notes.append((nil, file.id >= newest.nextSegmentID
                ? "not listed in \(manifestName), id at or above its nextSegmentID \(newest.nextSegmentID): left by an interrupted flush; a writer's open removes it"
                : "not listed in \(manifestName): the store does not read it"))
        }
        return (result, notes)
    }

    /// The newest valid manifest's entry for `file`, if it lists it.
    func listing(of file: SegmentFile) -> SegmentDescriptor? {
        newest?.segments(of: file.dimension).first { $0.id == file.id && $0.version == file.version }
    }

    // MARK: WAL

    /// Checks every WAL file's header and records, and the LSN continuity replay relies on.
    mutating func checkWAL() {
        guard hasWALDirectory else {
            var result = VerificationReport.FileResult(path: "wal", kind: .directory, byteCount: 0, status: .ok, problems: [])
            result.fail(.missing, offset: 0, "the WAL directory is missing: the store does not open without it")
            report.files.append(result)
            return
        }
        let (base, total, callback) = (report.checkedByteCount, totalByteCount, progress)
        let (chosen, refresh) = (newest, currentNewest)
        let scans = Verifier.scanWAL(io: io, layout: layout, storeID: storeID, checkpointLSN: newest?.checkpointLSN,
                                     latestCheckpointLSN: {
                                         refresh().flatMap { $0.storeID == chosen?.storeID ? $0.checkpointLSN : nil }
                                     }) { done, path in
            callback?(VerificationProgress(checkedByteCount: base + done, totalByteCount: total, path: path))
        }
        for scan in scans {
            if scan.vanished {
                note(scan.path, nil, "removed while verifying (a live writer dropped it)")
                continue
            }
            var result = VerificationReport.FileResult(path: scan.path, kind: .wal, byteCount: scan.byteCount, status: .ok, problems: [])
            for problem in scan.problems { result.fail(scan.failure, offset: problem.offset, problem.message) }
            for (offset, message) in scan.notes { note(scan.path, offset, message) }
            advance(scan.byteCount)
            report.files.append(result)
        }
    }

    // MARK: Helpers

    /// The newest valid manifest as of now: a live writer may have published one since the
    /// run read its manifests.
    func currentNewest() -> Manifest? {
        try? ManifestStore(io: io, directory: layout.root, permissions: 0).loadNewest().manifest
    }

    private mutating func note(_ path: String, _ offset: UInt64?, _ message: String) {
        report.notes.append(VerificationReport.Note(path: path, offset: offset, message: message))
    }

    private func relative(_ path: String) -> String {
        path.hasPrefix(layout.root + "/") ? String(path.dropFirst(layout.root.count + 1)) : path
    }

    private func announce(_ path: String) {
        progress?(VerificationProgress(checkedByteCount: report.checkedByteCount, totalByteCount: totalByteCount, path: path))
    }

    private mutating func advance(_ byteCount: Int) {
        report.checkedByteCount += byteCount
    }
}

extension Verifier {
    /// Checks segment files on two worker threads while the calling thread reports progress.
    /// Each check is independent (its own mapping and reader), and its time goes to page faults
    /// and hashing, so a second core nearly doubles the speed.
    /// - Parameter progress: called on the calling thread only, with the bytes checked so far:
    ///   once per finished file (with its path), and at least every 100 ms while a file is long.
    /// - Returns: one outcome per file, in the order of `files`.
    static func checkSegmentFiles(io: any FileIO, root: String, storeID: UInt64, files: [SegmentFile],
                                  progress: (Int, String) -> Void) -> [Result<SegmentFileCheck, StoreError>] {
        let lanes = SegmentCheckLanes(count: files.count)
        let laneCount = max(1, min(2, files.count, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let events = DispatchSemaphore(value: 0)
        for lane in 0..<laneCount {
            // A private queue, not a global one: its thread comes from the overcommit pool, so
            // the lanes run even when the caller's own work fills the CPU-wide global pool (and
            // a caller waiting on a global queue cannot starve them into a deadlock).
            DispatchQueue(label: "LayerStore.verify.\(lane)").async {
                while let i = lanes.claim() {
                    var reported = 0
                    let outcome = Result { () throws(StoreError) in
                        try SegmentFileCheck.check(io: io, path: root + "/" + files[i].path, storeID: storeID, id: files[i].id,
                                                   version: files[i].version, collectBlocks: false) { done in
                            lanes.done.wrappingAdd(done - reported, ordering: .relaxed)
                            reported = done
                        }
                    }
                    lanes.state.withLock {
                        $0.results[i] = outcome
                        $0.finished.append(i)
                    }
                    events.signal()
                }
                lanes.state.withLock { $0.idleLanes += 1 }
                events.signal()
            }
        }
        var reported = 0
        while true {
            let timedOut = events.wait(timeout: .now() + .milliseconds(100)) == .timedOut
            let (finished, idle, current) = lanes.state.withLock { ($0.finished, $0.idleLanes, $0.finished.count) }
            for i in finished[reported...] { progress(lanes.done.load(ordering: .relaxed), files[i].path) }
            reported = current
            if timedOut, let running = lanes.running() { progress(lanes.done.load(ordering: .relaxed), files[running].path) }
            if idle == laneCount { break }
        }
        return lanes.state.withLock { $0.results.map { $0! } }
    }

    /// The numbers of the WAL files in `wal/`, ascending; other names go to `note`.
    static func walNumbers(io: any FileIO, layout: StoreLayout, note: (String, String) -> Void) throws(StoreError) -> [UInt64] {
        var numbers: [UInt64] = []
        for name in try io.list(layout.walDirectory) {
            if let number = WALFormat.fileNumber(name) {
                numbers.append(number)
            } else if !name.hasSuffix(StoreLayout.tempSuffix) {
                // (A temporary file here is the spare WAL file a writer prepares: expected.)
                note("wal/" + name, "not a WAL file name: ignored")
            }
        }
        return numbers.sorted()
    }

    /// A file's length, or 0 if it cannot be opened (the check reports why).
    static func fileSize(io: any FileIO, path: String) -> Int {
        guard let fd = try? io.open(path, [], permissions: 0) else { return 0 }
        defer { io.close(fd) }
        return (try? io.size(fd, path: path)).map { Int($0) } ?? 0
    }

    /// A whole file read with `pread` (not mapped: see the file comment), up to its end at the
    /// time of reading.
    static func readFile(io: any FileIO, path: String) throws(StoreError) -> [UInt8] {
        let fd = try io.open(path, [], permissions: 0)
        defer { io.close(fd) }
        let size = Int(try io.size(fd, path: path))
        var failure: StoreError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            while count < size {
                do throws(StoreError) {
                    let n = try io.read(fd, path: path, into: UnsafeMutableRawBufferPointer(rebasing: raw[count...]), at: Int64(count))
                    if n == 0 { break }  // a live writer truncated it meanwhile
                    count += n
                } catch {
                    failure = error
                    break
                }
            }
        }
        if let failure { throw failure }
        return bytes
    }
}

/// The work shared by the threads of ``Verifier/checkSegmentFiles``: which file is next, the
/// bytes checked, the outcomes, and which files and lanes are done.
private final class SegmentCheckLanes: Sendable {
    struct State {
        var results: [Result<SegmentFileCheck, StoreError>?]
        /// Indices of the files checked, in the order they finished.
        var finished: [Int] = []
        var idleLanes = 0
    }

    let next = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    /// A pthread lock, not `Synchronization.Mutex`: ThreadSanitizer understands it.
    let state: Locked<State>
    let count: Int

    init(count: Int) {
        self.count = count
        self.state = Locked(State(results: Array(repeating: nil, count: count)))
    }

    /// The index of the next file to check, or `nil` when every file is taken.
    func claim() -> Int? {
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return i < count ? i : nil
    }

    /// A file being checked now (the last one taken), if any.
    func running() -> Int? {
        let taken = min(next.load(ordering: .relaxed), count)
        return taken > 0 ? taken - 1 : nil
    }
}

/// What reading one WAL file found; shared by `verify` and `inspect`.
struct WALFileScan {
    /// Relative to the store, e.g. `wal/0000000000000001.wal`.
    var path: String
    var number: UInt64
    var byteCount = 0
    var header: WALHeader?
    /// Removed by a live writer between the listing and the read.
    var vanished = false
    /// What the problems mean for the file's status.
    var failure: VerificationReport.Status = .damaged
    var problems: [VerificationReport.Problem] = []
    var notes: [(offset: UInt64?, message: String)] = []
    var recordCount = 0
    var lsns: ClosedRange<LSN>?
    var recordsAboveCheckpoint = 0
    var lsnsAboveCheckpoint: ClosedRange<LSN>?
    /// How the records end (`nil` if the header did not check).
    var end: WALEnd?

    /// `true` if the records end in damage (not a clean end or a torn tail).
    var isDamagedEnd: Bool {
        if case .damaged? = end { return true }
        return false
    }

    /// The LSN after the file's last record (its base LSN if it holds none).
    var nextLSN: LSN? { lsns.map { $0.upperBound + 1 } ?? header?.baseLSN }

    mutating func problem(_ offset: UInt64, _ message: String) {
        problems.append(VerificationReport.Problem(offset: offset, message: message))
    }
}

extension Verifier {
    /// Reads every WAL file's header and records, as replay would (Formats/wal.md § Reading and
    /// damage), and checks the LSN continuity between files above the checkpoint.
    /// - Parameters:
    ///   - storeID: the id the checksums are seeded with; `nil` marks every file unchecked.
    ///   - checkpointLSN: the newest valid manifest's; `nil` (no valid manifest) checks only that
    ///     consecutive files continue each other.
    ///   - progress: called with the bytes read so far and the file being read.
    ///   - latestCheckpointLSN: the newest checkpoint once the files are read. A live writer's
    ///     flush publishes a higher checkpoint and then drops the WAL files below it; files are
    ///     only ever dropped from the front, so the continuity check starts from the higher one.
    static func scanWAL(io: any FileIO, layout: StoreLayout, storeID: UInt64?, checkpointLSN: LSN?,
                        latestCheckpointLSN: () -> LSN? = { nil }, progress: (Int, String) -> Void) -> [WALFileScan] {
        let numbers = (try? walNumbers(io: io, layout: layout) { _, _ in }) ?? []
        var scans: [WALFileScan] = []
        var done = 0
        for number in numbers {
            var scan = WALFileScan(path: "wal/" + WALFormat.fileName(number), number: number)
            progress(done, scan.path)
            if let storeID {
                let isLast = number == numbers.last
                scanFile(&scan, io: io, root: layout.root, storeID: storeID, checkpointLSN: checkpointLSN ?? 0, isLast: isLast)
                // The last file may be appended to while it is read: a record the read missed,
                // followed by one it caught, looks like lost acknowledged data. Real damage stays.
                for _ in 0..<3 where isLast && scan.isDamagedEnd {
                    scan = WALFileScan(path: scan.path, number: number)
                    scanFile(&scan, io: io, root: layout.root, storeID: storeID, checkpointLSN: checkpointLSN ?? 0, isLast: isLast)
                }
            } else {
                scan.byteCount = fileSize(io: io, path: layout.root + "/" + scan.path)
                scan.failure = .unchecked
                scan.problem(0, "cannot be checked: no valid manifest, and no header confirms a store id")
            }
            done += scan.byteCount
            scans.append(scan)
        }
        let latest = checkpointLSN.map { max($0, latestCheckpointLSN() ?? 0) }
        checkContinuity(&scans, checkpointLSN: latest)
        return scans
    }

    private static func scanFile(_ scan: inout WALFileScan, io: any FileIO, root: String, storeID: UInt64, checkpointLSN: LSN, isLast: Bool) {
        let path = root + "/" + scan.path
        let bytes: [UInt8]
        do throws(StoreError) {
            bytes = try readFile(io: io, path: path)
        } catch {
            if error.errno == ENOENT { scan.vanished = true } else { (scan.failure, scan.problems) = (.unreadable, [.init(offset: 0, message: error.description)]) }
            return
        }
        scan.byteCount = bytes.count
        bytes.withUnsafeBytes { raw in
            let headerBytes = UnsafeRawBufferPointer(rebasing: raw.prefix(WALFormat.headerByteCount))
            if isLast && WALFormat.headerNeverWritten(headerBytes) {
                scan.notes.append((0, "the header was never written (the writer died creating the file): it holds nothing; a writer's open removes it"))
                return
            }
            do throws(StoreError) {
                scan.header = try WALReader.header(headerBytes, number: scan.number, storeID: storeID, path: path)
            } catch {
                if error.code == .unsupportedFormat { scan.failure = .unsupported }
                scan.problem(error.offset ?? 0, "header: " + error.message)
                return
            }
            let end = WALReader.records(raw, header: scan.header!) { record in
                let last = record.firstLSN + LSN(record.operationCount) - 1
                scan.recordCount += 1
                scan.lsns = (scan.lsns?.lowerBound ?? record.firstLSN)...last
                if record.firstLSN > checkpointLSN {
                    scan.recordsAboveCheckpoint += 1
                    scan.lsnsAboveCheckpoint = (scan.lsnsAboveCheckpoint?.lowerBound ?? record.firstLSN)...last
                }
            }
            scan.end = end
            switch end {
            case .clean:
                break
            case .torn(let offset, let byteCount, let discarded) where isLast:
                scan.notes.append((UInt64(offset), "torn tail: \(byteCount) bytes from here, \(discarded) unsynced records after the first bad one; a crash artefact never acknowledged, which a writer's open truncates"))
            case .torn(let offset, _, _):
                scan.problem(UInt64(offset), "a torn record in a file that is not the last (a roll syncs a file before the next is created)")
            case .damaged(let offset, let reason):
                scan.problem(UInt64(offset), "record damaged: \(reason)")
            }
        }
    }

    /// The first file replay reads must start at or below the checkpoint + 1, and each later one
    /// exactly where the previous one ended (Formats/wal.md § LSN continuity). Problems are put
    /// on the file's `baseLSN` field (offset 32).
    private static func checkContinuity(_ scans: inout [WALFileScan], checkpointLSN: LSN?) {
        // A header that does not check hides where its file starts: nothing to compare then.
        guard !scans.contains(where: { $0.header == nil && !$0.problems.isEmpty }) else { return }
        let indices = scans.indices.filter { scans[$0].header != nil }
        var start = 0
        if let checkpointLSN {
            while start + 1 < indices.count, scans[indices[start + 1]].header!.baseLSN <= checkpointLSN + 1 { start += 1 }
        }
        var expected = checkpointLSN.map { $0 + 1 }
        var previousEndKnown = true
        for (k, i) in indices.enumerated().dropFirst(start) {
            let base = scans[i].header!.baseLSN
            if let e = expected, previousEndKnown {
                if k == start && checkpointLSN != nil && base > e {
                    scans[i].problem(32, "WAL records \(e)..<\(base) are missing (between the checkpoint and this file)")
                } else if k > start && base != e {
                    scans[i].problem(32, "the file starts at LSN \(base); the file before it ends before LSN \(e)")
                }
            }
            // Records that end in damage do not say where the file really ends: the next file
            // cannot be compared with it (the damage itself is reported already).
            previousEndKnown = scans[i].problems.isEmpty
            expected = max(expected ?? 0, scans[i].nextLSN!)
        }
    }
}
