#!/usr/bin/env bash
# Runs the library test suite under a sanitizer: `tools/sanitize.sh thread` or `address`.
# Uses its own build folder (.build-<sanitizer>), so it does not disturb the normal build.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizer="${1:-thread}"
tools/setup.sh
export SWIFT_BACKTRACE=enable=no
if [ "$sanitizer" = address ]; then export ASAN_OPTIONS=detect_leaks=0; fi
swift build --build-tests --scratch-path ".build-$sanitizer" --sanitize="$sanitizer"
out=$(mktemp)
swift test --skip-build --scratch-path ".build-$sanitizer" --sanitize="$sanitizer" --filter LayerStoreTests 2>&1 | tee "$out"
if grep -q "WARNING: ThreadSanitizer\|ERROR: AddressSanitizer" "$out"; then
  echo "sanitize: $sanitizer reported problems" >&2
  exit 1
fi
