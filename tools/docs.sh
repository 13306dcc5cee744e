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

# The compiler writes the graphs only when it compiles the module, so the ones of the last
# compile are kept: a build that finds the sources unchanged emits none (deleting them first made
# every second run on unchanged sources fail). If they are missing all the same, or the build
# fails in a damaged scratch folder, it is rebuilt from nothing.
build() {
    mkdir -p "$graphs/all"
    swift build --scratch-path "$scratch" --target LayerStore \
        -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$graphs/all"
}
if ! build || [[ ! -f "$graphs/all/LayerStore.symbols.json" ]]; then
    rm -rf "$scratch"
    build
fi
rm -rf "$graphs/LayerStore" && mkdir -p "$graphs/LayerStore"
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
