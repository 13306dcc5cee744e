#!/usr/bin/env bash
# Installs the Debian packages the side-by-side benchmark builds against, if any is missing:
# the peers' C libraries (LMDB, SQLite, RocksDB) besides what the root package needs (through
# tools/setup.sh). Safe to run again: it does nothing when everything is present.
set -euo pipefail
exec "$(dirname "$0")/../setup.sh" liblmdb-dev libsqlite3-dev librocksdb-dev
