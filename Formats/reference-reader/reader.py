#!/usr/bin/env python3
"""An independent LayerStore reader, written from Formats/*.md alone (not from the Swift code).

    reader.py --vectors [DIR]     decode the golden vectors (Formats/vectors/), check every checksum
                                  and the decodings that vectors/README.md states
    reader.py STORE [DIM]         print every visible record of a store as `layerstore export
                                  --format jsonl` does: {"dimension": D, "key": K, "value": V},
                                  K and V base64, in dimension name order then key order

It opens a store as a read-only opener does (store-layout.md § Opening, steps 1, 3, 5, 6): the
newest valid manifest, its segments (format versions 1, 2 and 3 with compact blocks; codec 0 and
LZ4 codec 1), the WAL above its checkpoint. It writes nothing. Damage is reported on stderr with
the file and offset, exit 1.
Needs `pip install lz4 xxhash`.
"""
import base64, json, os, struct, sys
import lz4.block, xxhash

WALH, WALR, SEGF, MANF = 0x57414C48, 0x57414C52, 0x53454746, 0x4D414E46  # README § Checksums
WAL_MAGIC, SEG_MAGIC, END_MAGIC, MAN_MAGIC = b"LayerWAL", b"LayerSeg", b"LayerEnd", b"LayerMan"
LSN_MAX, KEY_MAX, VALUE_MAX, BATCH_MAX = 1 << 62, 4096, 16 << 20, 64 << 20
RAW_BLOCK_MAX = VALUE_MAX + KEY_MAX + 32
NAME_BYTES = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


class Corrupted(Exception):
    """Damage: bad magic, checksum or field (README § Errors)."""


class Unsupported(Exception):
    """A newer format version or codec behind a valid checksum."""


def check(ok, path, offset, what):
    if not ok:
        raise Corrupted("%s @%d: %s" % (path, offset, what))


def xxh3(data, seed=0):
    return xxhash.xxh3_64_intdigest(bytes(data), seed=seed & 0xFFFFFFFFFFFFFFFF)


def file_seed(*parts):
    return xxh3(struct.pack("<%dQ" % len(parts), *parts))


def valid_name(name):
    return 1 <= len(name) <= 64 and name[:1] != b"." and set(name) <= NAME_BYTES


def lower_hex(text, width):
    return len(text) == width and all(c in "0123456789abcdef" for c in text)


def varint(b, p, end, path, where):
    """README § Conventions: LEB128, at most 10 bytes, must fit in 64 bits."""
    value = 0
    for i in range(10):
        check(p < end, path, where, "varint runs past the block")
        byte = b[p]; p += 1
        check(i < 9 or byte <= 1, path, where, "varint overflows 64 bits")
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return value, p
    raise Corrupted("%s @%d: varint longer than 10 bytes" % (path, where))


def version_check(version, path, newest=1):
    """README § Magic numbers and format versions, rules 3 and 4 (after the checksum)."""
    if version > newest:
        raise Unsupported("%s: format version %d" % (path, version))
    check(1 <= version, path, 0, "format version %d" % version)


# ---------------------------------------------------------------- manifest.md

def read_manifest(path, generation):
    """manifest.md § Decoding. Returns (storeID, checkpointLSN, {name: [entry]})."""
    b = open(path, "rb").read()
    check(72 <= len(b) <= 4 * BATCH_MAX, path, 0, "file length %d" % len(b))
    check(b[:8] == MAN_MAGIC, path, 0, "bad magic")
    check(struct.unpack_from("<Q", b, len(b) - 8)[0] == xxh3(b[:-8], file_seed(MANF, generation)),
          path, len(b) - 8, "manifest checksum")
    _, version, header_len, store_id, gen, checkpoint, next_id, dim_count, body_len, reserved = \
        struct.unpack_from("<QIIQQQQIIQ", b, 0)
    version_check(version, path)
    check(header_len == 64 and gen == generation and reserved == 0 and body_len == len(b) - 72
          and dim_count <= 4096, path, 0, "header fields")
    check(1 <= gen < 2**63 - 1 and checkpoint <= LSN_MAX and next_id < 2**63 - 1, path, 0, "invariants")
    dims, p, end, prev_name = {}, 64, len(b) - 8, None
    for _ in range(dim_count):
        check(p < end, path, p, "body too short")
        n = b[p]; name = b[p + 1:p + 1 + n]; p += 1 + n
        check(valid_name(name) and p + 4 <= end, path, p, "dimension name")
        check(prev_name is None or prev_name < name, path, p, "names not strictly ascending")
        prev_name = name
        (count,) = struct.unpack_from("<I", b, p); p += 4
        check(count <= 65536 and p + 48 * count <= end, path, p, "segment count %d" % count)
        entries = []
        for _ in range(count):
            seg_id, seg_version, codec, r1, r2, min_lsn, max_lsn, records, length = \
                struct.unpack_from("<QIBBHQQQQ", b, p)
            check(r1 == 0 and r2 == 0 and records >= 1, path, p, "segment entry")
            check(1 <= min_lsn <= max_lsn <= checkpoint and seg_id < next_id, path, p, "segment entry LSNs or id")
            if entries:
                check(entries[-1]["id"] < seg_id and entries[-1]["max"] < min_lsn, path, p, "entries out of order")
            entries.append(dict(id=seg_id, version=seg_version, codec=codec, min=min_lsn, max=max_lsn,
                                records=records, length=length))
            p += 48
        dims[name.decode()] = entries
    check(p == end, path, p, "body not consumed exactly")
    return store_id, checkpoint, dims


