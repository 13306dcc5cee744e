import Foundation
import Testing
@testable import LayerStore

/// `Inspector`: the store summary agrees with what was written; a segment is shown field by
/// field, and a damaged or truncated one is shown as found next to what failed, never a crash.
@Suite struct InspectorTests {
    typealias V = VerifierTests

    static func manifest(_ path: String) throws -> Manifest {
        try ManifestStore(io: SystemFileIO(), directory: path, permissions: 0).loadNewest().manifest
    }

    @Test func theSummaryShowsManifestsDimensionsSegmentsAndTheWAL() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try V.makeStore(dir)
        let manifest = try Self.manifest(path)
        let s = try Inspector.inspect(store: path)
        #expect(s.formatVersion == 1)
        #expect(s.storeID == manifest.storeID)
        #expect(s.generation == manifest.generation)
        #expect(s.manifests.map(\.name) == V.names(path, under: "", prefix: "MANIFEST-").reversed())
        #expect(s.manifests.allSatisfy { $0.status == "valid" && $0.reason == nil })
        #expect(s.skippedManifests.isEmpty)
        #expect(s.checkpointLSN == manifest.checkpointLSN && s.checkpointLSN == 181)  // 180 puts + 1 in the first two batches
        #expect(s.nextSegmentID == manifest.nextSegmentID)
        #expect(s.dimensions.map(\.name) == ["alpha", "beta"])
        for (shown, listed) in zip(s.dimensions, manifest.dimensions) {
            #expect(shown.segments.map(\.id) == listed.segments.map(\.id))
            #expect(shown.segments.map(\.recordCount) == listed.segments.map(\.recordCount))
            #expect(shown.segments.allSatisfy { $0.present && $0.codec == 0 && $0.version == 1 })
            #expect(shown.segments.map { Int($0.byteCount) } == shown.segments.map { ByteSurgery.size(path + "/" + $0.path) })
        }
        #expect(s.dimensions[0].recordCount == 121 && s.dimensions[1].recordCount == 60)
        // Six puts after the flush, each its own record, all above the checkpoint.
        #expect(s.wal.map(\.path) == V.names(path, under: "wal"))
        #expect(s.walRecordsAboveCheckpoint == 6)
        #expect(s.walLSNsAboveCheckpoint == 182...187)
        let last = try #require(s.wal.last)
        #expect(last.baseLSN == 182 && last.recordCount == 6 && last.firstLSN == 182 && last.lastLSN == 187)
        #expect(last.end.hasPrefix("clean"))
        let total = (V.names(path, under: "", prefix: "MANIFEST-") + V.segments(path) + V.names(path, under: "wal"))
            .reduce(0) { $0 + ByteSurgery.size(path + "/" + $1) }
        #expect(s.totalByteCount == total)
    }

    @Test func aSkippedManifestAndAMissingSegmentAreShown() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try V.makeStore(dir)
        let manifests = V.names(path, under: "", prefix: "MANIFEST-")
        ByteSurgery.flip(path + "/" + manifests[1], at: 40)
        let segment = try #require(V.segments(path).last)
        try FileManager.default.removeItem(atPath: path + "/" + segment)
        let s = try Inspector.inspect(store: path)
        #expect(s.skippedManifests.map(\.name) == [manifests[1]])
        #expect(s.skippedManifests[0].status == "damaged" && s.skippedManifests[0].reason?.contains("checksum") == true)
        #expect(s.generation == ManifestFormat.generation(manifests[0]))
        #expect(s.dimensions.flatMap(\.segments).filter { !$0.present }.map(\.path) == [segment])
    }

    @Test func aStoreWithNoValidManifestCannotBeInspected() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try V.makeStore(dir)
        for name in V.names(path, under: "", prefix: "MANIFEST-") { ByteSurgery.flip(path + "/" + name, at: 70) }
        do {
            _ = try Inspector.inspect(store: path)
            Issue.record("inspected a store with no valid manifest")
        } catch {
            #expect(error.code == .corrupted && error.message.contains("verify"))
        }
    }

    @Test func aSegmentIsShownFieldByField() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try V.makeStore(dir)
        let segment = try #require(V.segments(path).first)
        let manifest = try Self.manifest(path)
        let (id, version) = try #require(SegmentName.parse(String(segment.split(separator: "/").last!)))
        let header = try ByteSurgery.read(path + "/" + segment).withBytes { (raw) throws(StoreError) in
            try SegmentHeader.decode(raw, storeID: manifest.storeID, segmentID: id, version: version, path: segment)
        }
        let s = try Inspector.inspectSegment(store: path, file: segment)
        #expect(s.segmentID == id && s.version == version && s.dimension == "alpha")
        #expect(s.listedIn == ManifestFormat.fileName(manifest.generation))
        let h = try #require(s.header)
        #expect(h.status == "ok" && h.magic == hexID(SegmentFormat.magic) && h.formatVersion == 3 && h.headerLength == 256)
        #expect(h.storeID == hexID(manifest.storeID) && h.dimension == "alpha")
        #expect(h.recordCount == header.recordCount && h.keyCount == header.keyCount && h.blockCount == header.blockCount)
        #expect(h.blockTableOffset == header.blockTableOffset && h.hashOffset == header.hashOffset && h.footerOffset == header.footerOffset)
        let f = try #require(s.footer)
        #expect(f.status == "ok" && f.offset == Int(header.footerOffset) && f.blockTableOffset == header.blockTableOffset)
        #expect(s.blocks.count == Int(header.blockCount))
        #expect(s.blocks.first?.offset == 256 && s.blocks.first?.firstKey == "k000")
        #expect(s.blocks.first?.firstKeyHex == "6b303030")
        #expect(s.blocks.allSatisfy { $0.status == "ok" && $0.storedLength == $0.rawLength && $0.firstKey?.hasPrefix("k") == true })
        #expect(zip(s.blocks, s.blocks.dropFirst()).allSatisfy { $0.offset + UInt64($0.storedLength) == $1.offset })
        let hash = try #require(s.hashIndex)
        #expect(hash.status == "ok" && hash.slotCount == header.hashSlotCount && hash.usedSlotCount == Int(header.keyCount))
        #expect(hash.fill.map { $0 > 0.5 && $0 <= 0.8 } == true)
        #expect(s.checks.status == .ok && s.checks.problems.isEmpty)
        // The same file by an absolute path.
        #expect(try Inspector.inspectSegment(store: path, file: path + "/" + segment).blocks.count == s.blocks.count)
    }

    @Test func aDamagedSegmentIsShownAsFoundWithWhatFailed() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try V.makeStore(dir)
        let segment = try #require(V.segments(path).first)
        let file = path + "/" + segment
        let pristine = ByteSurgery.read(file)

        // A damaged header: the fields are still shown, the blocks found through the footer.
        ByteSurgery.flip(file, at: 64)  // keyCount
        var s = try Inspector.inspectSegment(store: path, file: segment)
        #expect(s.header?.status.contains("checksum") == true, "\(String(describing: s.header))")
        #expect(s.header?.dimension == "alpha")
        #expect(s.footer?.status == "ok")
        #expect(!s.blocks.isEmpty && s.blocks.allSatisfy { $0.status == "ok" })
        #expect(s.checks.status == .damaged && s.checks.problems.map(\.offset) == [0])

        // A damaged block: that block's status says so.
        ByteSurgery.write(file, pristine)
        let second = Int(VerifierTests.u64(file, at: Int(VerifierTests.u64(file, at: 104)) + 32))
        ByteSurgery.flip(file, at: second + 5)
        s = try Inspector.inspectSegment(store: path, file: segment)
        #expect(s.blocks.map(\.status) == ["ok", "checksum mismatch"] + Array(repeating: "ok", count: s.blocks.count - 2))
        #expect(s.checks.problems.map(\.offset) == [UInt64(second)])

        // A damaged footer.
        ByteSurgery.write(file, pristine)
        ByteSurgery.flip(file, at: pristine.count - 3)
        s = try Inspector.inspectSegment(store: path, file: segment)
        #expect(s.footer?.status.contains("checksum") == true)
        #expect(s.hashIndex?.status == "not checked")
        #expect(s.checks.notes.contains { $0.message.contains("not verified") })

        // Truncated below a header and a footer, and empty: reported, not a crash.
        ByteSurgery.write(file, Array(pristine.prefix(200)))
        s = try Inspector.inspectSegment(store: path, file: segment)
        #expect(s.header == nil && s.footer == nil && s.blocks.isEmpty)
        #expect(s.checks.status == .damaged && s.checks.problems.contains { $0.message.contains("shorter") })
        ByteSurgery.write(file, [])
        s = try Inspector.inspectSegment(store: path, file: segment)
        #expect(s.byteCount == 0 && s.checks.problems.contains { $0.message.contains("empty") })
        // Garbage of a plausible size.
        ByteSurgery.write(file, [UInt8](repeating: 0xFF, count: pristine.count))
        s = try Inspector.inspectSegment(store: path, file: segment)
        #expect(s.checks.status == .damaged && s.blocks.isEmpty)
    }

    @Test func aFileThatIsNotASegmentIsAUsageError() throws {
        let dir = TemporaryDirectory()
        let (path, _) = try V.makeStore(dir)
        for file in ["nope.seg", "MANIFEST-0000000000000002", "wal"] {
            do {
                _ = try Inspector.inspectSegment(store: path, file: file)
                Issue.record("\(file) inspected as a segment")
            } catch {
                #expect(error.code == .invalidArgument, "\(file): \(error)")
            }
        }
    }
}
