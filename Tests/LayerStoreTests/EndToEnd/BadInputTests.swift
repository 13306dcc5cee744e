import Foundation
import Testing
@testable import LayerStore

/// Every kind of bad input is a typed error, and nothing is lost or half-written.
@Suite struct BadInputTests {
    func code(_ body: () throws -> Void) -> StoreError.Code? {
        do { try body(); return nil } catch let e as StoreError { return e.code } catch { return nil }
    }

    @Test func invalidNamesKeysAndSizesAreRejectedBeforeAnythingIsWritten() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions())
        try store.put("keep", forKey: "k", in: "d")
        #expect(code { try store.put("v", forKey: "k", in: "../escape") } == .invalidArgument)
        #expect(code { try store.put("v", forKey: "k", in: "") } == .invalidArgument)
        #expect(code { try store.put("v", forKey: "k", in: String(repeating: "n", count: 65)) } == .limitExceeded)
        #expect(code { try store.put([1], forKey: [], in: "d") } == .invalidArgument)
        #expect(code { try store.put([1], forKey: [UInt8](repeating: 1, count: Limits.keyByteCountMax + 1), in: "d") } == .limitExceeded)
        #expect(code { try store.put([UInt8](repeating: 1, count: Limits.valueByteCountMax + 1), forKey: [1], in: "d") } == .limitExceeded)
        // A batch with one bad operation commits nothing: the error comes while building it.
        #expect(code {
            try store.write { batch in
                try batch.put("a", forKey: "x", in: "d")
                try batch.put("b", forKey: "y", in: "bad/name")
            }
        } == .invalidArgument)
        #expect(try store.string(forKey: "x", in: "d") == nil)
        #expect(code { _ = try store.value(forKey: [1], in: "no/such") } == .invalidArgument)
        #expect(code { _ = try store.value(forKey: [], in: "d") } == .invalidArgument)
        #expect(code { try store.scan("..") { _, _ in true } } == .invalidArgument)
        // The largest allowed key and value are accepted.
        let bigKey = [UInt8](repeating: 7, count: Limits.keyByteCountMax)
        try store.put([UInt8](repeating: 9, count: 1 << 20), forKey: bigKey, in: "d")
        try store.flush()
        #expect(try store.value(forKey: bigKey, in: "d")?.count == 1 << 20)
        #expect(try store.string(forKey: "k", in: "d") == "keep")
        #expect(store.lastLSN == 2)
    }

    @Test func closedAndReadOnlyStoresRefuseWrites() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try store.put("v", forKey: "k", in: "d")
        var ro = testOptions()
        ro.readOnly = true
        let reader = try Store(path: path, options: ro)
        #expect(reader.isReadOnly)
        #expect(code { try reader.put("v", forKey: "k2", in: "d") } == .readOnly)
        #expect(code { try reader.flush() } == .readOnly)
        #expect(code { try reader.sync() } == .readOnly)
        #expect(try reader.string(forKey: "k", in: "d") == "v")
        let kept = try store.snapshot()
        try store.close()
        try store.close()  // twice is harmless
        #expect(code { try store.put("v", forKey: "k", in: "d") } == .closed)
        #expect(code { _ = try store.value(forKey: Array("k".utf8), in: "d") } == .closed)
        #expect(code { _ = try store.snapshot() } == .closed)
        // A snapshot taken before close stays readable.
        #expect(try kept.string(forKey: "k", in: "d") == "v")
    }

    @Test func aSecondWriterIsLockedOutAndTheStoreStaysIntact() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        let store = try Store(path: path, options: testOptions())
        try store.put("v", forKey: "k", in: "d")
        let before = dir.files()
        #expect(code { _ = try Store(path: path, options: testOptions()) } == .locked)
        #expect(dir.files() == before)
        try store.put("w", forKey: "k2", in: "d")
        try store.close()
        let again = try Store(path: path, options: testOptions())
        #expect(try again.string(forKey: "k2", in: "d") == "w")
    }

    /// A lock held for a moment (as a child process holds a copy of the writer's descriptor
    /// from its fork to its exec) delays a writer open; one held for the whole retry window
    /// refuses it.
    @Test func aLockHeldForAMomentDelaysTheOpenInsteadOfRefusingIt() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("s")
        try Store(path: path, options: testOptions()).close()
        let fd = open(path + "/LOCK", O_RDWR | O_CLOEXEC)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        // A window far longer than the release takes, even on a loaded machine: the open
        // must wait for the release, not depend on when it comes.
        let patient = SystemFileIO(lockRetryNanoseconds: 30_000_000_000)
        let released = DispatchSemaphore(value: 0)
        let releaser = Thread {
            usleep(20_000)
            flock(fd, LOCK_UN)
            released.signal()
        }
        releaser.start()
        let store = try Store(path: path, options: testOptions(), io: patient)
        released.wait()
        try store.put("v", forKey: "k", in: "d")
        try store.close()
        // Held for the whole window: refused once the window has passed.
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let brief = SystemFileIO(lockRetryNanoseconds: 20_000_000)
        let start = DispatchTime.now()
        #expect(code { _ = try Store(path: path, options: testOptions(), io: brief) } == .locked)
        #expect(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds >= brief.lockRetryNanoseconds)
        #expect(SystemFileIO().lockRetryNanoseconds == SystemFileIO.defaultLockRetryNanoseconds)
    }

    @Test func missingForeignAndNewerStoresAreTypedErrors() throws {
        let dir = TemporaryDirectory()
        var ro = testOptions()
        ro.readOnly = true
        #expect(code { _ = try Store(path: dir.child("missing"), options: ro) } == .storeNotFound)
        var noCreate = testOptions()
        noCreate.createIfMissing = false
        #expect(code { _ = try Store(path: dir.child("missing"), options: noCreate) } == .storeNotFound)
        #expect(FileManager.default.fileExists(atPath: dir.child("missing")) == false)
        // A directory with other files is not a store, and is left alone.
        try FileManager.default.createDirectory(atPath: dir.child("foreign"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir.child("foreign/notes.txt"), contents: Data("hi".utf8))
        #expect(code { _ = try Store(path: dir.child("foreign"), options: testOptions()) } == .notAStore)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.child("foreign")) == ["notes.txt"])
        // A regular file is not a store.
        _ = FileManager.default.createFile(atPath: dir.child("file"), contents: Data())
        #expect(code { _ = try Store(path: dir.child("file"), options: testOptions()) } == .notAStore)
        // A store whose newest manifest is from a newer format version (checksum valid).
        let path = dir.child("newer")
        try Store(path: path, options: testOptions()).close()
        let manifest = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("MANIFEST-") }.max()!
        var bytes = ByteSurgery.read(path + "/" + manifest)
        bytes[8] = 9
        let sum = Checksum.xxh3(Array(bytes.dropLast(8)), seed: ManifestFormat.seed(generation: ManifestFormat.generation(manifest)!))
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { bytes[bytes.count - 8 + i] = $0[i] } }
        ByteSurgery.write(path + "/" + manifest, bytes)
        #expect(code { _ = try Store(path: path, options: testOptions()) } == .unsupportedFormat)
        // Bad options.
        #expect(code { _ = try Store(path: dir.child("o"), options: testOptions { $0.blockByteCountTarget = 10 }) } == .invalidArgument)
        #expect(code { _ = try Store(path: dir.child("o"), options: testOptions { $0.filePermissions = 0o1777 }) } == .invalidArgument)
    }

    @Test func theDimensionCountIsLimitedAtCommitTime() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.child("s"), options: testOptions { $0.memtableByteCountMax = 64 << 20 })
        try store.write { batch in
            for d in 0..<Limits.dimensionCountMax { try batch.put([1], forKey: [1], in: "d\(d)") }
        }
        #expect(code { try store.put([1], forKey: [1], in: "one-too-many") } == .limitExceeded)
        try store.put([2], forKey: [1], in: "d7")  // existing dimensions still take writes
        #expect(try store.value(forKey: [1], in: "d7") == [2])
    }

    @Test func concurrentCreatorsMakeOneStore() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("raced")
        let results = Locked<[StoreError.Code?]>([])
        let stores = Locked<[Store]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let s = try Store(path: path, options: testOptions())
                stores.withLock { $0.append(s) }
                results.withLock { $0.append(nil) }
            } catch let e as StoreError { results.withLock { $0.append(e.code) } } catch {}
        }
        let codes = results.withLock { $0 }
        #expect(codes.count == 4)
        #expect(codes.allSatisfy { $0 == nil || $0 == .locked })
        for s in stores.withLock({ $0 }) { try s.close() }
        let manifests = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("MANIFEST-") }
        #expect(manifests.count == 1)
        let store = try Store(path: path, options: testOptions())
        try store.put("v", forKey: "k", in: "d")
    }

    @Test func filePermissionsAreTheOnesAskedFor() throws {
        let dir = TemporaryDirectory()
        let path = dir.child("private")
        let store = try Store(path: path, options: testOptions { $0.filePermissions = 0o600 })
        try store.put("v", forKey: "k", in: "d")
        try store.flush()
        try store.put("v", forKey: "k2", in: "d")
        let old = umask(0)
        defer { umask(old) }
        for file in dir.files(under: "private") {
            let attributes = try FileManager.default.attributesOfItem(atPath: path + "/" + file)
            let mode = (attributes[.posixPermissions] as! NSNumber).intValue
            #expect(mode & 0o077 == 0, "\(file) is \(String(mode, radix: 8))")
        }
    }
}
