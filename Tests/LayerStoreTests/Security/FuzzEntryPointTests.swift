import Foundation
import Testing
@_spi(Fuzzing) @testable import LayerStore

/// The fuzz targets' entry points (tools/fuzz) read the golden vectors all the way through, so
/// the fuzzers start from inputs that reach every reader; and every input a fuzzer ever
/// crashed on, kept in `Tests/LayerStoreTests/Security/FuzzInputs/<target>/`, stays harmless.
@Suite struct FuzzEntryPointTests {
    static let vectors = GoldenVectorTests.vectorsDirectory

    static func vector(_ name: String) -> [UInt8] { ByteSurgery.read(vectors + "/" + name) }

    /// One `kind:u8 length:u32le bytes` entry of an `openStore` input.
    static func entry(_ kind: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        [kind] + (0..<4).map { UInt8(truncatingIfNeeded: bytes.count >> (8 * $0)) } + bytes
    }

    @Test func theGoldenVectorsReachEveryReader() throws {
        #expect(FuzzEntryPoints.parseWAL(Self.vector("0000000000000001.wal")) > 0)
        #expect(FuzzEntryPoints.parseSegment(Self.vector("0000000000000001-00000001.seg")) > 0)
        #expect(FuzzEntryPoints.parseSegment(Self.vector("0000000000000001-00000002.seg")) > 0)
        #expect(FuzzEntryPoints.parseManifest(Self.vector("MANIFEST-0000000000000002")) > 0)
        let store = Self.entry(0, Self.vector("MANIFEST-0000000000000002"))
            + Self.entry(1, Self.vector("0000000000000001-00000001.seg")) + Self.entry(2, Self.vector("0000000000000001.wal"))
        #expect(FuzzEntryPoints.openStore(store) > 0)
    }

    @Test func emptyAndTinyInputsAreHarmless() {
        for n in 0..<80 {
            let bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: n * 37), count: n)
            _ = FuzzEntryPoints.parseWAL(bytes)
            _ = FuzzEntryPoints.parseSegment(bytes)
            _ = FuzzEntryPoints.parseManifest(bytes)
            _ = FuzzEntryPoints.openStore(bytes)
        }
    }

    /// Inputs that once crashed a fuzz target: each is read again by the same entry point.
    @Test func inputsThatOnceCrashedAFuzzerAreHarmless() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzInputs").path
        let entries: [String: ([UInt8]) -> Int] = [
            "FuzzWAL": FuzzEntryPoints.parseWAL, "FuzzSegment": FuzzEntryPoints.parseSegment,
            "FuzzManifest": FuzzEntryPoints.parseManifest, "FuzzStore": FuzzEntryPoints.openStore,
        ]
        for (target, read) in entries {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + target)) ?? [] {
                _ = read(ByteSurgery.read(root + "/" + target + "/" + name))
            }
        }
    }
}
