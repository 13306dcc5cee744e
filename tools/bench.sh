#!/usr/bin/env bash
# The side-by-side benchmark: LayerStore vs LMDB, SQLite and RocksDB on the seed-280 workload,
# with the machine's limits, in one run. Installs the peers' Debian packages if missing, then
#   swift run -c release --package-path tools/bench bench [ARGS]
# e.g. tools/bench.sh --quick --json /tmp/bench.json
# Exit status: 0 when the run completed (targets are reported in the output and the JSON, not
# asserted), 1 on a real failure (a wrong value read back, an engine error, a crash), 2 on bad
# arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bench/setup.sh
export SWIFT_BACKTRACE=enable=no
start=$(date +%s)
tools/forget-build-plan.sh tools/bench release
swift build -c release --package-path tools/bench --product bench >&2
echo "bench.sh: build took $(( $(date +%s) - start )) s" >&2
exec swift run -c release --skip-build --package-path tools/bench bench "$@"
