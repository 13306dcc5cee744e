#!/usr/bin/env bash
# libFuzzer runs of LayerStore's readers (tools/fuzz): each target reads its input as a WAL file,
# a segment or a manifest, as given and again with every checksum recomputed, or (FuzzStore) as
# a whole store directory, and must never crash, trap or trip AddressSanitizer.
#
#   tools/fuzz.sh [--short] [--seconds N] [FuzzWAL|FuzzSegment|FuzzManifest|FuzzStore ...]
#
# Default: every target for 300 s each; --short (CI): 25 s each. The seed corpus is copied from
# Formats/vectors at each run into tools/fuzz/.build/corpus/<target> (kept between runs, so a
# local corpus grows). Prints the executions of each target (libFuzzer's final
# stat::number_of_executed_units) and exits non-zero if any target crashed; the crashing input
# is kept in tools/fuzz/.build/artifacts/<target>/ and dumped in hex.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=300
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --short) seconds=25 ;;
    --seconds) seconds="$2"; shift ;;
    Fuzz*) targets+=("$1") ;;
    *) echo "usage: tools/fuzz.sh [--short] [--seconds N] [FuzzWAL|FuzzSegment|FuzzManifest|FuzzStore ...]" >&2; exit 2 ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] || targets=(FuzzWAL FuzzSegment FuzzManifest FuzzStore)

tools/setup.sh >/dev/null
export SWIFT_BACKTRACE=enable=no
# Leaks are checked (a reader that leaks a decoded block per input would show here); the
# Swift runtime's own caches are not reported as leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

# Copies the golden vectors that seed `target` into its corpus directory.
seed() {
  local target="$1" corpus="$2" v="$root/Formats/vectors"
  case "$target" in
    FuzzWAL) cp "$v"/*.wal "$corpus/" ;;
    FuzzSegment) cp "$v"/*.seg "$corpus/" ;;
    FuzzManifest) cp "$v"/MANIFEST-* "$corpus/" ;;
    FuzzStore)
      # FuzzStore's input is a list of files, each kind:u8 length:u32le bytes (0 manifest,
      # 1 segment, 2 WAL): the vectors' store as one input.
      { entry 0 "$v"/MANIFEST-0000000000000002; entry 1 "$v"/0000000000000001-00000001.seg; entry 2 "$v"/0000000000000001.wal; } \
        >"$corpus/seed-store"
      { entry 0 "$v"/MANIFEST-0000000000000002; entry 1 "$v"/0000000000000001-00000002.seg; } >"$corpus/seed-store-lz4" ;;
  esac
}

entry() {
  local n
  n=$(wc -c <"$2")
  printf "$(printf '\\x%02x' "$1" $((n & 255)) $(((n >> 8) & 255)) $(((n >> 16) & 255)) $(((n >> 24) & 255)))"
  cat "$2"
}

build="$root/tools/fuzz/.build"
mkdir -p "$build"
failed=0
summary=""
# Debug only: libFuzzer gets no coverage feedback from a release build. Not `--sanitize=fuzzer
# --sanitize=address`: SwiftPM passes them as two -sanitize= flags and the compiler keeps only
# the last, so nothing would be instrumented for coverage. One combined flag instruments both.
flags=(--package-path tools/fuzz --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address)
"$root/tools/forget-build-plan.sh" "$root/tools/fuzz" debug
for target in "${targets[@]}"; do
  if ! swift build "${flags[@]}" --product "$target" >"$build/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$build/build.log" | tail -n 30 >&2
    echo "fuzz: $target does not build" >&2
    exit 1
  fi
done
bin=$(swift build "${flags[@]}" --show-bin-path)
for target in "${targets[@]}"; do
  binary="$bin/$target"
  corpus="$build/corpus/$target"
  artifacts="$build/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  seed "$target" "$corpus"
  log=$(mktemp)
  scratch_before=$(ls -d /dev/shm/layerstore-fuzz-* /tmp/layerstore-fuzz-* 2>/dev/null || true)
  echo "fuzz: $target for ${seconds}s"
  set +e
  "$binary" "$corpus" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=3072 \
    -max_len=65536 -artifact_prefix="$artifacts/" >"$log" 2>&1
  status=$?
  set -e
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  summary+="$(printf '%-14s %12s executions in %ss' "$target" "$executions" "$seconds")\n"
  if [ $status -ne 0 ]; then
    failed=1
    grep -E "ERROR|error|Fatal|SUMMARY|deadly|Test unit written|==[0-9]+==" "$log" | head -n 40 >&2 || true
    for crash in "$artifacts"/*; do
      [ -f "$crash" ] || continue
      echo "fuzz: $target crashed; input kept at $crash" >&2
      od -A d -t x1 "$crash" | head -n 64 >&2
    done
  fi
  rm -f "$log"
  # The scratch directory the target wrote its inputs to (FuzzEntryPoints: FuzzScratch).
  for dir in $(ls -d /dev/shm/layerstore-fuzz-* /tmp/layerstore-fuzz-* 2>/dev/null || true); do
    grep -qxF "$dir" <<<"$scratch_before" || rm -rf "$dir"
  done
done
printf "fuzz results:\n$summary"
if [ $failed -ne 0 ]; then
  echo "fuzz: a target crashed" >&2
  exit 1
fi
