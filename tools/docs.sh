#!/usr/bin/env bash
# Builds the LayerStore DocC documentation (Sources/LayerStore/LayerStore.docc plus the doc
# comments of every public symbol) with the toolchain's own `docc`, and fails on any warning:
# an unresolved or ambiguous symbol link, an undocumented parameter, a broken article reference.
#
#   tools/docs.sh [OUTPUT]      (default: .build-docs/LayerStore.doccarchive)
#
# It emits the library's symbol graph with its own build folder (.build-docs, so it never waits
# for or disturbs another build), then runs `docc convert --warnings-as-errors` on the catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-docs
output=${1:-$scratch/LayerStore.doccarchive}
graphs=$scratch/symbol-graphs
docc=$(command -v docc || true)
if [[ -z "$docc" ]]; then
    docc="$(dirname "$(readlink -f "$(command -v swift)")")/docc"
fi
[[ -x "$docc" ]] || { echo "docs.sh: no docc next to swift ($docc)" >&2; exit 1; }

rm -rf "$graphs" && mkdir -p "$graphs/all" "$graphs/LayerStore"
swift build --scratch-path "$scratch" --target LayerStore \
    -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$graphs/all"
# Only LayerStore's own graphs (its dependencies' graphs land in the same folder).
cp "$graphs"/all/LayerStore.symbols.json "$graphs"/all/LayerStore@*.symbols.json "$graphs/LayerStore/"

rm -rf "$output"
"$docc" convert Sources/LayerStore/LayerStore.docc \
    --additional-symbol-graph-dir "$graphs/LayerStore" \
    --fallback-display-name LayerStore \
    --fallback-bundle-identifier org.layerstore.LayerStore \
    --output-path "$output" \
    --warnings-as-errors
echo "docs.sh: documentation built without warnings: $output"
