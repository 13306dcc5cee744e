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
