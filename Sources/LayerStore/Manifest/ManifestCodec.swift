//! Encodes and decodes manifest files (Formats/manifest.md).

/// Layout of manifest files (Formats/manifest.md).
enum ManifestFormat {
    /// "LayerMan" (§ Header).
    static let magic: UInt64 = 0x6E61_4D72_6579_614C
    static let formatVersion: UInt32 = 1
    static let headerByteCount = 64
    /// One segment entry (§ Body).
    static let segmentEntryByteCount = 48
    /// Domain tag mixed into the checksum seed (§ Checksum): "MANF" read as a big-endian number.
    static let seedTag: UInt64 = 0x4D41_4E46
    /// File names: `MANIFEST-` and 16 hex digits of the generation (§ File names).
    static let namePrefix = "MANIFEST-"

    static func fileName(_ generation: UInt64) -> String { namePrefix + hex16(generation) }

    static func generation(_ name: String) -> UInt64? {
        let bytes = name.utf8
        guard bytes.count == namePrefix.utf8.count + 16, bytes.starts(with: namePrefix.utf8) else { return nil }
        return lowercaseHexValue(bytes.dropFirst(namePrefix.utf8.count))
    }

    static func seed(generation: UInt64) -> UInt64 { Checksum.fileSeed(seedTag, generation) }
}

enum ManifestCodec {
    static func encode(_ m: Manifest) -> [UInt8] {
        var body = ByteWriter()
        for d in m.dimensions {
            body.u8(UInt8(d.name.utf8.count))
            body.append(contentsOf: d.name.utf8)
            body.u32(UInt32(d.segments.count))
            for s in d.segments {
                body.u64(s.id)
                body.u32(s.version)
                body.u8(s.codec)
                body.zeros(3)
                body.u64(s.minLSN)
                body.u64(s.maxLSN)
                body.u64(s.recordCount)
                body.u64(s.fileLength)
            }
        }
        var w = ByteWriter(capacity: ManifestFormat.headerByteCount + body.count + 8)
        w.u64(ManifestFormat.magic)
        w.u32(ManifestFormat.formatVersion)
        w.u32(UInt32(ManifestFormat.headerByteCount))
        w.u64(m.storeID)
        w.u64(m.generation)
        w.u64(m.checkpointLSN)
        w.u64(m.nextSegmentID)
        w.u32(UInt32(m.dimensions.count))
        w.u32(UInt32(body.count))
        w.u64(0)
        w.append(contentsOf: body.bytes)
        w.u64(Checksum.xxh3(w.bytes, seed: ManifestFormat.seed(generation: m.generation)))
        return w.bytes
    }

    /// Decodes the manifest file of `generation` (from its name); the checksum is checked before
    /// any field is trusted.
    static func decode(_ bytes: [UInt8], generation: UInt64, path: String) throws(StoreError) -> Manifest {
        try bytes.withBytes { (raw) throws(StoreError) -> Manifest in
            guard raw.count >= ManifestFormat.headerByteCount + 8 else {
                throw .corrupted("manifest of \(raw.count) bytes is too short", path: path, offset: 0)
            }
            var r = ByteReader(raw)
            guard r.u64() == ManifestFormat.magic else { throw .corrupted("not a manifest (bad magic)", path: path, offset: 0) }
            let version = r.u32()!
            // The checksum first: newer versions keep it last (Formats/README.md § Versioning), so
            // a version field that fails it is damage (and the previous manifest is used).
            let end = raw.count - 8
            let sum = Checksum.xxh3(UnsafeRawBufferPointer(rebasing: raw[0..<end]), seed: ManifestFormat.seed(generation: generation))
            guard ByteReader.u64(raw, at: end) == sum else {
                throw .corrupted("manifest checksum mismatch", path: path, offset: UInt64(end))
            }
            guard version <= ManifestFormat.formatVersion else {
                throw StoreError(.unsupportedFormat, "manifest format version \(version) is newer than \(ManifestFormat.formatVersion): use a newer LayerStore", path: path)
            }
            let headerLength = r.u32()!
            var m = Manifest(storeID: r.u64()!, generation: r.u64()!, checkpointLSN: r.u64()!, nextSegmentID: r.u64()!, dimensions: [])
            let dimensionCount = Int(r.u32()!), bodyLength = Int(r.u32()!), reserved = r.u64()!
            guard version == ManifestFormat.formatVersion, Int(headerLength) == ManifestFormat.headerByteCount,
                m.generation == generation, reserved == 0, bodyLength == end - ManifestFormat.headerByteCount,
                dimensionCount <= Limits.dimensionCountMax
            else { throw .corrupted("manifest header fields are inconsistent", path: path, offset: 0) }
            var body = ByteReader(UnsafeRawBufferPointer(rebasing: raw[0..<end]), position: ManifestFormat.headerByteCount)
            for _ in 0..<dimensionCount {
                let at = UInt64(body.position)
                guard let nameLength = body.u8(), let nameBytes = body.bytes(Int(nameLength)), isValidDimensionName(nameBytes),
                    let count = body.u32(), Int(count) <= Limits.segmentsPerDimensionMax,
                    Int(count) * ManifestFormat.segmentEntryByteCount <= body.remaining
                else { throw .corrupted("manifest dimension entry is malformed", path: path, offset: at) }
                var d = ManifestDimension(name: String(decoding: nameBytes, as: UTF8.self), segments: [])
                for _ in 0..<count {
                    let entryAt = UInt64(body.position)
                    let id = body.u64()!, version = body.u32()!, codec = body.u8()!
                    let reserved = UInt32(body.u8()!) | UInt32(body.u16()!) << 8
                    let s = SegmentDescriptor(id: id, version: version, codec: codec, minLSN: body.u64()!,
                                              maxLSN: body.u64()!, recordCount: body.u64()!, fileLength: body.u64()!)
                    guard reserved == 0, s.recordCount >= 1 else {
                        throw .corrupted("manifest segment entry is malformed", path: path, offset: entryAt)
                    }
                    d.segments.append(s)
                }
                m.dimensions.append(d)
            }
            guard body.remaining == 0, m.isWellFormed() else {
                throw .corrupted("manifest contents are inconsistent", path: path, offset: UInt64(ManifestFormat.headerByteCount))
            }
            return m
        }
    }
}