def choose_manifest(store):
    """manifest.md § Choosing a manifest: the newest valid one; all valid ones share a store id."""
    names = [n for n in os.listdir(store) if n.startswith("MANIFEST-") and lower_hex(n[9:], 16)]
    if not names:
        raise Corrupted("%s: not a store: no manifest found" % store)
    chosen, store_ids = None, set()
    for name in sorted(names, reverse=True):
        try:
            decoded = read_manifest(os.path.join(store, name), int(name[9:], 16))
        except Corrupted as error:
            if chosen is None:
                print("skipped manifest: %s" % error, file=sys.stderr)
            continue
        store_ids.add(decoded[0])
        chosen = chosen or decoded
    check(chosen is not None, store, 0, "every manifest is damaged")
    check(len(store_ids) == 1, store, 0, "manifests of two different stores are in one directory")
    return chosen


# ---------------------------------------------------------------- segment.md

SEGMENT_NEWEST = 3  # segment.md § Versions: 1 (u64 hash slots), 2 (no hash index), 3 (compact blocks)


class Segment:
    """An opened segment: the header and footer checked (segment.md § Reading and damage), with
    the index and hash index checksums verified."""


def open_segment(path, store_id, seg_id, seg_version, entry=None, dimension=None):
    """segment.md § Reading and damage, the six open checks in order, then the checksums of the
    block table + key heap and of the hash index (§ Checksums)."""
    b = open(path, "rb").read()
    check(entry is None or len(b) == entry["length"], path, len(b), "length differs from the manifest")
    check(len(b) >= 320, path, 0, "shorter than header + footer")
    # § Header: magic, checksum, version > 3, the other fields, codec, version against the hash
    # slots and slot widths, § Layout checks.
    check(b[:8] == SEG_MAGIC, path, 0, "bad magic")
    seed = file_seed(SEGF, store_id, seg_id, seg_version)
    check(struct.unpack_from("<Q", b, 248)[0] == xxh3(b[:248], seed), path, 0, "header checksum")
    (_, version, header_len, h_store, h_id, h_version, codec, name_len, block_bits, offset_bits, min_lsn,
     max_lsn, records, keys, _time, file_len, blocks, _target, slots, r2, table_at, hash_at, footer_at) = \
        struct.unpack_from("<QIIQQIBBBBQQQQQQIIIIQQQ", b, 0)
    version_check(version, path, newest=SEGMENT_NEWEST)
    name = b[128:128 + name_len]
    check(header_len == 256 and h_store == store_id and h_id == seg_id and h_version == seg_version
          and 1 <= name_len <= 64 and valid_name(name) and r2 == 0
          and not any(b[128 + name_len:248]), path, 0, "header fields")
    if codec > 1:
        raise Unsupported("%s: codec %d" % (path, codec))
    if version == 3:  # § Hash index, version 3: B ≤ 20, 1 ≤ O ≤ 20; u32 slots when B + O ≤ 28
        versions_ok = 1 <= slots and keys <= slots and block_bits <= 20 and 1 <= offset_bits <= 20
        width = 32 if block_bits + offset_bits <= 28 else 64
    else:  # versions 1 and 2: both widths 0; version 1 slots are u64: tag 24, block 20, offset 20
        versions_ok = block_bits == 0 and offset_bits == 0 and (
            (version == 1 and 1 <= slots and keys <= slots) or (version == 2 and slots == 0 and hash_at == footer_at))
        width = 64
    check(versions_ok, path, 0, "format version %d with %d hash slots, slot widths %d and %d"
          % (version, slots, block_bits, offset_bits))
    if version == 1:
        block_bits, offset_bits = 20, 20
    slot_bytes = width // 8
    check(1 <= blocks < 1 << 20 and 1 <= min_lsn <= max_lsn <= LSN_MAX
          and 1 <= keys <= records and 256 <= table_at and table_at + 32 * blocks <= hash_at
          and hash_at % 8 == 0 and hash_at + slot_bytes * slots <= footer_at
          and (version != 3 or blocks <= 1 << block_bits) and 64 <= file_len
          and footer_at == file_len - 64, path, 0, "layout")
    check(file_len == len(b), path, 0, "header fileLength %d, file has %d" % (file_len, len(b)))
    if entry is not None:
        check(name.decode() == dimension and (min_lsn, max_lsn, records, codec)
              == (entry["min"], entry["max"], entry["records"], entry["codec"]), path, 0,
              "header disagrees with the manifest entry")
    magic, f_table, index_len, index_sum, f_hash, hash_sum, f_reserved, footer_sum = \
        struct.unpack_from("<8sQQQQQQQ", b, footer_at)
    check(magic == END_MAGIC and footer_sum == xxh3(b[footer_at:footer_at + 56], seed ^ footer_at)
          and f_table == table_at and f_hash == hash_at and index_len == hash_at - table_at
          and f_reserved == 0, path, footer_at, "footer")
    check(index_sum == xxh3(b[table_at:hash_at], seed ^ table_at), path, table_at, "index checksum")
    check(hash_sum == xxh3(b[hash_at:footer_at], seed ^ hash_at), path, hash_at, "hash index checksum")
    s = Segment()
    s.path, s.b, s.seed, s.version, s.codec, s.name = path, b, seed, version, codec, name
    s.min_lsn, s.max_lsn, s.records, s.keys, s.blocks, s.slots = min_lsn, max_lsn, records, keys, blocks, slots
    s.table_at, s.hash_at, s.footer_at, s.heap = table_at, hash_at, footer_at, table_at + 32 * blocks
    s.block_bits, s.offset_bits, s.slot_width, s.slot_bytes = block_bits, offset_bits, width, slot_bytes
    s.slot_table = struct.unpack_from("<%d%s" % (slots, "I" if width == 32 else "Q"), b, hash_at)
    return s


