//! How far `layerstore recover` has come, for a progress bar.

/// Progress of a recovery run: bytes of segment files checked so far out of all listed, and the
/// file (or phase) being worked on.
package struct RecoverProgress: Sendable {
    /// Bytes of listed segments checked so far.
    package var doneByteCount: Int
    /// Bytes of every listed segment.
    package var totalByteCount: Int
    /// What is being worked on: a segment's path, `wal/`, or the final check.
    package var item: String
}

extension RecoverProgress {
    /// The bytes of every segment `manifest` lists, saturating: a damaged or crafted manifest
    /// may claim lengths no file has, and progress must never trap on them.
    static func listedByteCount(_ manifest: Manifest) -> Int {
        var total = 0
        for dimension in manifest.dimensions {
            for segment in dimension.segments { total = adding(total, segment.fileLength) }
        }
        return total
    }

    /// `count + byteCount`, saturating at `Int.max`.
    static func adding(_ count: Int, _ byteCount: UInt64) -> Int {
        let (sum, overflow) = count.addingReportingOverflow(Int(clamping: byteCount))
        return overflow ? Int.max : sum
    }
}
