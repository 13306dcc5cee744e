#!/usr/bin/env bash
# Installs the Debian packages the side-by-side benchmark builds against, if any is missing:
# the peers' C libraries (LMDB, SQLite, RocksDB) and what the root package needs (LZ4, xxHash,
# pkg-config). Safe to run again: it does nothing when everything is present.
set -euo pipefail
need=()
for pkg in liblmdb-dev libsqlite3-dev librocksdb-dev liblz4-dev libxxhash-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
