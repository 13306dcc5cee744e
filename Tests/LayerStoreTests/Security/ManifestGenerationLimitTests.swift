import Foundation
import Testing
@testable import LayerStore

/// A file named as a manifest of a generation no manifest can have (at or above 2^63 − 1,
/// manifest.md § Invariants) is damage like any other; `recover` must not count from it.
/// Found by FuzzStore: `recover --dry-run` of a store holding `MANIFEST-ffffffffffffffff`
/// trapped on an arithmetic overflow (`h + 1`); the input is in FuzzInputs/FuzzStore.
@Suite struct ManifestGenerationLimitTests {
    /// A store of one flushed dimension, closed.
    func makeStore(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try store.put("v", forKey: "k", in: "d")
        try store.flush()
        try store.put("w", forKey: "k2", in: "d")
        try store.close()
        return path
    }

    @Test(arguments: ["ffffffffffffffff", "8000000000000000", "7fffffffffffffff"])
    func aHugeManifestNameBesideValidOnesIsQuarantined(generation: String) throws {
        let dir = TemporaryDirectory("gen")
        let path = try makeStore(dir)
        ByteSurgery.write(path + "/MANIFEST-" + generation, [UInt8](repeating: 0x5A, count: 100))
        let dry = try Recoverer.run(path: path, dryRun: true, salvage: false, options: testOptions())
        #expect(dry.manifestsSkipped.map(\.file) == ["MANIFEST-" + generation])
        let report = try Recoverer.run(path: path, dryRun: false, salvage: false, options: testOptions())
        #expect(report.consistent)
        #expect(!FileManager.default.fileExists(atPath: path + "/MANIFEST-" + generation))
        let store = try Store(path: path, options: testOptions())
        #expect(try store.string(forKey: "k", in: "d") == "v")
        #expect(try store.string(forKey: "k2", in: "d") == "w")
        try store.close()
    }

    @Test func aRebuildBesideAHugeManifestNameStartsFromTheValidRange() throws {
        let dir = TemporaryDirectory("gen")
        let path = try makeStore(dir)
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasPrefix("MANIFEST-") {
            ByteSurgery.flip(path + "/" + name, at: 70)
        }
        ByteSurgery.write(path + "/MANIFEST-ffffffffffffffff", [1, 2, 3])
        let dry = try Recoverer.run(path: path, dryRun: true, salvage: false, options: testOptions())
        #expect(dry.manifestRebuilt)
        _ = try Recoverer.run(path: path, dryRun: false, salvage: false, options: testOptions())
        let store = try Store(path: path, options: testOptions())
        #expect(try store.string(forKey: "k", in: "d") == "v")
        #expect(try store.string(forKey: "k2", in: "d") == "w")
        try store.close()
    }

    /// A damaged manifest named just below the limit: it could have been a manifest, so new
    /// generations would have to follow it, and there is no room for two.
    @Test(arguments: ["7ffffffffffffffe", "7ffffffffffffffd"])
    func aDamagedManifestJustBelowTheLimitStopsRecoveryTyped(generation: String) throws {
        let dir = TemporaryDirectory("gen")
        let path = try makeStore(dir)
        ByteSurgery.write(path + "/MANIFEST-" + generation, [UInt8](repeating: 0x5A, count: 100))
        let dry = try Recoverer.run(path: path, dryRun: true, salvage: false, options: testOptions())
        #expect(dry.manifestsSkipped.map(\.file) == ["MANIFEST-" + generation])
        #expect(throws: StoreError.self) { _ = try Recoverer.run(path: path, dryRun: false, salvage: false, options: testOptions()) }
        // The store still opens from its valid manifest.
        let store = try Store(path: path, options: testOptions())
        #expect(try store.string(forKey: "k", in: "d") == "v")
        try store.close()
    }

    /// A valid manifest whose generation leaves no room for the two a republish writes: a typed
    /// error, not a manifest no open could read.
    @Test func generationsThatWouldRunOutAreATypedError() throws {
        let dir = TemporaryDirectory("gen")
        let path = try makeStore(dir)
        let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("MANIFEST-") }.sorted()
        let newest = try #require(names.last)
        var manifest = try ManifestCodec.decode(ByteSurgery.read(path + "/" + newest), generation: ManifestFormat.generation(newest)!, path: newest)
        manifest.generation = Manifest.generationLimit - 1
        ByteSurgery.write(path + "/" + ManifestFormat.fileName(manifest.generation), ManifestCodec.encode(manifest))
        // A damaged newer one is passed over, which makes recovery republish the chosen one.
        ByteSurgery.write(path + "/" + ManifestFormat.fileName(manifest.generation + 1), [0])
        do {
            _ = try Recoverer.run(path: path, dryRun: false, salvage: false, options: testOptions())
            Issue.record("recover published past the last generation")
        } catch {
            #expect(error.code == .limitExceeded)
        }
    }
}
