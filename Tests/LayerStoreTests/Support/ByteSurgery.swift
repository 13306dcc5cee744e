import Foundation

/// Byte-level damage for tests: flip, overwrite, truncate files in place.
enum ByteSurgery {
    static func read(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path)!) }

    static func write(_ path: String, _ bytes: [UInt8]) {
        precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    }

    /// XORs `mask` into the byte at `offset`.
    static func flip(_ path: String, at offset: Int, mask: UInt8 = 0x01) {
        var bytes = read(path)
        bytes[offset] ^= mask
        write(path, bytes)
    }

    static func truncate(_ path: String, to length: Int) {
        let h = FileHandle(forWritingAtPath: path)!
        try! h.truncate(atOffset: UInt64(length))
        try! h.close()
    }

    static func size(_ path: String) -> Int {
        (try! FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).intValue
    }
}
