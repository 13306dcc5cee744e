#!/usr/bin/env bash
# Corruption sweep at scale: random bit flips, byte overwrites, zeroed runs and truncations of
# every kind of store file (WAL, plain segment, LZ4 segment, manifest). Each damaged store is
# opened read-only and as the writer, every key read, every dimension scanned and `verify` run:
# each read must give the right value or a typed error, and `verify` must report damage
# whenever a read failed with `corrupted` (Tests/LayerStoreTests/Recovery/CorruptionSweepTests).
#
#   tools/corrupt.sh [--short] [--count N]
#
# N damages per file kind (default 2500; --short: 300, for CI). Prints the counts per kind and
# the outcomes; exits non-zero on any wrong value, missed damage or crash.
set -euo pipefail
cd "$(dirname "$0")/.."
count=2500
while [ $# -gt 0 ]; do
  case "$1" in
    --short) count=300 ;;
    --count) count="$2"; shift ;;
    *) echo "usage: tools/corrupt.sh [--short] [--count N]" >&2; exit 2 ;;
  esac
  shift
done
tools/setup.sh
export SWIFT_BACKTRACE=enable=no
export LAYERSTORE_CORRUPTIONS="$count"
scratch="${LAYERSTORE_SCRATCH_PATH:-.build}"
swift build --build-tests --scratch-path "$scratch"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
set +e
swift test --skip-build --scratch-path "$scratch" --filter CorruptionSweepTests >"$out" 2>&1
status=$?
set -e
echo "corrupt: $count damages per file kind in $(( $(date +%s) - start ))s"
grep "corruption sweep:" "$out" || true
if [ $status -ne 0 ]; then
  grep -E "✘|error|Fatal|crash|signal" "$out" | head -n 60 >&2 || true
  echo "corrupt: the sweep failed (exit $status)" >&2
  exit 1
fi
