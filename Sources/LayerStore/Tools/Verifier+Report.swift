//! What `layerstore verify` found: one result per file checked, the problems (damage) in each,
//! and the notes (crash artefacts and leftovers that are not damage).
//!
//! Invariants:
//! - A file's status is `ok` exactly when its `problems` are empty; every problem names a byte
//!   offset inside the file (0 when the whole file is at fault, for example a missing file).
//! - A report is clean when every file is `ok` or `ignored` (an unpublished segment's failures).
//! - Notes never make a report unclean: they describe what a writer's open cleans up or skips
//!   (a torn WAL tail, temporary files, unpublished segments), which no acknowledged write lost.
//! - The JSON keys (`Encodable`) are part of the tool's interface and stay stable:
//!   `clean`, `storeID`, `newestManifest`, `files[{path, kind, bytes, status, problems[{offset,
//!   message}]}]`, `notes[{path, offset, message}]`, `bytesChecked`, `seconds`,
//!   `gigabytesPerSecond`.

/// The outcome of ``Verifier/verify(store:progress:)``: every file of a store, checked.
package struct VerificationReport: Sendable, Encodable {
    /// The kind of file a result is about.
    package enum FileKind: String, Sendable, Encodable {
        case manifest, segment, wal, directory
    }

    /// How one file fared.
    package enum Status: String, Sendable, Encodable {
        /// Every check held.
        case ok
        /// A checksum or a structural check failed: the bytes are not what was written.
        case damaged
        /// The file is needed (a manifest lists it, or the store cannot open without it) and absent.
        case missing
        /// A newer format than this LayerStore reads: not checked.
        case unsupported
        /// The file could not be opened, mapped or read (an I/O error): not checked.
        case unreadable
        /// The file could not be checked: no valid manifest and no header confirms the store id
        /// its checksums are seeded with.
        case unchecked
        /// An unpublished segment (id at or above the manifest's `nextSegmentID`) that fails its
        /// checks: never read, and removed by a writer's open, so not damage.
        case ignored
    }

    /// One failed check: where, and what.
    package struct Problem: Sendable, Encodable, Equatable {
        /// The byte offset in the file, inside the part that failed.
        package var offset: UInt64
        /// What failed, for a person.
        package var message: String
    }

    /// Something worth knowing that is not damage.
    package struct Note: Sendable, Encodable, Equatable {
        /// The file or directory, relative to the store.
        package var path: String
        /// The byte offset it concerns, if any (`null` in JSON when none).
        package var offset: UInt64?
        /// What it is and what a writer's open does about it.
        package var message: String

        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(offset, forKey: .offset)  // an explicit null: the key is always present
            try c.encode(message, forKey: .message)
        }

        private enum CodingKeys: String, CodingKey { case path, offset, message }
    }

    /// The result for one file.
    package struct FileResult: Sendable, Encodable {
        /// The path relative to the store directory, e.g. `dims/users/0000000000000001-00000001.seg`.
        package var path: String
        /// What kind of file it is.
        package var kind: FileKind
        /// Its length in bytes (0 if missing or unreadable).
        package var byteCount: Int
        /// How it fared; ``Status/ok`` exactly when ``problems`` is empty.
        package var status: Status
        /// The failed checks, in file order as found.
        package var problems: [Problem]

        private enum CodingKeys: String, CodingKey {
            case path, kind, byteCount = "bytes", status, problems
        }
    }

    /// The store id the checksums were checked against (from the newest valid manifest, or
    /// confirmed by a file header's checksum when no manifest is valid); `nil` if none.
    package var storeID: UInt64?
    /// The name of the newest manifest that decodes and checks (the one an open chooses).
    package var newestManifest: String?
    /// Every file checked, manifests first (newest first), then segments, then WAL files.
    package var files: [FileResult] = []
    /// Crash artefacts and leftovers: not damage.
    package var notes: [Note] = []
    /// The bytes read and checked.
    package var checkedByteCount = 0
    /// Wall-clock time of the whole verification.
    package var seconds = 0.0

    /// `true` when every file is ``Status/ok`` or ``Status/ignored`` (notes are allowed).
    package var isClean: Bool { files.allSatisfy { $0.status == .ok || $0.status == .ignored } }

    /// `true` when some file is damaged or missing: bytes were lost, not just left unchecked.
    package var hasDamage: Bool { files.contains { $0.status == .damaged || $0.status == .missing } }

    /// Checked bytes per second, in units of 10^9 bytes.
    package var gigabytesPerSecond: Double {
        seconds > 0 ? Double(checkedByteCount) / seconds / 1e9 : 0
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(isClean, forKey: .clean)
        try c.encode(storeID.map(hexID), forKey: .storeID)
        try c.encode(newestManifest, forKey: .newestManifest)
        try c.encode(files, forKey: .files)
        try c.encode(notes, forKey: .notes)
        try c.encode(checkedByteCount, forKey: .bytesChecked)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(gigabytesPerSecond, forKey: .gigabytesPerSecond)
    }

    private enum CodingKeys: String, CodingKey {
        case clean, storeID, newestManifest, files, notes, bytesChecked, seconds, gigabytesPerSecond
    }
}

extension VerificationReport.FileResult {
    /// Records a failed check. Damage outranks the statuses that only say "not checked".
    mutating func fail(_ status: VerificationReport.Status, offset: UInt64, _ message: String) {
        problems.append(VerificationReport.Problem(offset: offset, message: message))
        if self.status == .ok || status == .damaged || status == .missing { self.status = status }
    }

    /// Records an error thrown while reading the file: damage, a newer format, or an I/O failure.
    mutating func fail(_ error: StoreError) {
        switch error.code {
        case .corrupted: fail(.damaged, offset: error.offset ?? 0, error.message)
        case .unsupportedFormat: fail(.unsupported, offset: 0, error.message)
        default: fail(.unreadable, offset: 0, error.description)
        }
    }
}

/// How far a verification has got; handed to the progress callback on the verifying thread.
package struct VerificationProgress: Sendable {
    /// Bytes checked so far.
    package var checkedByteCount: Int
    /// Bytes to check in all (the sizes of the files found when the run started).
    package var totalByteCount: Int
    /// The file being checked, relative to the store.
    package var path: String
}

/// `0x` and 16 lowercase hex digits: how store ids and checksums are shown.
package func hexID(_ value: UInt64) -> String { "0x" + hex16(value) }
