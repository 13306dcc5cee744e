#!/usr/bin/env bash
# Crash-state enumeration (Tests/LayerStoreTests/CrashStates): each scripted workload (synced
# commits, flush, compactions, WAL rolls, deletes and a reopen, buffered commits) runs once
# through a recording FileIO; for a crash after every recorded operation, every disk state the
# POSIX model allows there (extremes, plus a seeded random sample) is rebuilt and recovered,
# and must hold every acknowledged commit as an in-order prefix of the commits.
#
#   tools/crash-states.sh [--long] [--samples N]
#
# Default: the same bounded run as the test suite. --long: LAYERSTORE_CRASH_STATES=exhaustive
# (every sector boundary of every torn write, 24 random states per crash point, verify and a
# second open on every distinct disk). --samples N: the default run with N random states per
# crash point. Prints "crash states checked" per workload; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=""
while [ $# -gt 0 ]; do
  case "$1" in
    --long) mode="exhaustive" ;;
    --samples) mode="$2"; shift ;;
    *) echo "usage: tools/crash-states.sh [--long] [--samples N]" >&2; exit 2 ;;
  esac
  shift
done
tools/setup.sh
export SWIFT_BACKTRACE=enable=no
export LAYERSTORE_CRASH_STATES="$mode"
scratch="${LAYERSTORE_SCRATCH_PATH:-.build}"
swift build --build-tests --scratch-path "$scratch"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
set +e
swift test --skip-build --scratch-path "$scratch" --filter CrashState >"$out" 2>&1
status=$?
set -e
echo "crash-states: ${mode:-default} mode, $(( $(date +%s) - start ))s"
grep "crash states checked:" "$out" || true
if [ $status -ne 0 ]; then
  grep -E "✘|↳ .*crash|error|Fatal|signal" "$out" | head -n 60 >&2 || true
  echo "crash-states: failures (exit $status)" >&2
  exit 1
fi