def block_entry(s, i):
    """§ Block table and key heap: entry i, checked. Returns (offset, stored, raw, checksum,
    first key, prefixLength); prefixLength is 0 outside version 3 (ignored there)."""
    at = s.table_at + 32 * i
    offset, stored, raw_len, block_sum, key_at, key_len, prefix_len = struct.unpack_from("<QIIQIHH", s.b, at)
    check(offset >= 256 and stored >= 1 and 1 <= raw_len <= RAW_BLOCK_MAX
          and (s.codec == 1 or stored == raw_len) and offset <= s.table_at
          and stored <= s.table_at - offset, s.path, at, "block entry %d" % i)
    check(key_len >= 1 and s.heap + key_at + key_len <= s.hash_at, s.path, at, "first key of block %d" % i)
    first_key = s.b[s.heap + key_at:s.heap + key_at + key_len]
    if s.version != 3:
        prefix_len = 0
    check(prefix_len <= key_len, s.path, at, "block %d: prefixLength %d > firstKeyLength %d" % (i, prefix_len, key_len))
    return offset, stored, raw_len, block_sum, first_key, prefix_len


def raw_block(s, i):
    """The raw bytes of block i: checksum over the stored bytes, then for codec 1 one LZ4 block
    that must decompress to exactly rawLength bytes (§ Codec)."""
    offset, stored, raw_len, block_sum, _, _ = block_entry(s, i)
    stored_bytes = s.b[offset:offset + stored]
    check(block_sum == xxh3(stored_bytes, s.seed ^ offset), s.path, offset, "block %d checksum" % i)
    if s.codec == 0:
        return stored_bytes
    try:
        raw = lz4.block.decompress(stored_bytes, uncompressed_size=raw_len)
    except lz4.block.LZ4BlockError:
        raw = b""
    check(len(raw) == raw_len, s.path, offset, "block %d does not decompress to its %d bytes" % (i, raw_len))
    return raw


