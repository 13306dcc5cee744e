#!/usr/bin/env bash
# Installs the Debian packages LayerStore builds against, if any is missing, plus any package
# named as an argument (tools/bench/setup.sh names the benchmark's peers).
# Safe to run again: it does nothing when everything is present.
set -euo pipefail
need=()
for pkg in liblz4-dev libxxhash-dev pkg-config "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
