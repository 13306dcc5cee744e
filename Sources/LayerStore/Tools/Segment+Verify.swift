//! Checks one segment file from end to end (Formats/segment.md): the header, the footer, the
//! block table and key heap, the hash index, every block's checksum, and every record's
//! decoding and order. Used by `verify` (every segment) and `inspect --segment` (one).
//!
//! Invariants:
//! - Each part is checked on its own, so one damaged part does not hide the others: a damaged
//!   header leaves the footer to locate the sections; a damaged footer leaves the header.
//! - No byte is trusted before the checksum covering it holds, except to *try* a block against
//!   its entry in a table that failed its checksum: a block that matches is certainly intact.
//!   Its failures are then blamed on the table entry, not on the block.
//! - Blocks are hashed straight from the read-only mapping. Records are decoded by the store's
//!   own reader (``Segment/record(in:at:blockIndex:previousLSN:head:)``), so verify accepts exactly what reads do.
//! - Every offset read from the file is bounds-checked before use; nothing here can trap on bad
//!   bytes.

/// A segment footer's fields as found (Formats/segment.md § Footer).
struct SegmentFooterFields: Sendable, Equatable {
    var magic: UInt64
    var blockTableOffset: UInt64
    var indexLength: UInt64
    var indexChecksum: UInt64
    var hashOffset: UInt64
    var hashChecksum: UInt64
    var reserved: UInt64
    var checksum: UInt64
}

/// One block-table entry as found, and what checking its block found.
struct SegmentBlockInfo: Sendable {
    var index: Int
    var offset: UInt64
    var storedLength: UInt32
    var rawLength: UInt32
    var checksum: UInt64
    /// `nil` when the entry itself is invalid, so the block could not be located.
    var checksumHolds: Bool?
    /// The first key from the key heap; `nil` when it lies outside the heap.
    var firstKey: [UInt8]?
}

/// What checking one segment file found.
struct SegmentFileCheck {
    /// The most problems kept per file; the rest are counted (one flipped table byte must not
    /// print a million lines).
    static let problemCountMax = 50

    var byteCount = 0
    /// The header's fields as found, checked or not (`nil` if the file is shorter than a header).
    var headerAsFound: SegmentHeader?
    /// The header, when its checksum and every field and layout check hold.
    var header: SegmentHeader?
    /// Why the header does not hold (`nil` when it does, or when it was not reached).
    var headerProblem: String?
    var footer: SegmentFooterFields?
    var footerHolds = false
    /// Why the footer does not hold.
    var footerProblem: String?
    /// Whether the block table + key heap and the hash index checksums hold (`nil`: not checkable).
    var indexHolds: Bool?
    var hashHolds: Bool?
    /// The block table (only when asked for: `inspect --segment`).
    var blocks: [SegmentBlockInfo] = []
    var blockCount: Int?
    var usedHashSlotCount: Int?
    var problems: [VerificationReport.Problem] = []
    /// Things that could not be checked because of other damage.
    var notes: [(offset: UInt64?, message: String)] = []
    /// The header announces a newer format or codec: the problems mean "not checked".
    var unsupported = false
    private var suppressedProblemCount = 0