class Block:
    """A decoded block's context: its raw bytes and, in version 3, its head and prefix."""


def open_block(s, i):
    """Block i ready to decode records from: version 3 decodes its head (§ Compact blocks)."""
    offset, _, raw_len, _, first_key, prefix_len = block_entry(s, i)
    k = Block()
    k.index, k.offset, k.raw, k.first_key, k.start = i, offset, raw_block(s, i), first_key, 0
    k.base, k.key_len, k.value_len, k.prefix = s.min_lsn, 0, 0, first_key[:prefix_len]
    if s.version == 3:  # head := lsnBase keyLength valueLength, each checked at the block's offset
        lsn_base, p = varint(k.raw, 0, raw_len, s.path, offset)
        k.key_len, p = varint(k.raw, p, raw_len, s.path, offset)
        k.value_len, p = varint(k.raw, p, raw_len, s.path, offset)
        check(lsn_base <= s.max_lsn - s.min_lsn, s.path, offset, "block %d head: lsnBase %d" % (i, lsn_base))
        check(k.key_len == 0 or max(1, prefix_len) <= k.key_len <= KEY_MAX, s.path, offset,
              "block %d head: keyLength %d, prefixLength %d" % (i, k.key_len, prefix_len))
        check(k.value_len <= VALUE_MAX + 1, s.path, offset, "block %d head: valueLength %d" % (i, k.value_len))
        k.base, k.start = s.min_lsn + lsn_base, p
    return k


def decode_record(s, k, p, previous):
    """One record at raw position p of block k. previous: the LSN of the record before it in the
    block, or minLSN (version 2). Returns (key, lsn, value or None, next position)."""
    raw, raw_len = k.raw, len(k.raw)
    at_file = k.offset if s.codec == 1 else k.offset + p  # § Reading and damage: record offsets
    check(p < raw_len, s.path, at_file, "record starts past the block's %d raw bytes" % raw_len)
    if s.version == 3:  # § Compact blocks
        code, p = varint(raw, p, raw_len, s.path, at_file)
        lsn, put = k.base + (code >> 1), code & 1 == 0
        suffix_n = k.key_len - len(k.prefix)
        if k.key_len == 0:
            suffix_n, p = varint(raw, p, raw_len, s.path, at_file)
        value_n = 0
        if put:
            value_n = k.value_len - 1
            if k.value_len == 0:
                value_n, p = varint(raw, p, raw_len, s.path, at_file)
        check(1 <= len(k.prefix) + suffix_n <= KEY_MAX and value_n <= VALUE_MAX and lsn <= s.max_lsn
              and p + suffix_n + value_n <= raw_len, s.path, at_file, "record fields")
        key = k.prefix + raw[p:p + suffix_n]; p += suffix_n
    else:  # § Blocks and records
        kind = raw[p]; p += 1
        check(kind in (1, 2), s.path, at_file, "record kind %d" % kind)
        put = kind == 1
        key_n, p = varint(raw, p, raw_len, s.path, at_file)
        value_n = 0
        if put:
            value_n, p = varint(raw, p, raw_len, s.path, at_file)
        code, p = varint(raw, p, raw_len, s.path, at_file)
        if s.version == 1:
            lsn = s.min_lsn + code
        else:  # version 2: lsn = previous + unzigzag(code)
            lsn = previous + ((code >> 1) ^ -(code & 1))
        check(1 <= key_n <= KEY_MAX and value_n <= VALUE_MAX and s.min_lsn <= lsn <= s.max_lsn
              and p + key_n + value_n <= raw_len, s.path, at_file, "record fields")
        key = raw[p:p + key_n]; p += key_n
    value = raw[p:p + value_n] if put else None; p += value_n
    return key, lsn, value, p


def common_prefix_length(a, c):
    n = 0
    while n < min(len(a), len(c)) and a[n] == c[n]:
        n += 1
    return n


