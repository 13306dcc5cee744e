import Testing
@testable import LayerStore

@Suite struct ManifestTests {
    static let manifest = Manifest(
        storeID: 99, generation: 7, checkpointLSN: 500, nextSegmentID: 12,
        dimensions: [
            ManifestDimension(name: "alpha", segments: [
                SegmentDescriptor(id: 3, version: 1, codec: 0, minLSN: 1, maxLSN: 100, recordCount: 90, fileLength: 4096),
                SegmentDescriptor(id: 9, version: 2, codec: 1, minLSN: 101, maxLSN: 400, recordCount: 250, fileLength: 9000),
            ]),
            ManifestDimension(name: "beta", segments: [
                SegmentDescriptor(id: 11, version: 1, codec: 0, minLSN: 401, maxLSN: 500, recordCount: 100, fileLength: 777),
            ]),
        ])

    @Test func roundTrips() throws {
        let bytes = ManifestCodec.encode(Self.manifest)
        #expect(try ManifestCodec.decode(bytes, generation: 7, path: "m") == Self.manifest)
        #expect(try ManifestCodec.decode(ManifestCodec.encode(.initial(storeID: 5)), generation: 1, path: "m") == .initial(storeID: 5))
    }

    @Test func everySingleBitFlipAndTruncationIsRefused() {
        let bytes = ManifestCodec.encode(Self.manifest)
        for offset in 0..<bytes.count {
            for mask: UInt8 in [0x01, 0x80] {
                var damaged = bytes
                damaged[offset] ^= mask
                do {
                    _ = try ManifestCodec.decode(damaged, generation: 7, path: "m")
                    Issue.record("flip \(mask) at \(offset) accepted")
                } catch {
                    #expect(error.code == .corrupted, "offset \(offset)")
                }
            }
        }
        for length in 0..<bytes.count {
            #expect(throws: StoreError.self) { _ = try ManifestCodec.decode(Array(bytes[0..<length]), generation: 7, path: "m") }
        }
        // A manifest renamed to another generation fails: the checksum is bound to its name.
        #expect(throws: StoreError.self) { _ = try ManifestCodec.decode(bytes, generation: 8, path: "m") }
    }

    @Test func malformedContentsAreRefusedEvenWithAValidChecksum() {
        var overlapping = Self.manifest
        overlapping.dimensions[0].segments[1].minLSN = 50  // overlaps the previous segment
        var beyondCheckpoint = Self.manifest
        beyondCheckpoint.checkpointLSN = 450
        var unsorted = Self.manifest
        unsorted.dimensions.reverse()
        var idTooHigh = Self.manifest
        idTooHigh.nextSegmentID = 11
        for bad in [overlapping, beyondCheckpoint, unsorted, idTooHigh] {
            #expect(!bad.isWellFormed())
            // Encode without the publish-time assertion, as a crafted file would be.
            #expect(throws: StoreError.self) { _ = try ManifestCodec.decode(ManifestCodec.encode(bad), generation: 7, path: "m") }
        }
    }

    @Test func aNewerVersionWithAValidChecksumIsUnsupported() {
        var bytes = ManifestCodec.encode(Self.manifest)
        bytes[8] = 2
        let sum = Checksum.xxh3(Array(bytes.dropLast(8)), seed: ManifestFormat.seed(generation: 7))
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { bytes[bytes.count - 8 + i] = $0[i] } }
        do { _ = try ManifestCodec.decode(bytes, generation: 7, path: "m"); Issue.record("accepted") } catch {
            #expect(error.code == .unsupportedFormat)
        }
    }

    @Test func namesRoundTrip() {
        #expect(ManifestFormat.fileName(0x1F) == "MANIFEST-000000000000001f")
        #expect(ManifestFormat.generation("MANIFEST-000000000000001f") == 0x1F)
        #expect(ManifestFormat.generation("MANIFEST-000000000000001f.tmp") == nil)
        #expect(ManifestFormat.generation("MANIFEST-xyz") == nil)
    }
}
