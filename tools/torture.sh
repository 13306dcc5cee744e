#!/usr/bin/env bash
# kill -9 torture: writers (import, flush, compact, compact --lz4) SIGKILLed at random moments,
# every acknowledged record checked after each reopen, `verify` clean.
#   tools/torture.sh [--short] [layerstore-torture options]
# --short is CI's bounded mode (40 cycles, at most 60 s); without it: 1000 cycles, at most 10 min.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export SWIFT_BACKTRACE=enable=no
args=(--cycles 1000 --seconds 600)
if [ "${1:-}" = "--short" ]; then args=(--cycles 40 --seconds 60); shift; fi
swift build -c release --product layerstore >/dev/null
swift build -c release --product layerstore-torture >/dev/null
.build/release/layerstore-torture "${args[@]}" "$@"