def read_segment(path, store_id, seg_id, seg_version, entry=None, dimension=None, opened=None):
    """segment.md § Reading and damage (all six checks), then every block, record and checksum.
    Returns [(key, lsn, value or None for a tombstone)] in file order."""
    s = opened or open_segment(path, store_id, seg_id, seg_version, entry, dimension)
    versions, firsts, expected_at = [], {}, 256
    for i in range(s.blocks):
        at = s.table_at + 32 * i
        k = open_block(s, i)
        check(k.offset == expected_at, path, at, "blocks not back to back")  # § Blocks and records
        expected_at = k.offset + block_entry(s, i)[1]
        check(k.start < len(k.raw), path, k.offset, "block %d holds no record" % i)
        p, previous, block_records = k.start, s.min_lsn, []
        while p < len(k.raw):
            start = p
            key, lsn, value, p = decode_record(s, k, p, previous)
            previous = lsn
            if start == k.start:  # § Block table: the first key of a block is its first record's key
                check(key == k.first_key, path, at, "first key of block %d" % i)
            if versions:  # writer guarantees: key order, a key's versions newest first
                prev_key, prev_lsn, _ = versions[-1]
                check(prev_key < key or (prev_key == key and prev_lsn > lsn), path,
                      k.offset if s.codec == 1 else k.offset + start, "records out of order")
            if key not in firsts:
                firsts[key] = (i, start)
            versions.append((key, lsn, value))
            block_records.append((key, lsn, value))
        if s.version == 3:  # § Compact blocks, Writing: what the writer computes when it closes a block
            keys_n = {len(r[0]) for r in block_records}
            values_n = {len(r[2]) for r in block_records if r[2] is not None}
            check(len(k.prefix) == common_prefix_length(block_records[0][0], block_records[-1][0]), path, at,
                  "block %d: prefixLength %d is not the longest shared prefix" % (i, len(k.prefix)))
            check(k.base == min(r[1] for r in block_records), path, k.offset,
                  "block %d: lsnBase is not its smallest LSN" % i)
            check(k.key_len == (keys_n.pop() if len(keys_n) == 1 else 0), path, k.offset,
                  "block %d: head keyLength %d" % (i, k.key_len))
            if values_n:  # a block of tombstones only has no put to state a length for
                check(k.value_len == (values_n.pop() + 1 if len(values_n) == 1 else 0), path, k.offset,
                      "block %d: head valueLength %d" % (i, k.value_len))
    check(expected_at == s.table_at and len(versions) == s.records and len(firsts) == s.keys, path, 0,
          "blocks, recordCount or keyCount disagree with the contents")
    if s.slots:
        if s.version == 3:  # § Hash index: B = bit length of blockCount − 1, O the fewest bits (≥ 1)
            largest = max(start for _, start in firsts.values())
            check((s.block_bits, s.offset_bits) == ((s.blocks - 1).bit_length(), max(1, largest.bit_length())),
                  path, 0, "slot widths %d and %d are not the fewest" % (s.block_bits, s.offset_bits))
        check(s.slot_table == rebuild_hash(s, firsts), path, s.hash_at,
              "hash index differs from segment.md § Hash index")
    return versions


def slot_tag(s, h):
    """§ Hash index: T = W − B − O bits, top bit set (version 1: 24 bits, (h & 0x7FFFFF) | 0x800000)."""
    top = 1 << (s.slot_width - s.block_bits - s.offset_bits - 1)
    return (h & (top - 1)) | top


def rebuild_hash(s, firsts):
    """segment.md § Hash index: the writer's insertion, keys in file order."""
    table = [0] * s.slots
    for key, (block, start) in firsts.items():
        h = xxh3(key)
        i = (h * s.slots) >> 64
        while table[i]:
            i = (i + 1) % s.slots
        table[i] = slot_tag(s, h) << (s.block_bits + s.offset_bits) | block << s.offset_bits | start
    return tuple(table)


def find(s, key):
    """segment.md § Point lookup, versions 1 and 3, by probing the hash index: the key's newest
    record (key, lsn, value or None), or None when the key is not in the segment."""
    h = xxh3(key)
    tag, start = slot_tag(s, h), (h * s.slots) >> 64
    shift, block_mask, offset_mask = s.block_bits + s.offset_bits, (1 << s.block_bits) - 1, (1 << s.offset_bits) - 1
    for n in range(s.slots):
        i = (start + n) % s.slots
        slot = s.slot_table[i]
        if slot == 0:
            return None
        if slot >> shift != tag:
            continue
        block = (slot >> s.offset_bits) & block_mask
        check(block < s.blocks, s.path, s.hash_at + s.slot_bytes * i, "hash slot %d: block %d" % (i, block))
        k = open_block(s, block)  # version 3 decodes the block's head first
        check(slot & offset_mask >= k.start, s.path, k.offset, "hash slot %d: offset %d inside block %d's head" % (i, slot & offset_mask, block))
        found = decode_record(s, k, slot & offset_mask, s.min_lsn)[:3]
        if found[0] == key:
            return found
    return None