    /// Opens, maps and checks the segment file at `path` (segment `id`, `version` of `storeID`).
    /// - Parameter progress: called with the bytes of the file checked so far.
    /// - Throws: only I/O errors (opening, mapping); damage is in the result.
    static func check(io: any FileIO, path: String, storeID: UInt64, id: UInt64, version: UInt32,
                      collectBlocks: Bool, progress: (Int) -> Void) throws(StoreError) -> SegmentFileCheck {
        let manager = MmapManager(segmentAdvice: .sequential)
        // The store's reader decodes the records when it can open the file (header and footer
        // hold). Its mapping then serves every check, so each page is faulted in only once.
        let segment = try? Segment(io: io, path: path, storeID: storeID, id: id, version: version, listed: nil,
                                   manager: manager, verification: .firstRead)
        var region = try segment?.region.mapped()
        if region == nil {
            let fd = try io.open(path, [], permissions: 0)
            defer { io.close(fd) }
            let length = Int(try io.size(fd, path: path))
            if length > 0 {
                region = try MmapRegion(io: io, fd: fd, path: path, count: length, manager: manager)
                region?.advise(.sequential)
            }
        }
        var check = SegmentFileCheck()
        guard let region else {
            check.problem(0, "the file is empty")
            return check
        }
        check.byteCount = region.count
        withExtendedLifetime(region) {
            // The pass only calls `progress` while it runs: it does not outlive this call.
            withoutActuallyEscaping(progress) { progress in
                var run = Pass(bytes: region.bytes, seed: SegmentFormat.fileSeed(storeID: storeID, segmentID: id, version: version),
                               segment: segment, collectBlocks: collectBlocks, progress: progress)
                run.examine(&check, storeID: storeID, id: id, version: version, path: path)
            }
        }
        if check.suppressedProblemCount > 0 {
            check.problems.append(.init(offset: check.problems.last!.offset, message: "… and \(check.suppressedProblemCount) more problems"))
        }
        return check
    }

    fileprivate mutating func problem(_ offset: UInt64, _ message: String) {
        guard problems.count < SegmentFileCheck.problemCountMax else {
            suppressedProblemCount += 1
            return
        }
        problems.append(VerificationReport.Problem(offset: offset, message: message))
    }
}

/// One pass over a mapped segment file.
private struct Pass {
    let bytes: UnsafeRawBufferPointer
    let seed: UInt64
    let segment: Segment?
    let collectBlocks: Bool
    let progress: (Int) -> Void
    /// The previous record's key and LSN; `nil` after a block that could not be decoded.
    var previous: (key: SegmentKey, lsn: LSN)?
    /// Keeps the decompressed block `previous.key` points into alive (LZ4 segments).
    var previousOwner: DecodedBlock?
    var isFirstRecord = true
    var recordCount: UInt64 = 0
    var keyCount: UInt64 = 0
    /// `false` once any block or record could not be decoded: the counts are then partial.
    var decodedAll = true

    mutating func examine(_ check: inout SegmentFileCheck, storeID: UInt64, id: UInt64, version: UInt32, path: String) {
        let minimum = SegmentFormat.headerByteCount + SegmentFormat.footerByteCount
        guard bytes.count >= minimum else {
            check.problem(0, "the file is \(bytes.count) bytes, shorter than a header and a footer (\(minimum))")
            return
        }
        check.headerAsFound = SegmentHeader.asFound(bytes)
        do throws(StoreError) {
            let header = try SegmentHeader.decode(bytes, storeID: storeID, segmentID: id, version: version, path: path)
            if header.fileLength == UInt64(bytes.count) {
                check.header = header
            } else {
                check.headerProblem = "the header says the file is \(header.fileLength) bytes; it is \(bytes.count)"
                check.problem(80, check.headerProblem!)
            }
        } catch {
            check.unsupported = error.code == .unsupportedFormat
            check.headerProblem = error.message
            check.problem(error.offset ?? 0, "header: " + error.message)
        }
        checkFooter(&check)
        checkSections(&check)
        checkBlocks(&check)
        checkHashSlots(&check)
        if let header = check.header, decodedAll, segment != nil {
            if recordCount != header.recordCount {
                check.problem(56, "the header says \(header.recordCount) records; the blocks hold \(recordCount)")
            }
            if keyCount != header.keyCount {
                check.problem(64, "the header says \(header.keyCount) keys; the blocks hold \(keyCount)")
            }
        }
        progress(bytes.count)
    }

    // MARK: Footer and sections

