import Foundation
import Testing
@testable import LayerStore

#if canImport(Glibc)
import Glibc
#endif

/// Every file and directory a store creates gets exactly `StoreOptions.filePermissions`
/// (directories: plus `x` where `r` is set), whatever the process's umask: through creation,
/// writes, flushes, WAL rolls, compaction, and `recover --salvage` (quarantine and rewrites).
///
/// Serialized: the umask is per process. The umasks used never take access away from the
/// owner, so tests running beside these are not disturbed.
@Suite(.serialized) struct PermissionsTests {
    @Test(arguments: [
        (UInt32(0o644), mode_t(0o022)), (0o644, 0o077), (0o644, 0o000),
        (0o600, 0o022), (0o600, 0o000), (0o640, 0o027),
    ])
    func everyFileKindGetsTheAskedModeWhateverTheUmask(fileMode: UInt32, mask: mode_t) throws {
        let old = umask(mask)
        defer { umask(old) }
        let dir = TemporaryDirectory("perm")
        let path = dir.child("s")
        let options = testOptions {
            $0.filePermissions = fileMode
            $0.walFileByteCount = 1 << 16
            $0.memtableByteCountMax = 1 << 12
            $0.blockByteCountTarget = 256
        }
        let store = try Store(path: path, options: options)
        // Batches of ten: enough bytes to fill memtables (flushes, WAL rolls) with few syncs.
        for start in stride(from: 0, to: 200, by: 10) {
            _ = try store.write { batch in
                for i in start..<(start + 10) {
                    try batch.put(String(repeating: "v\(i)", count: 8), forKey: "key-\(1000 + i)", in: i % 2 == 0 ? "even" : "odd")
                }
            }
        }
        try store.flush()
        var compaction = CompactionOptions()
        compaction.dimension = "even"
        compaction.compression = .lz4
        _ = try store.compact(compaction)
        try store.put("last", forKey: "key-last", in: "odd")
        try store.close()
        // Damage one block of a segment so that recovery quarantines it and salvages a rewrite.
        let segment = try #require(SampleStore.files(under: path).first { $0.hasPrefix("dims/odd/") && $0.hasSuffix(".seg") })
        // In place: rewriting the file would give it a new mode.
        let handle = try #require(FileHandle(forUpdatingAtPath: path + "/" + segment))
        try handle.seek(toOffset: UInt64(SegmentFormat.headerByteCount + 3))
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: UInt64(SegmentFormat.headerByteCount + 3))
        try handle.write(contentsOf: [byte ^ 0x10])
        try handle.close()
        let report = try Recoverer.run(path: path, dryRun: false, salvage: true, options: options)
        #expect(!report.blocksDamaged.isEmpty)

        let directoryMode = fileMode | ((fileMode & 0o444) >> 2)
        var kinds: Set<String> = []
        for (name, isDirectory) in Self.entries(under: path) {
            let mode = try #require(Self.mode(path + (name.isEmpty ? "" : "/" + name)))
            #expect(mode == (isDirectory ? directoryMode : fileMode),
                    "umask \(String(mask, radix: 8)): \(name.isEmpty ? "store directory" : name) is \(String(mode, radix: 8)), expected \(String(isDirectory ? directoryMode : fileMode, radix: 8))")
            kinds.insert(Self.kind(name, isDirectory: isDirectory))
        }
        // Every kind of file and directory was seen, so none escaped the check.
        #expect(kinds.isSuperset(of: ["store", "LOCK", "manifest", "wal dir", "wal", "dims dir", "dimension dir", "segment",
                                      "quarantine dir", "quarantined"]),
                "kinds seen: \(kinds.sorted())")
    }

    /// A writer open of an existing store leaves the modes it finds (its LOCK file included).
    @Test func reopeningWithAnotherModeChangesNoExistingFile() throws {
        let dir = TemporaryDirectory("perm")
        let path = dir.child("s")
        let first = try Store(path: path, options: testOptions { $0.filePermissions = 0o600 })
        try first.put("v", forKey: "k", in: "d")
        try first.close()
        let before = Self.entries(under: path).map { ($0.name, Self.mode(path + "/" + $0.name)) }
        let second = try Store(path: path, options: testOptions { $0.filePermissions = 0o644 })
        try second.close()
        for (name, mode) in before where FileManager.default.fileExists(atPath: path + "/" + name) {
            #expect(Self.mode(path + "/" + name) == mode, "\(name)")
        }
    }

    /// The modes the options accept and refuse.
    @Test func modesThatLockTheOwnerOutAreRefused() throws {
        let dir = TemporaryDirectory("perm")
        for bad: UInt32 in [0o400, 0o200, 0o1644, 0o4755] {
            #expect(throws: StoreError.self) { _ = try Store(path: dir.child("s\(bad)"), options: testOptions { $0.filePermissions = bad }) }
        }
    }

    // MARK: Helpers

    static func mode(_ path: String) -> UInt32? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o7777
    }

    /// Every file and directory below `root` (relative names), and `root` itself as "".
    static func entries(under root: String) -> [(name: String, isDirectory: Bool)] {
        var out: [(String, Bool)] = [("", true)]
        let e = FileManager.default.enumerator(atPath: root)
        while let name = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDir)
            out.append((name, isDir.boolValue))
        }
        return out
    }

    static func kind(_ name: String, isDirectory: Bool) -> String {
        let parts = name.split(separator: "/").map(String.init)
        switch (parts.first, parts.count, isDirectory) {
        case (nil, _, _): return "store"
        case ("wal", 1, true): return "wal dir"
        case ("wal", _, false): return "wal"
        case ("dims", 1, true): return "dims dir"
        case ("dims", 2, true): return "dimension dir"
        case ("dims", _, false): return "segment"
        case ("quarantine", 1, true): return "quarantine dir"
        case ("quarantine", _, _): return "quarantined"
        case (let first?, 1, false) where first.hasPrefix("MANIFEST-"): return "manifest"
        default: return name
        }
    }
}
