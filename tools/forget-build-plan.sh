#!/usr/bin/env bash
# Makes SwiftPM plan a nested package's build again from the sources on disk:
#   tools/forget-build-plan.sh PACKAGE_DIR CONFIGURATION      (e.g. tools/bench release)
# Why: a package that depends on the root package by path (tools/bench, tools/fuzz) keeps the
# root's list of source files in its build plan, and SwiftPM 6.3.1 does not notice a file added
# to the root: the next build fails with "cannot find 'X' in scope" for the new file's types.
# Removing the plan costs about a second; objects already built are kept.
set -euo pipefail
package="$1"
configuration="$2"
rm -f "$package/.build/$configuration.yaml"
rm -f "$package"/.build/*/"$configuration"/description.json
