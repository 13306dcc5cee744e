import Foundation
import Synchronization
import Testing
@testable import LayerStore

/// `Verifier`: a clean store is clean (also under a live writer); damage to each part of each
/// kind of file is reported with the right file and an offset inside the damaged part; crash
/// artefacts are notes; and nothing is ever written.
@Suite struct VerifierTests {
    static func key(_ i: Int) -> String { String(format: "k%03d", i) }
    static func value(_ i: Int) -> String { "value-\(i)-" + String(repeating: "x", count: 40 + i % 17) }

    /// A store with two dimensions in segments of several blocks, and more writes in the WAL.
    static func makeStore(_ dir: TemporaryDirectory, closed: Bool = true) throws -> (path: String, store: Store?) {
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        _ = try store.write { batch in
            for i in 0..<120 {
                try batch.put(value(i), forKey: key(i), in: "alpha")
                if i % 2 == 0 { try batch.put(value(i), forKey: key(i), in: "beta") }
            }
        }
        _ = try store.write { batch in try batch.put("newer", forKey: key(7), in: "alpha") }
        try store.flush()
        for i in 0..<6 { _ = try store.put("after-\(i)", forKey: key(i), in: "alpha") }
        if closed {
            try store.close()
            return (path, nil)
        }
        return (path, store)
    }

    /// Every file below `path`, with its bytes.
    static func contents(_ dir: TemporaryDirectory) -> [String: [UInt8]] {
        // (Not the spare WAL file a live writer prepares in the background: it may appear or
        // grow at any moment, and nothing reads it.)
        Dictionary(uniqueKeysWithValues: dir.files(under: "s").filter { !$0.hasPrefix("wal/spare-") }
            .map { ($0, ByteSurgery.read(dir.child("s") + "/" + $0)) })
    }

    static func segments(_ path: String) -> [String] {
        ["alpha", "beta"].flatMap { dim in
            ((try? FileManager.default.contentsOfDirectory(atPath: path + "/dims/" + dim)) ?? []).sorted().map { "dims/\(dim)/\($0)" }
        }
    }