# ---------------------------------------------------------------- wal.md

def wal_header(path, b, store_id, number):
    """wal.md § File header. Returns (baseLSN, record seed, recycled)."""
    check(b[:8] == WAL_MAGIC, path, 0, "bad magic")
    _, version, header_len, h_store, h_number, base, salt, reserved, header_sum = \
        struct.unpack_from("<QIIQQQQQQ", b, 0)
    check(header_sum == xxh3(b[:56], file_seed(WALH, store_id, number)), path, 0, "header checksum")
    if version > 2:  # 1: a fresh file; 2: a recycled one (wal.md § Recycled files)
        raise Unsupported("%s: format version %d" % (path, version))
    check(version in (1, 2) and header_len == 64 and h_store == store_id and h_number == number and reserved == 0
          and 1 <= base <= LSN_MAX, path, 0, "header fields")
    return base, file_seed(WALR, store_id, number, salt), version == 2


def wal_record(b, at, seed, expected):
    """One row of wal.md § Reading and damage, step 3: ("end",), ("bad",) or ("record", ...).
    expected=None leaves out the firstLSN continuity row (step 4)."""
    if at >= len(b) or (len(b) - at < 32 and not any(b[at:])):
        return ("end",)
    if len(b) - at < 32:
        return ("bad",)
    if not any(b[at:at + 32]):
        return ("end",)
    record_sum, length, kind, r1, r2, first, count, synced_delta = struct.unpack_from("<QIBBHQII", b, at)
    if length > BATCH_MAX or at + 32 + length > len(b) or record_sum != xxh3(b[at + 8:at + 32 + length], seed ^ at):
        return ("bad",)
    if kind != 1 or r1 or r2 or not 1 <= synced_delta <= first or not 1 <= count <= 1 << 20 or first > LSN_MAX:
        return ("bad",)
    if expected is not None and first != expected:
        return ("bad",)
    ops, p, end = [], at + 32, at + 32 + length
    for i in range(count):  # § Batch payload, validated whole before anything is applied
        if p + 8 > end:
            return ("bad",)
        op, name_n, key_n, value_n = struct.unpack_from("<BBHI", b, p); p += 8
        if p + name_n + key_n + value_n > end:
            return ("bad",)
        name, key, value = b[p:p + name_n], b[p + name_n:p + name_n + key_n], b[p + name_n + key_n:p + name_n + key_n + value_n]
        p += name_n + key_n + value_n
        if op not in (1, 2) or not valid_name(name) or not 1 <= key_n <= KEY_MAX or value_n > VALUE_MAX or (op == 2 and value_n):
            return ("bad",)
        ops.append((first + i, name.decode(), key, value if op == 1 else None))
    if p != end:
        return ("bad",)
    synced = 0 if synced_delta == 0xFFFFFFFF else first - synced_delta
    return ("record", first, count, synced, min((32 + length + 7) // 8 * 8, len(b) - at), ops, record_sum)


def classify_end(b, at, seed, end_lsn, recycled):
    """wal.md § Reading and damage, step 4: ("clean",), ("torn", bytes, discarded) or ("damage", C)."""
    discarded, c, later_end = 0, at + 8, at
    while c + 32 <= len(b):
        if struct.unpack_from("<Q", b, c)[0] != 0:
            record = wal_record(b, c, seed, None)
            if record[0] == "record" and record[1] >= end_lsn:
                if record[3] >= end_lsn:
                    return ("damage", c)
                discarded += 1
                c += record[4]
                later_end = c
                continue
        c += 8
    if recycled:  # § Recycled files: stale bytes of the earlier use do not count
        at_r = 0 if not any(b[at:at + 32]) else min(32, len(b) - at)
        n = max(at_r, later_end - at)
    else:
        last = len(b)
        while last > at and b[last - 1] == 0:
            last -= 1
        n = last - at
    return ("clean",) if n == 0 else ("torn", n, discarded)


def read_wal_file(path, b, seed, base, is_last, recycled):
    """Step 3 and 4 for one file. Returns (records, expectedLSN after the last one)."""
    at, expected, records = 64, base, []
    while True:
        record = wal_record(b, at, seed, expected)
        if record[0] != "record":
            break
        records.append((at,) + record[1:])
        at += record[4]
        expected = record[1] + record[2]
    end = classify_end(b, at, seed, expected, recycled)
    if end[0] == "damage":
        raise Corrupted("%s @%d: bad record, but a later one (@%d) proves it was durable" % (path, at, end[1]))
    if end[0] == "torn":
        check(is_last, path, at, "torn tail in a WAL file that is not the last")
        print("%s: torn tail at %d, %d bytes, %d records discarded (skipped)" % ((path, at) + end[1:]), file=sys.stderr)
    return records, expected


def replay_wal(store, store_id, checkpoint):
    """wal.md § Reading and damage. Returns the operations above the checkpoint."""
    directory = os.path.join(store, "wal")
    names = sorted(n for n in (os.listdir(directory) if os.path.isdir(directory) else [])
                   if n.endswith(".wal") and lower_hex(n[:16], 16) and len(n) == 20)
    files = []
    for index, name in enumerate(names):
        path = os.path.join(directory, name)
        b = open(path, "rb").read()
        if index == len(names) - 1 and (len(b) < 64 or not any(b[:64])):
            break  # step 1: the writer died creating the last file; it holds nothing
        check(len(b) >= 64, path, 0, "shorter than a header")
        files.append((path, b) + wal_header(path, b, store_id, int(name[:16], 16)))
    while len(files) > 1 and files[1][2] <= checkpoint + 1:
        files.pop(0)  # step 2: wholly at or below the checkpoint
    expected, ops = checkpoint + 1, []
    for index, (path, b, base, seed, recycled) in enumerate(files):
        check(base <= expected if index == 0 else base == expected, path, 0,
              "baseLSN %d, expected %d: WAL records are missing" % (base, expected))
        records, expected = read_wal_file(path, b, seed, base, path == os.path.join(directory, names[-1]), recycled)
        ops += [op for record in records if record[1] > checkpoint for op in record[5]]
    return ops


# ---------------------------------------------------------------- the store

def read_store(store, only=None):
    """Every visible record: the newest version (highest LSN) of each key; tombstones hide."""
    if not os.path.isdir(store):
        raise Corrupted("%s: no store at this path" % store)
    store_id, checkpoint, dims = choose_manifest(store)
    newest = {}
    def offer(dimension, key, lsn, value):
        if (dimension, key) not in newest or newest[(dimension, key)][0] < lsn:
            newest[(dimension, key)] = (lsn, value)
    for dimension, entries in dims.items():
        for e in entries:
            path = os.path.join(store, "dims", dimension, "%016x-%08x.seg" % (e["id"], e["version"]))
            for key, lsn, value in read_segment(path, store_id, e["id"], e["version"], e, dimension):
                offer(dimension, key, lsn, value)
    for lsn, dimension, key, value in replay_wal(store, store_id, checkpoint):
        offer(dimension, key, lsn, value)
    return sorted((d.encode(), k, v) for (d, k), (_, v) in newest.items()
                  if v is not None and (only is None or d == only))


def jsonl(dimension, key, value):
    b64 = lambda data: base64.b64encode(data).decode()
    return json.dumps({"dimension": dimension.decode(), "key": b64(key), "value": b64(value)}) + "\n"


# ---------------------------------------------------------------- golden vectors

def check_vectors(directory):
    """Formats/vectors/README.md, and the test values of README.md § Checksums."""
    S = 0x0123456789ABCDEF
    assert xxh3(b"") == 0x2D06800538D394C2 and xxh3(b"k") == 0xA921E3704FDA881D
    assert file_seed(WALH, S, 1) == 0x8D387CEF5E043156 and file_seed(SEGF, S, 1, 1) == 0x86F11FF51B644E68
    assert file_seed(WALR, S, 1, 0x1122334455667788) == 0xED74CEC852FA08AC
    assert file_seed(MANF, 1) == 0x07FDBD6731EB0997 and file_seed(MANF, 2) == 0xD76D8A54EF23E8F9
    # segment.md § Worked example: one LZ4 block
    lz4_example = bytes.fromhex("6f 01 01 40 00 6b 76 01 00 27 50 76 76 76 76 76")
    assert lz4.block.decompress(lz4_example, uncompressed_size=69) == bytes.fromhex("010140006b") + b"v" * 64

    path = os.path.join(directory, "0000000000000001.wal")
    b = open(path, "rb").read()
    base, seed, recycled = wal_header(path, b, S, 1)
    assert base == 1 and struct.unpack_from("<Q", b, 56)[0] == 0x4CBFD5685044CCE4
    records, expected = read_wal_file(path, b, seed, base, True, recycled)
    assert [(r[0], r[1], r[3], r[6]) for r in records] == [(64, 1, 0, 0x3B4F8181AF0CE21A), (136, 3, 2, 0x036AE87EC8B81625)]
    assert [op for r in records for op in r[5]] == [
        (1, "words", b"greeting", b"hello"), (2, "d", b"k", b"v"), (3, "d", b"k", None),
        (4, "binary", b"\x01\x02", b"\x00\xff\x10")] and expected == 5 and len(b) == 200
    print("wal: header and 2 record checksums verified, 4 operations, clean end at 200")

    expected_records = [(b"apple", 12, b"red"), (b"apple", 3, b"green"), (b"banana", 7, None),
                        (b"cherry", 5, b"c" * 40), (b"date", 9, b""), (b"elderberry", 4, b"purple")]
    versions = read_segment(os.path.join(directory, "0000000000000001-00000001.seg"), S, 1, 1)
    assert versions == expected_records
    print("segment: header, index, hash index, footer and every block checksum verified, 6 records")
    # The same records as an LZ4 (codec 1) rewrite: segment 1, version 2.
    versions = read_segment(os.path.join(directory, "0000000000000001-00000002.seg"), S, 1, 2)
    assert versions == expected_records
    print("LZ4 segment: every stored-block checksum verified, every block decompressed, 6 records")
    # The same again without a hash index (format version 2, segment.md § Versions): version 3.
    versions = read_segment(os.path.join(directory, "0000000000000001-00000003.seg"), S, 1, 3)
    assert versions == expected_records
    print("LZ4 segment without a hash index (format version 2): every checksum verified, 6 records")
    # The same in compact blocks (format version 3, segment.md § Compact blocks): version 4.
    path = os.path.join(directory, "0000000000000001-00000004.seg")
    s = open_segment(path, S, 1, 4)
    assert (s.version, s.codec, s.block_bits, s.offset_bits, s.slot_bytes, s.slots, s.blocks) == (3, 0, 2, 5, 4, 7, 3)
    assert (s.min_lsn, s.max_lsn, s.records, s.keys, len(s.b)) == (3, 12, 6, 5, 572)
    assert read_segment(path, S, 1, 4, opened=s) == expected_records
    heads = []
    for i in range(s.blocks):
        k = open_block(s, i)
        heads.append((k.base - s.min_lsn, k.key_len, k.value_len, k.prefix, k.start))
    assert heads == [(0, 0, 0, b"", 3), (2, 6, 41, b"cherry", 3), (1, 0, 0, b"", 3)], heads
    newest = {}
    for key, lsn, value in expected_records:
        newest.setdefault(key, (key, lsn, value))
    for v1_or_v3 in (open_segment(os.path.join(directory, "0000000000000001-00000001.seg"), S, 1, 1), s):
        for key, record in newest.items():  # § Point lookup: one probe of the hash index per key
            assert find(v1_or_v3, key) == record, (key, find(v1_or_v3, key))
        for key in (b"aardvark", b"apples", b"cherr", b"zebra", b"\x00"):
            assert find(v1_or_v3, key) is None, key
    print("compact segment (format version 3): every checksum verified, 3 block heads, 6 records, "
          "5 keys found through 4-byte hash slots")

    store_id, checkpoint, dims = read_manifest(os.path.join(directory, "MANIFEST-0000000000000002"), 2)
    assert (store_id, checkpoint) == (S, 12) and sorted(dims) == ["d", "words"]
    assert dims["d"] == [dict(id=2, version=1, codec=0, min=2, max=2, records=1, length=400)]
    assert dims["words"] == [dict(id=1, version=1, codec=0, min=3, max=12, records=6, length=608)]
    print("manifest: checksum verified, 2 dimensions")


def main(argv):
    if len(argv) >= 1 and argv[0] == "--vectors":
        here = os.path.dirname(os.path.abspath(__file__))
        check_vectors(argv[1] if len(argv) > 1 else os.path.join(here, "..", "vectors"))
        print("golden vectors: OK")
        return 0
    if not 1 <= len(argv) <= 2 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        records = read_store(argv[0], argv[1] if len(argv) == 2 else None)
    except (Corrupted, Unsupported) as error:
        print("reader: %s: %s" % (type(error).__name__, error), file=sys.stderr)
        return 1
    sys.stdout.write("".join(jsonl(*record) for record in records))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