    func checkFooter(_ check: inout SegmentFileCheck) {
        let at = bytes.count - SegmentFormat.footerByteCount
        var r = ByteReader(bytes, position: at)
        let footer = SegmentFooterFields(magic: r.u64()!, blockTableOffset: r.u64()!, indexLength: r.u64()!, indexChecksum: r.u64()!,
                                         hashOffset: r.u64()!, hashChecksum: r.u64()!, reserved: r.u64()!, checksum: r.u64()!)
        check.footer = footer
        let sum = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: bytes[at..<(at + SegmentFormat.footerChecksumOffset)]),
                                seed: Checksum.seed(file: seed, offset: UInt64(at)))
        let (table, hash) = (footer.blockTableOffset, footer.hashOffset)
        if footer.magic != SegmentFormat.footerMagic {
            check.footerProblem = "bad magic"
        } else if footer.checksum != sum {
            check.footerProblem = "footer checksum mismatch"
        } else if footer.reserved != 0 || table < UInt64(SegmentFormat.headerByteCount) || hash < table || hash > UInt64(at)
                    || hash % 8 != 0 || footer.indexLength != hash - table {
            check.footerProblem = "footer fields are inconsistent (block table at \(table), hash index at \(hash), index length \(footer.indexLength))"
        } else if let header = check.header, header.blockTableOffset != table || header.hashOffset != hash {
            check.footerProblem = "the footer (block table at \(table), hash index at \(hash)) disagrees with the header (\(header.blockTableOffset), \(header.hashOffset))"
        } else {
            check.footerHolds = true
        }
        if let problem = check.footerProblem { check.problem(UInt64(at), "footer: " + problem) }
    }

    /// Checks the block table + key heap and the hash index as whole sections.
    func checkSections(_ check: inout SegmentFileCheck) {
        guard check.footerHolds, let footer = check.footer else {
            if check.header != nil {
                check.notes.append((nil, "the block table and hash index checksums are in the damaged footer: those sections are not verified"))
            }
            return
        }
        let (table, hash, end) = (Int(footer.blockTableOffset), Int(footer.hashOffset), bytes.count - SegmentFormat.footerByteCount)
        check.indexHolds = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: bytes[table..<hash]), seed: Checksum.seed(file: seed, offset: UInt64(table))) == footer.indexChecksum
        if check.indexHolds == false { check.problem(UInt64(table), "block table checksum mismatch (block table and key heap, \(hash - table) bytes)") }
        check.hashHolds = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: bytes[hash..<end]), seed: Checksum.seed(file: seed, offset: UInt64(hash))) == footer.hashChecksum
        if check.hashHolds == false { check.problem(UInt64(hash), "hash index checksum mismatch (\(end - hash) bytes)") }
    }

    // MARK: Blocks and records

    /// Checks every block against its table entry, and decodes its records.
    mutating func checkBlocks(_ check: inout SegmentFileCheck) {
        let located: (table: UInt64, hash: UInt64)? = check.header.map { ($0.blockTableOffset, $0.hashOffset) }
            ?? (check.footerHolds ? check.footer.map { ($0.blockTableOffset, $0.hashOffset) } : nil)
        guard let (table, hash) = located else {
            decodedAll = false
            check.notes.append((nil, "blocks not checked: neither the header nor the footer locates the block table"))
            return
        }
        guard let blockCount = check.header.map({ Int($0.blockCount) }) ?? (check.indexHolds == true ? inferBlockCount(table: table, hash: hash) : nil) else {
            decodedAll = false
            check.notes.append((table, "blocks not checked: the header is damaged and the block table cannot be trusted to count them"))
            return
        }
        check.blockCount = blockCount
        // LZ4 blocks (codec 1, cold segments) are checksummed as stored, then decompressed.
        let isLZ4 = (check.header ?? check.headerAsFound)?.codec == SegmentFormat.codecLZ4
        let heap = table + UInt64(blockCount * SegmentFormat.blockEntryByteCount)
        var expectedStart: UInt64? = UInt64(SegmentFormat.headerByteCount)
        for i in 0..<blockCount {
            let at = table + UInt64(i * SegmentFormat.blockEntryByteCount)
            guard at + UInt64(SegmentFormat.blockEntryByteCount) <= hash else {
                check.problem(at, "block table entry \(i) runs past the block table")
                decodedAll = false
                break
            }
            var r = ByteReader(bytes, position: Int(at))
            var info = SegmentBlockInfo(index: i, offset: r.u64()!, storedLength: r.u32()!, rawLength: r.u32()!, checksum: r.u64()!)
            let firstKey = key(inHeap: heap, end: hash, offset: r.u32()!, length: r.u16()!)
            let prefixLength = Int(r.u16()!)  // version 3; reserved before
            if collectBlocks { info.firstKey = firstKey.map { [UInt8]($0) } }
            defer { if collectBlocks { check.blocks.append(info) } }
            if firstKey == nil && check.indexHolds != false { check.problem(at + 24, "block \(i)'s first key lies outside the key heap") }
            guard info.offset >= UInt64(SegmentFormat.headerByteCount), info.storedLength >= 1, info.rawLength >= 1,
                Int(info.rawLength) <= SegmentFormat.rawBlockByteCountMax, info.storedLength == info.rawLength || isLZ4,
                info.offset <= table, UInt64(info.storedLength) <= table - info.offset
            else {
                check.problem(at, "block table entry \(i) is invalid (offset \(info.offset), stored \(info.storedLength), raw \(info.rawLength) bytes)")
                (expectedStart, previous, decodedAll) = (nil, nil, false)
                continue
            }
            if let expected = expectedStart, info.offset != expected {
                check.problem(at, "block \(i) starts at \(info.offset), expected \(expected): blocks follow each other with no gap")
            }
            expectedStart = info.offset + UInt64(info.storedLength)
            let block = UnsafeRawBufferPointer(rebasing: bytes[Int(info.offset)..<Int(info.offset + UInt64(info.storedLength))])
            let holds = Checksum.xxh3(block, seed: Checksum.seed(file: seed, offset: info.offset)) == info.checksum
            info.checksumHolds = holds
            if !holds {
                if check.indexHolds == false {
                    check.problem(at, "block \(i) does not match its entry in the damaged block table")
                } else {
                    check.problem(info.offset, "block \(i) checksum mismatch (\(info.storedLength) bytes)")
                }
                (previous, decodedAll) = (nil, false)
            } else if let segment {
                let firstKey = check.indexHolds == true ? firstKey : nil
                if !isLZ4 {
                    decodeRecords(block, owner: nil, index: i, fileOffset: info.offset, firstKey: firstKey, prefixLength: prefixLength, entry: at,
                                  segment: segment, check: &check)
                } else if let decoded = DecodedBlock(decompressing: block, rawByteCount: Int(info.rawLength)) {
                    decodeRecords(decoded.bytes, owner: decoded, index: i, fileOffset: info.offset, firstKey: firstKey, prefixLength: prefixLength, entry: at,
                                  segment: segment, check: &check)
                } else {
                    check.problem(info.offset, "block \(i) does not decompress (LZ4) to its \(info.rawLength) bytes")
                    (previous, decodedAll) = (nil, false)
                }
            }
            progress(Int(expectedStart!))
        }
        if let end = expectedStart, end != table {
            check.problem(table, "the blocks end at \(end), but the block table starts at \(table)")
        }
    }

    /// Decodes every record of a verified block; checks key order, version order, the block's
    /// first key, and that the hash index reaches each key's newest version.
    /// - Parameter owner: keeps a decompressed block's bytes alive (`nil`: they are the mapping).
    /// - Parameter prefixLength: version 3: the length of the block's keys' shared prefix, the
    ///   start of `firstKey` (which must then be known: records cannot be decoded without it).
    mutating func decodeRecords(_ block: UnsafeRawBufferPointer, owner: DecodedBlock?, index: Int, fileOffset: UInt64,
                                firstKey: UnsafeRawBufferPointer?, prefixLength: Int, entry: UInt64, segment: Segment,
                                check: inout SegmentFileCheck) {
        let earlier = previousOwner  // the previous key may point into the block before this one
        defer {
            withExtendedLifetime(earlier) {}
            previousOwner = owner
        }
        var head = BlockHead.plain(minLSN: segment.layout.minLSN)
        if segment.layout.isCompact {
            guard let firstKey else {
                check.problem(entry + 24, "records of block \(index) not decoded: their key prefix is in the damaged block table")
                (previous, decodedAll) = (nil, false)
                return
            }
            guard prefixLength <= firstKey.count,
                let decoded = BlockHead.decode(block, prefix: UnsafeRawBufferPointer(rebasing: firstKey[0..<prefixLength]),
                                               minLSN: segment.layout.minLSN, lsnDeltaMax: segment.layout.maxLSN - segment.layout.minLSN)
            else {
                check.problem(prefixLength <= firstKey.count ? fileOffset : entry + 30, "block \(index)'s head (shared prefix, base LSN, lengths) is malformed")
                (previous, decodedAll) = (nil, false)
                return
            }
            head = decoded
        }
        var (position, previousLSN) = (head.recordsStart, segment.layout.minLSN)
        while position < block.count {
            // In a decompressed block a record has no file offset of its own: name the block's.
            let at = fileOffset + (owner == nil ? UInt64(position) : 0)
            guard let (record, next) = try? segment.record(in: block, at: position, blockIndex: index, previousLSN: previousLSN, head: head) else {
                check.problem(at, "record at byte \(position) of block \(index) does not decode")
                (previous, decodedAll) = (nil, false)
                return
            }
            if position == head.recordsStart, let firstKey, !keysEqual(record.key, firstKey) {
                check.problem(entry + 24, "block \(index)'s first key in the key heap differs from its first record's key")
            }
            var isNewKey = isFirstRecord
            if let previous {
                let order = compareKeys(previous.key, record.key)
                if order > 0 { check.problem(at, "key out of order: smaller than the key before it") }
                if order == 0 && record.lsn >= previous.lsn {
                    check.problem(at, "versions out of order: LSN \(record.lsn) follows LSN \(previous.lsn) of the same key")
                }
                isNewKey = order != 0
            }
            if isNewKey {
                keyCount += 1
                if check.hashHolds == true, let header = check.header, header.hasHashIndex,
                    !reachable(record.key, block: index, offset: position, header: header) {
                    check.problem(header.hashOffset, "the hash index does not lead to the key at byte \(position) of block \(index)")
                }
            }
            (recordCount, previous, isFirstRecord) = (recordCount + 1, (record.key, record.lsn), false)
            (position, previousLSN) = (next, record.lsn)
        }
    }

    /// `true` if probing the hash index for `key` reaches the slot for (`block`, `offset`), as a
    /// point lookup would (Formats/segment.md § Point lookup).
    func reachable(_ key: SegmentKey, block: Int, offset: Int, header: SegmentHeader) -> Bool {
        let layout = header.slotLayout
        guard offset < 1 << layout.offsetBits, block < 1 << layout.blockBits else { return false }
        let slots = UnsafeRawBufferPointer(rebasing: bytes[Int(header.hashOffset)..<Int(header.footerOffset)])
        let hash = key.array.withUnsafeBytes { Checksum.keyHash($0) }, slotCount = Int(header.hashSlotCount)
        let wanted = layout.slot(hash: hash, block: block, offset: offset)
        var i = SegmentFormat.startSlot(hash, slotCount: slotCount)
        for _ in 0..<slotCount {
            let slot = layout.load(slots, i)!  // inside: checkLayout holds for a trusted header
            if slot == wanted { return true }
            if slot == 0 { return false }
            i = i + 1 == slotCount ? 0 : i + 1
        }
        return false
    }

    /// Every used hash slot must name an existing block, and there must be one per key (a
    /// segment without a hash index has none to check).
    func checkHashSlots(_ check: inout SegmentFileCheck) {
        guard check.hashHolds == true, let header = check.header, header.hasHashIndex else { return }
        var used = 0
        let layout = header.slotLayout
        let slots = UnsafeRawBufferPointer(rebasing: bytes[Int(header.hashOffset)...])
        for i in 0..<Int(header.hashSlotCount) {
            let slot = layout.load(slots, i)!  // inside: checkLayout holds for a trusted header
            guard slot != 0 else { continue }
            used += 1
            if layout.block(ofSlot: slot) >= Int(header.blockCount) || layout.tag(ofSlot: slot) >> UInt64(layout.tagBits - 1) != 1 {
                check.problem(header.hashOffset + UInt64(i * layout.byteCount),
                              "hash slot \(i) is invalid (block \(layout.block(ofSlot: slot)) of \(header.blockCount))")
            }
        }
        check.usedHashSlotCount = used
        if UInt64(used) != header.keyCount {
            check.problem(header.hashOffset, "the hash index holds \(used) keys; the header says \(header.keyCount)")
        }
    }

    // MARK: Helpers

    /// The key at `offset` in the key heap starting at `heap` (which ends by `end`).
    func key(inHeap heap: UInt64, end: UInt64, offset: UInt32, length: UInt16) -> UnsafeRawBufferPointer? {
        let start = heap + UInt64(offset), stop = start + UInt64(length)
        guard length >= 1, heap <= end, stop <= end else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[Int(start)..<Int(stop)])
    }

    /// With no trusted header, the number of blocks a (checksum-verified) block table holds:
    /// the entries until the blocks, following each other from 256, reach the table.
    func inferBlockCount(table: UInt64, hash: UInt64) -> Int? {
        var expected = UInt64(SegmentFormat.headerByteCount)
        var i = 0
        while table + UInt64((i + 1) * SegmentFormat.blockEntryByteCount) <= hash {
            var r = ByteReader(bytes, position: Int(table) + i * SegmentFormat.blockEntryByteCount)
            let offset = r.u64()!, stored = UInt64(r.u32()!)
            guard offset == expected, stored >= 1, stored <= table - offset else { return nil }
            expected += stored
            i += 1
            if expected == table { return i }
        }
        return nil
    }
}

