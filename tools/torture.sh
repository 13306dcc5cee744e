#!/usr/bin/env bash
# kill -9 torture: writers (import, flush, compact, compact --lz4) SIGKILLed at random moments,
# every acknowledged record checked after each reopen, `verify` clean.
#   tools/torture.sh [--short] [layerstore-torture options]
# --short is CI's bounded mode (40 cycles, at most 60 s, on the debug build the tests already
# made); without it: release build, 1000 cycles, at most 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export SWIFT_BACKTRACE=enable=no
if [ "${1:-}" = "--short" ]; then
  shift
  swift build --product layerstore >/dev/null
  swift build --product layerstore-torture >/dev/null
  exec .build/debug/layerstore-torture --cycles 40 --seconds 60 "$@"
fi
swift build -c release --product layerstore >/dev/null
swift build -c release --product layerstore-torture >/dev/null
exec .build/release/layerstore-torture --cycles 1000 --seconds 600 "$@"