    static func names(_ path: String, under sub: String, prefix: String = "") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: sub.isEmpty ? path : path + "/" + sub)) ?? [])
            .filter { $0.hasPrefix(prefix) }.sorted().map { sub.isEmpty ? $0 : sub + "/" + $0 }
    }

    /// The little-endian u64 at `offset` of a file.
    static func u64(_ path: String, at offset: Int) -> UInt64 {
        ByteSurgery.read(path).withUnsafeBytes { ByteReader.u64($0, at: offset)! }
    }

    static func damagedFiles(_ report: VerificationReport) -> [String] {
        report.files.filter { $0.status != .ok }.map(\.path)
    }

    // MARK: Clean

    @Test func aCleanStoreVerifiesCleanAndEveryByteIsChecked() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try Self.makeStore(dir)
        var progressed: [VerificationProgress] = []
        let report = try Verifier.verify(store: path) { progressed.append($0) }
        #expect(report.isClean, "\(report.files.filter { $0.status != .ok })")
        #expect(!report.hasDamage)
        #expect(report.notes.isEmpty, "\(report.notes)")
        let manifests = Self.names(path, under: "", prefix: "MANIFEST-")
        let wal = Self.names(path, under: "wal")
        let expected = manifests.reversed() + Self.segments(path) + wal
        #expect(report.files.map(\.path) == expected)
        #expect(report.files.map(\.kind) == Array(repeating: .manifest, count: manifests.count)
            + Array(repeating: .segment, count: 2) + Array(repeating: .wal, count: wal.count))
        #expect(report.newestManifest == manifests.last)
        let sizes = expected.map { ByteSurgery.size(path + "/" + $0) }
        #expect(report.files.map(\.byteCount) == sizes)
        #expect(report.checkedByteCount == sizes.reduce(0, +))
        let storeID = try ManifestStore(io: SystemFileIO(), directory: path, permissions: 0).loadNewest().manifest.storeID
        #expect(report.storeID == storeID)
        #expect(report.seconds > 0 && report.gigabytesPerSecond > 0)
        // Progress: monotonic, within the total, and the total is the bytes checked.
        #expect(!progressed.isEmpty)
        #expect(zip(progressed, progressed.dropFirst()).allSatisfy { $0.checkedByteCount <= $1.checkedByteCount })
        #expect(progressed.allSatisfy { $0.totalByteCount == report.checkedByteCount && $0.checkedByteCount <= $0.totalByteCount })
        #expect(Set(progressed.map(\.path)) == Set(expected))
    }

    @Test func verifyingWhileAWriterHoldsTheStoreIsCleanAndChangesNothing() throws {
        let dir = TemporaryDirectory()
        let (path, store) = try Self.makeStore(dir, closed: false)
        let writer = try #require(store)
        // The current WAL file is preallocated (a zero tail), and the LOCK is held.
        let before = Self.contents(dir)
        let report = try Verifier.verify(store: path)
        #expect(report.isClean, "\(report.files.filter { $0.status != .ok }) \(report.notes)")
        #expect(report.notes.isEmpty, "\(report.notes)")
        #expect(Self.contents(dir) == before, "verify changed a byte under a live writer")
        // The writer is undisturbed.
        _ = try writer.put("later", forKey: "k-later", in: "alpha")
        try writer.flush()
        #expect(try Verifier.verify(store: path).isClean)
        try writer.close()
    }

    @Test func verifyBesideABusyWriterNeverReportsDamage() throws {
        let dir = TemporaryDirectory()
        let (path, opened) = try Self.makeStore(dir, closed: false)
        let store = try #require(opened)
        let stop = Atomic<Bool>(false)
        let failure = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { [store] in
            defer { done.signal() }
            do {
                var round = 0
                while !stop.load(ordering: .relaxed) {
                    round += 1
                    _ = try store.write { batch in
                        for i in 0..<20 { try batch.put(Self.value(round + i), forKey: Self.key((round * 7 + i) % 400), in: round % 3 == 0 ? "beta" : "alpha") }
                    }
                    if round % 5 == 0 { try store.flush() }
                    if round % 25 == 0 { _ = try store.compact() }
                }
            } catch {
                failure.withLock { $0 = "writer: \(error)" }
            }
        }
        var runs = 0
        let deadline = ContinuousClock.now + .milliseconds(1500)
        while ContinuousClock.now < deadline {
            let report = try Verifier.verify(store: path)
            runs += 1
            #expect(!report.hasDamage, "run \(runs): \(report.files.filter { $0.status != .ok })")
            #expect(report.files.allSatisfy { $0.status == .ok || $0.status == .ignored }, "run \(runs): \(report.files.filter { $0.status != .ok })")
        }
        stop.store(true, ordering: .relaxed)
        done.wait()
        #expect(failure.withLock { $0 } == nil)
        #expect(runs >= 3)
        try store.close()
        #expect(try Verifier.verify(store: path).isClean)
    }

    // MARK: Segment damage

    enum Part: String, CaseIterable, Sendable { case header, block, blockTable, hashIndex, footer }

    @Test(arguments: Part.allCases)
    func damageInEachPartOfASegmentIsReportedInsideThatPart(_ part: Part) throws {
        let dir = TemporaryDirectory()
        let (path, _) = try Self.makeStore(dir)
        let segment = try #require(Self.segments(path).first)
        let file = path + "/" + segment
        let size = ByteSurgery.size(file)
        let (table, hash, footer) = (Int(Self.u64(file, at: 104)), Int(Self.u64(file, at: 112)), Int(Self.u64(file, at: 120)))
        let blockCount = Int(Self.u64(file, at: 88) & 0xFFFF_FFFF)
        try #require(blockCount >= 3, "the test wants several blocks")
        let block1 = Int(Self.u64(file, at: table + 32)), block1Length = Int(Self.u64(file, at: table + 40) & 0xFFFF_FFFF)
        let range: Range<Int>
        switch part {
        case .header: range = 0..<256
        case .block: range = block1..<(block1 + block1Length)
        case .blockTable: range = table..<hash
        case .hashIndex: range = hash..<footer
        case .footer: range = footer..<size
        }
        ByteSurgery.flip(file, at: range.lowerBound + range.count / 2, mask: 0x10)
        let report = try Verifier.verify(store: path)
        #expect(!report.isClean && report.hasDamage)
        #expect(Self.damagedFiles(report) == [segment], "\(part): \(report.files.filter { $0.status != .ok })")
        let result = try #require(report.files.first { $0.path == segment })
        #expect(result.status == .damaged)
        #expect(!result.problems.isEmpty)
        for problem in result.problems {
            #expect(range.contains(Int(problem.offset)), "\(part) \(range): a problem outside the damaged part: \(problem)")
        }
        // The other segment, the manifests and the WAL are still checked, and clean.
        #expect(report.files.count == Self.names(path, under: "", prefix: "MANIFEST-").count + 2 + Self.names(path, under: "wal").count)
    }

    @Test func recordsOutOfOrderBehindValidChecksumsAreFound() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try Self.makeStore(dir)
        let segment = try #require(Self.segments(path).first { $0.hasPrefix("dims/alpha/") })
        let file = path + "/" + segment
        var bytes = ByteSurgery.read(file)
        // Make the second record's key sort before the first's: its own part (a compact block
        // states the keys' shared prefix once) starts with a zero byte. The hash index no
        // longer leads to it. Then reseal every checksum, so only the contents are wrong.
        let suffixes = Self.compactSuffixes(bytes, blockAt: 256)
        try #require(suffixes.count >= 2 && suffixes[1].count >= 1 && bytes[suffixes[0].lowerBound] != 0)
        let at = suffixes[1].lowerBound
        bytes[at] = 0
        let storeID = try ManifestStore(io: SystemFileIO(), directory: path, permissions: 0).loadNewest().manifest.storeID
        let (id, version) = try #require(SegmentName.parse(String(segment.split(separator: "/").last!)))
        Self.reseal(&bytes, seed: SegmentFormat.fileSeed(storeID: storeID, segmentID: id, version: version))
        ByteSurgery.write(file, bytes)
        let report = try Verifier.verify(store: path)
        #expect(Self.damagedFiles(report) == [segment])
        let messages = report.files.first { $0.path == segment }!.problems
        #expect(messages.contains { $0.message.contains("out of order") && $0.offset < UInt64(at) && $0.offset > 256 }, "\(messages)")
        #expect(messages.contains { $0.message.contains("hash index does not lead") }, "\(messages)")
    }

    @Test func compressedSegmentsAreCheckedAndTheirRecordsDecoded() throws {
        let dir = TemporaryDirectory()
        let (path, store) = try Self.makeStore(dir, closed: false)
        let writer = try #require(store)
        var options = CompactionOptions()
        options.compression = .lz4
        options.hashIndex = true  // LZ4 outputs have none by default: this test probes one
        _ = try writer.compact(options)
        try writer.close()
        var report = try Verifier.verify(store: path)
        #expect(report.isClean, "\(report.files.filter { $0.status != .ok })")
        #expect(report.notes.isEmpty, "\(report.notes)")
        let segment = try #require(Self.segments(path).first { $0.hasPrefix("dims/alpha/") })
        let inspection = try Inspector.inspectSegment(store: path, file: segment)
        #expect(inspection.header?.codec == SegmentFormat.codecLZ4)
        #expect(!inspection.blocks.isEmpty && inspection.blocks.allSatisfy { $0.status == "ok" && $0.storedLength < $0.rawLength })
        #expect(inspection.checks.status == .ok && inspection.hashIndex?.status == "ok")
        // A hash slot pointing one byte off, behind valid checksums: only decoding the
        // decompressed records (and probing for each key) finds it.
        let file = path + "/" + segment
        let pristine = ByteSurgery.read(file)
        var bytes = pristine
        let (hash, footer) = (Int(Self.u64(file, at: 112)), Int(Self.u64(file, at: 120)))
        let slot = try #require(stride(from: hash, to: footer, by: 8).first { at in bytes[at..<(at + 8)].contains { $0 != 0 } })
        bytes[slot] ^= 0x01
        let storeID = try ManifestStore(io: SystemFileIO(), directory: path, permissions: 0).loadNewest().manifest.storeID
        let (id, version) = try #require(SegmentName.parse(String(segment.split(separator: "/").last!)))
        Self.reseal(&bytes, seed: SegmentFormat.fileSeed(storeID: storeID, segmentID: id, version: version))
        ByteSurgery.write(file, bytes)
        report = try Verifier.verify(store: path)
        #expect(Self.damagedFiles(report) == [segment])
        #expect(report.files.first { $0.path == segment }?.problems.contains { $0.message.contains("hash index does not lead") } == true)
        ByteSurgery.write(file, pristine)

        // A flipped byte in a compressed block: reported at that block.
        let block = try #require(inspection.blocks.last)
        ByteSurgery.flip(path + "/" + segment, at: Int(block.offset) + Int(block.storedLength) / 2)
        report = try Verifier.verify(store: path)
        #expect(Self.damagedFiles(report) == [segment])
        #expect(report.files.first { $0.path == segment }?.problems.map(\.offset) == [block.offset])
    }

    /// Where each record's own key bytes lie in the compact block at `blockAt`, read as
    /// Formats/segment.md § Compact blocks says (independently of the reader under test).
    static func compactSuffixes(_ bytes: [UInt8], blockAt: Int) -> [Range<Int>] {
        var i = blockAt
        func varint() -> Int {
            var (value, shift) = (0, 0)
            while true {
                let b = Int(bytes[i]); i += 1
                value |= (b & 0x7F) << shift
                if b < 0x80 { return value }
                shift += 7
            }
        }
        func le64(_ at: Int) -> UInt64 { bytes.withUnsafeBytes { ByteReader.u64($0, at: at)! } }
        let table = Int(le64(104)), entryLength = Int(le64(table + 8) & 0xFFFF_FFFF)
        let prefixLength = Int(le64(table + 24) >> 48)
        let end = blockAt + entryLength
        _ = varint()
        let (keyLength, valueLength) = (varint(), varint())
        var out: [Range<Int>] = []
        while i < end {
            let isDelete = varint() & 1 == 1
            let suffix = keyLength > 0 ? keyLength - prefixLength : varint()
            let value = isDelete ? 0 : (valueLength > 0 ? valueLength - 1 : varint())
            out.append(i..<(i + suffix))
            i += suffix + value
        }
        return out
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        (start...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle }
    }

    /// Recomputes every block checksum, the index and hash checksums and the footer checksum.
    static func reseal(_ bytes: inout [UInt8], seed: UInt64) {
        func u64(_ at: Int) -> UInt64 { bytes.withUnsafeBytes { ByteReader.u64($0, at: at)! } }
        func put(_ v: UInt64, _ at: Int) { for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        func sum(_ range: Range<Int>, _ offset: Int) -> UInt64 { Checksum.xxh3(Array(bytes[range]), seed: seed ^ UInt64(offset)) }
        let (table, hash, footer) = (Int(u64(104)), Int(u64(112)), Int(u64(120)))
        for i in 0..<Int(u64(88) & 0xFFFF_FFFF) {
            let entry = table + 32 * i
            let offset = Int(u64(entry)), length = Int(u64(entry + 8) & 0xFFFF_FFFF)
            put(sum(offset..<(offset + length), offset), entry + 16)
        }
        put(sum(table..<hash, table), footer + 24)
        put(sum(hash..<footer, hash), footer + 40)
        put(sum(footer..<(footer + 56), footer), footer + 56)
    }

    // MARK: Manifest damage

    @Test func aDamagedNewestManifestIsDamageAndTheOlderOneIsChosen() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try Self.makeStore(dir)
        let manifests = Self.names(path, under: "", prefix: "MANIFEST-")
        try #require(manifests.count == 2)
        let newest = manifests[1]
        ByteSurgery.flip(path + "/" + newest, at: 33)  // the checkpoint LSN
        let report = try Verifier.verify(store: path)
        #expect(Self.damagedFiles(report) == [newest])
        let problem = try #require(report.files.first { $0.path == newest }?.problems.first)
        #expect(problem.offset < UInt64(ByteSurgery.size(path + "/" + newest)))
        #expect(problem.message.contains("checksum"))
        #expect(report.newestManifest == manifests[0])
        #expect(report.notes.contains { $0.path == newest && $0.message.contains("skips it") }, "\(report.notes)")
    }

    @Test func withEveryManifestDamagedTheOtherFilesAreStillChecked() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try Self.makeStore(dir)
        let manifests = Self.names(path, under: "", prefix: "MANIFEST-")
        for name in manifests { ByteSurgery.flip(path + "/" + name, at: 20) }
        let segment = try #require(Self.segments(path).last)
        let table = Int(Self.u64(path + "/" + segment, at: 104))
        ByteSurgery.flip(path + "/" + segment, at: 300)
        let report = try Verifier.verify(store: path)
        #expect(report.newestManifest == nil)
        #expect(report.storeID != nil, "a segment header confirms the store id")
        #expect(report.notes.contains { $0.message.contains("no valid manifest") })
        #expect(Set(Self.damagedFiles(report)) == Set(manifests + [segment]))
        let block = try #require(report.files.first { $0.path == segment }?.problems.first)
        #expect(block.offset >= 256 && block.offset <= 300 && Int(block.offset) < table, "\(block)")
    }

    // MARK: WAL

    /// File offsets of the records of a WAL file.
    static func recordOffsets(_ file: String) -> [Int] {
        let bytes = ByteSurgery.read(file)
        var offsets: [Int] = []
        var at = WALFormat.headerByteCount
        while at + 32 <= bytes.count, bytes[at..<(at + 32)].contains(where: { $0 != 0 }) {
            offsets.append(at)
            at += WALWriter.recordByteCount(payload: Int(bytes.withUnsafeBytes { ByteReader.u32($0, at: at + 8)! }))
        }
        return offsets
    }

    @Test func aDamagedWALRecordFollowedByValidOnesIsDamageAtThatRecord() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        for i in 0..<10 { _ = try store.put(Self.value(i), forKey: Self.key(i), in: "d") }
        try store.close()
        let wal = try #require(Self.names(path, under: "wal").last)
        let offsets = Self.recordOffsets(path + "/" + wal)
        try #require(offsets.count == 10)
        ByteSurgery.flip(path + "/" + wal, at: offsets[3] + 40)
        let report = try Verifier.verify(store: path)
        #expect(Self.damagedFiles(report) == [wal])
        let problem = try #require(report.files.first { $0.path == wal }?.problems.first)
        #expect(problem.offset == UInt64(offsets[3]), "\(problem)")
        #expect(problem.message.contains("damaged"))
    }

    @Test func aTornTailIsANoteInTheLastFileAndDamageInAnEarlierOne() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        for session in 0..<2 {  // each writer session starts a new WAL file
            let store = try Store(path: path, options: testOptions())
            for i in 0..<5 { _ = try store.put(Self.value(i), forKey: Self.key(10 * session + i), in: "d") }
            try store.close()
        }
        let wal = Self.names(path, under: "wal")
        try #require(wal.count == 2)
        func tear(_ name: String) -> Int {
            let size = ByteSurgery.size(path + "/" + name)  // trimmed at close: ends after its last record
            let handle = FileHandle(forWritingAtPath: path + "/" + name)!
            handle.seekToEndOfFile()
            handle.write(Data([0x2A, 0, 0, 0, 0x40, 0, 0, 0] + [UInt8](repeating: 0xA5, count: 40)))
            handle.closeFile()
            return size
        }
        let lastTear = tear(wal[1])
        var report = try Verifier.verify(store: path)
        #expect(report.isClean, "\(report.files.filter { $0.status != .ok })")
        let note = try #require(report.notes.first { $0.path == wal[1] })
        #expect(note.offset == UInt64(lastTear) && note.message.contains("torn"), "\(note)")

        let firstTear = tear(wal[0])
        report = try Verifier.verify(store: path)
        #expect(Self.damagedFiles(report) == [wal[0]])
        #expect(report.files.first { $0.path == wal[0] }?.problems.map(\.offset) == [UInt64(firstTear)])
    }

    @Test func aGapInTheWALIsDamage() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        for session in 0..<3 {
            let store = try Store(path: path, options: testOptions())
            for i in 0..<3 { _ = try store.put("v", forKey: Self.key(10 * session + i), in: "d") }
            try store.close()
        }
        let wal = Self.names(path, under: "wal")
        try #require(wal.count == 3)
        try FileManager.default.removeItem(atPath: path + "/" + wal[1])
        let report = try Verifier.verify(store: path)
        #expect(Self.damagedFiles(report) == [wal[2]])
        let problem = try #require(report.files.first { $0.path == wal[2] }?.problems.first)
        #expect(problem.offset == 32 && problem.message.contains("LSN"), "\(problem)")
    }

    // MARK: Missing files and leftovers

    @Test func aMissingListedSegmentIsDamage() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try Self.makeStore(dir)
        let segment = try #require(Self.segments(path).last)
        try FileManager.default.removeItem(atPath: path + "/" + segment)
        let report = try Verifier.verify(store: path)
        #expect(report.hasDamage)
        let result = try #require(report.files.first { $0.path == segment })
        #expect(result.status == .missing && result.byteCount == 0)
        #expect(result.problems.count == 1 && result.problems[0].offset == 0 && result.problems[0].message.contains("missing"))
        #expect(Self.damagedFiles(report) == [segment])
    }

    @Test func crashLeftoversAreNotesNotDamage() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try Self.makeStore(dir)
        let segment = try #require(Self.segments(path).first)
        let bytes = ByteSurgery.read(path + "/" + segment)
        ByteSurgery.write(path + "/MANIFEST-0000000000000009.tmp", [1, 2, 3])
        ByteSurgery.write(path + "/dims/alpha/0000000000000777-00000001.seg.tmp", bytes)
        // An unpublished segment (id at or above nextSegmentID) that is junk, and a stray file.
        ByteSurgery.write(path + "/dims/alpha/00000000000003e7-00000001.seg", [UInt8](repeating: 9, count: 400))
        ByteSurgery.write(path + "/dims/alpha/notes.txt", [1])
        let report = try Verifier.verify(store: path)
        #expect(report.isClean, "\(report.files.filter { $0.status != .ok })")
        #expect(!report.hasDamage)
        let notes = Set(report.notes.map(\.path))
        #expect(notes.isSuperset(of: ["MANIFEST-0000000000000009.tmp", "dims/alpha/0000000000000777-00000001.seg.tmp",
                                      "dims/alpha/00000000000003e7-00000001.seg", "dims/alpha/notes.txt"]), "\(report.notes)")
        let junk = try #require(report.files.first { $0.path == "dims/alpha/00000000000003e7-00000001.seg" })
        #expect(junk.status == .ignored && !junk.problems.isEmpty)
    }

    @Test func aValidSegmentThatNoManifestListsIsANote() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try Self.makeStore(dir)
        // Rewrite a manifest without beta: its segment is then an orphan below nextSegmentID.
        let manifests = ManifestStore(io: SystemFileIO(), directory: path, permissions: 0o644)
        var manifest = try manifests.loadNewest().manifest
        manifest.dimensions.removeAll { $0.name == "beta" }
        manifest.generation += 1
        try manifests.publish(manifest)
        let report = try Verifier.verify(store: path)
        #expect(report.isClean)
        let orphan = try #require(Self.segments(path).first { $0.hasPrefix("dims/beta/") })
        #expect(report.files.first { $0.path == orphan }?.status == .ok)
        #expect(report.notes.contains { $0.path == orphan && $0.message.contains("not listed") }, "\(report.notes)")
    }

    // MARK: Read-only and not-a-store

    @Test func verifyChangesNoByteOfADamagedOrCrashedStore() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try Self.makeStore(dir)
        ByteSurgery.flip(path + "/" + Self.segments(path)[0], at: 600)
        ByteSurgery.write(path + "/leftover.tmp", [7])
        let wal = try #require(Self.names(path, under: "wal").last)
        let handle = FileHandle(forWritingAtPath: path + "/" + wal)!
        handle.seekToEndOfFile()
        handle.write(Data([UInt8](repeating: 0x5A, count: 48)))
        handle.closeFile()
        let before = Self.contents(dir)
        let modes = try dir.files(under: "s").map { try FileManager.default.attributesOfItem(atPath: path + "/" + $0)[.modificationDate] as? Date }
        _ = try Verifier.verify(store: path)
        _ = try Inspector.inspect(store: path)
        _ = try Inspector.inspectSegment(store: path, file: Self.segments(path)[0])
        #expect(Self.contents(dir) == before)
        #expect(try dir.files(under: "s").map { try FileManager.default.attributesOfItem(atPath: path + "/" + $0)[.modificationDate] as? Date } == modes)
    }

    @Test func verifyOnlyReadsAndAnUnreadableFileIsNotDamage() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try Self.makeStore(dir)
        let io = FaultInjectingFileIO()
        let report = try Verifier.verify(store: path, io: io, progress: nil)
        #expect(report.isClean)
        let writes: [FaultInjectingFileIO.Operation] = [.write, .sync, .syncData, .allocate, .truncate, .syncMapping, .rename, .remove, .makeDirectory, .syncDirectory]
        for operation in writes { #expect(io.count(operation) == 0, "verify called \(operation)") }
        #expect(io.count(.read) > 0 && io.count(.map) >= 2)

        io.fail(.map, pathContains: "dims/beta/", sticky: true)
        io.fail(.read, pathContains: "wal/", sticky: true)
        let failed = try Verifier.verify(store: path, io: io, progress: nil)
        #expect(!failed.isClean && !failed.hasDamage)
        let bad = failed.files.filter { $0.status != .ok }
        #expect(bad.map(\.status) == Array(repeating: .unreadable, count: bad.count))
        #expect(Set(bad.map(\.path)) == Set(Self.segments(path).filter { $0.hasPrefix("dims/beta/") } + Self.names(path, under: "wal")))
        #expect(bad.allSatisfy { $0.problems.first?.message.contains("injected") == true })
    }

    @Test func aPathThatIsNotAStoreIsAnError() throws {
        let dir = TemporaryDirectory()
        #expect(throws: StoreError.self) { try Verifier.verify(store: dir.child("missing")) }
        do {
            _ = try Verifier.verify(store: dir.child("missing"))
        } catch {
            #expect(error.code == .storeNotFound)
        }
        ByteSurgery.write(dir.child("file"), [1, 2, 3])
        try FileManager.default.createDirectory(atPath: dir.child("foreign"), withIntermediateDirectories: false)
        ByteSurgery.write(dir.child("foreign") + "/notes.txt", [1])
        try FileManager.default.createDirectory(atPath: dir.child("empty"), withIntermediateDirectories: false)
        for name in ["file", "foreign", "empty"] {
            do {
                _ = try Verifier.verify(store: dir.child(name))
                Issue.record("\(name) verified as a store")
            } catch {
                #expect(error.code == .notAStore, "\(name): \(error)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.child("empty")).isEmpty)
    }
}