extension SegmentHeader {
    /// The header's fields exactly as found, with no check at all: for showing a damaged header.
    static func asFound(_ bytes: UnsafeRawBufferPointer) -> SegmentHeader? {
        guard bytes.count >= SegmentFormat.headerByteCount else { return nil }
        var r = ByteReader(bytes, position: 16)
        var h = SegmentHeader(
            storeID: r.u64()!, segmentID: r.u64()!, version: r.u32()!, codec: r.u8()!, dimension: "",
            minLSN: 0, maxLSN: 0, recordCount: 0, keyCount: 0, newestRecordTime: 0, fileLength: 0,
            blockCount: 0, blockByteCountTarget: 0, hashSlotCount: 0, blockTableOffset: 0, hashOffset: 0, footerOffset: 0)
        let nameLength = min(Int(r.u8()!), SegmentFormat.dimensionNameFieldByteCount)
        _ = r.u16()
        (h.minLSN, h.maxLSN, h.recordCount, h.keyCount) = (r.u64()!, r.u64()!, r.u64()!, r.u64()!)
        (h.newestRecordTime, h.fileLength) = (r.u64()!, r.u64()!)
        (h.blockCount, h.blockByteCountTarget, h.hashSlotCount) = (r.u32()!, r.u32()!, r.u32()!)
        _ = r.u32()
        (h.blockTableOffset, h.hashOffset, h.footerOffset) = (r.u64()!, r.u64()!, r.u64()!)
        let name = bytes[SegmentFormat.dimensionNameOffset..<(SegmentFormat.dimensionNameOffset + nameLength)]
        h.dimension = String(decoding: name, as: UTF8.self)
        return h
    }
}
