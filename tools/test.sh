#!/usr/bin/env bash
# The whole default test suite: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export SWIFT_BACKTRACE=enable=no
swift build --build-tests
swift test --skip-build
