/// Reads the store id a segment or WAL file claims, and keeps it only if the header's own
/// checksum holds with that id.
///
/// Recovery and `verify` need this when no manifest is valid: the store id is what ties a file
/// to its store, and a header checksum that holds with the id it claims is the best evidence
/// left. One place keeps the two tools agreeing on what counts as confirmed.
enum StoreIDProbe {
    /// The store id at byte 16 of both header kinds (see `Formats/segment.md` and `Formats/wal.md`).
    private static let idOffset = 16

    /// The id the segment header at `path` claims, if its checksum confirms it.
    static func segment(io: any FileIO, path: String, segmentID: UInt64, version: UInt32) -> UInt64? {
        guard let bytes = try? io.readPrefix(path, count: SegmentFormat.headerByteCount),
            let claimed = bytes.withUnsafeBytes({ ByteReader.u64($0, at: idOffset) })
        else { return nil }
        let confirmed = bytes.withUnsafeBytes { raw in
            (try? SegmentHeader.decode(raw, storeID: claimed, segmentID: segmentID, version: version, path: path)) != nil
        }
        return confirmed ? claimed : nil
    }

    /// The id the WAL header at `path` claims, if its checksum confirms it.
    static func wal(io: any FileIO, path: String, number: UInt64) -> UInt64? {
        guard let bytes = try? io.readPrefix(path, count: WALFormat.headerByteCount),
            let claimed = bytes.withUnsafeBytes({ ByteReader.u64($0, at: idOffset) })
        else { return nil }
        let confirmed = bytes.withUnsafeBytes { raw in
            (try? WALReader.header(raw, number: number, storeID: claimed, path: path)) != nil
        }
        return confirmed ? claimed : nil
    }
}
