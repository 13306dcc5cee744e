#!/usr/bin/env bash
# Checks the code against the on-disk spec with an independent reader: Formats/reference-reader/
# reader.py, written from Formats/*.md alone, must
#   1. decode the golden vectors (Formats/vectors/) and verify every checksum in them, and
#   2. read a store that the CLI wrote (several dimensions, overwrites, deletes, binary keys and
#      values, flushed segments, an LZ4 (codec 1) compaction, writes still only in the WAL) and
#      print exactly the bytes of `layerstore export STORE --format jsonl`, and of each dimension's
#      `layerstore export STORE DIM --format jsonl`; then again after garbage is appended to the
#      last WAL file (a torn tail, which both skip).
# Exits non-zero on any difference. Installs PyPI's lz4 and xxhash if they are missing.
# Environment: PYTHON (default python3); LAYERSTORE_SCRATCH, a --scratch-path for swift build.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
python=${PYTHON:-python3}
reader=Formats/reference-reader/reader.py

if ! "$python" -c 'import lz4.block, xxhash' 2>/dev/null; then
  echo "reference-check: installing lz4 and xxhash from PyPI" >&2
  "$python" -m pip install --quiet --disable-pip-version-check lz4 xxhash
fi
tools/setup.sh
scratch=()
[ -n "${LAYERSTORE_SCRATCH:-}" ] && scratch=(--scratch-path "$LAYERSTORE_SCRATCH")
swift build "${scratch[@]}" --product layerstore
bin="$(swift build "${scratch[@]}" --show-bin-path)/layerstore"

work=$(mktemp -d "${TMPDIR:-/tmp}/layerstore-reference.XXXXXX")
trap 'rm -rf "$work"' EXIT
store=$work/store
cli() { "$bin" "$@" >/dev/null; }

echo "== golden vectors"
"$python" "$reader" --vectors

echo "== building a store with the CLI"
# JSON lines of binary keys and values (every byte value, 0x00 0x09 0x0A 0xFF in keys and values),
# and compressible text lines for the dimension that goes to LZ4, from a fixed seed.
"$python" - "$work" <<'EOF'
import base64, json, random, sys
rnd, out = random.Random(20261125), sys.argv[1]
def line(key, value):
    return json.dumps({"key": base64.b64encode(key).decode(), "value": base64.b64encode(value).decode()}) + "\n"
special = [b"\x00", b"\t", b"\n", b"\xff", b"\x00\t\n\xff", bytes(range(256)), b"\r\n", "é✓".encode()]
with open(out + "/bin1.jsonl", "w") as f:
    for key in special:
        f.write(line(key, bytes(range(256))[::-1] + key))
    f.write(line(b"empty-value", b""))
    for _ in range(400):
        f.write(line(rnd.randbytes(rnd.randint(1, 40)), rnd.randbytes(rnd.randint(0, 300))))
with open(out + "/bin2.jsonl", "w") as f:  # overwrites after the flush, one with a dimension field
    for key in special[:4]:
        f.write(line(key, b"\x00second\x09\x0a\xff"))
    f.write('{"dimension": "bin", "key": "AQID", "value": "/w=="}\n')
with open(out + "/bin3.jsonl", "w") as f:  # only in the WAL
    for i in range(30):
        f.write(line(b"\xfe" + bytes([i]), rnd.randbytes(i * 7)))
words = "the cold tier keeps old records compressed in blocks of sixteen KiB".split()
with open(out + "/cold1.tsv", "w") as f:
    for i in range(3000):
        f.write("k%05d\t%s\n" % (i, " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 40)))))
    f.write("big\t%s\n" % ("x" * 40000))  # one record larger than the block target
with open(out + "/cold2.tsv", "w") as f:
    for i in range(0, 3000, 3):
        f.write("k%05d\tsecond %d\n" % (i, i))
with open(out + "/cold3.tsv", "w") as f:
    for i in range(0, 3000, 7):
        f.write("k%05d\tthird %d\n" % (i, i))
EOF
cli put "$store" words greeting hello
cli put "$store" words greeting hi
cli put "$store" words apple red
cli put "$store" words banana yellow
cli delete "$store" words banana
cli import "$store" bin --format jsonl --batch 50 <"$work/bin1.jsonl"
cli import "$store" cold --batch 700 <"$work/cold1.tsv"
cli flush "$store"
cli import "$store" cold <"$work/cold2.tsv"
cli delete "$store" cold k00001
cli delete "$store" cold k00003
cli import "$store" bin --format jsonl <"$work/bin2.jsonl"
cli flush "$store"
cli compact "$store" --dimension cold --lz4
# Unflushed: these live only in the WAL, above the checkpoint, over flushed and LZ4 records.
cli put "$store" words greeting "after the flush"
cli delete "$store" words apple
cli import "$store" cold --batch 100 <"$work/cold3.tsv"
cli delete "$store" cold k00014
cli delete "$store" cold big
cli import "$store" bin --format jsonl --batch 10 <"$work/bin3.jsonl"
cli put "$store" fresh only "in the WAL"

summary=$("$bin" inspect "$store")
grep -q "codec 1" <<<"$summary" || { echo "reference-check: no LZ4 (codec 1) segment was written" >&2; exit 1; }
if grep -q "WAL above the checkpoint: nothing" <<<"$summary"; then
  echo "reference-check: no write was left in the WAL" >&2
  exit 1
fi

echo "== comparing the reader with layerstore export"
failed=0
compare() {  # compare NAME [DIM]
  "$bin" export "$store" ${2:+"$2"} --format jsonl >"$work/export.jsonl"
  "$python" "$reader" "$store" ${2:+"$2"} >"$work/reader.jsonl"
  if cmp -s "$work/export.jsonl" "$work/reader.jsonl"; then
    echo "$1: identical, $(wc -l <"$work/export.jsonl") records"
  else
    echo "$1: DIFFERENT (< export, > reader):"
    diff "$work/export.jsonl" "$work/reader.jsonl" | head -20 || true
    failed=1
  fi
}
compare "every dimension"
for dimension in bin cold fresh words; do compare "$dimension" "$dimension"; done
# A writer killed mid-append leaves a torn tail (wal.md § Reading and damage): both skip it.
last_wal=$(find "$store/wal" -name '*.wal' | sort | tail -1)
printf 'torn: the writer died in this record....' >>"$last_wal"
head -c 4096 /dev/zero >>"$last_wal"
compare "with a torn WAL tail"
if [ "$failed" -ne 0 ]; then
  echo "reference-check: the reader and the code disagree" >&2
  exit 1
fi
echo "reference-check: OK"
