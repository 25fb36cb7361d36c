#!/usr/bin/env bash
# Builds the DocC catalogs (docs/ARCHITECTURE.md lists the modules; issue 16):
#
#   scripts/docs.sh [MODULE…]       default: Strata StrataJSON StrataLog StrataModel StrataDocuments
#
# For each module: its symbol graph from a build in the scratch path .build-docs (never
# touching .build), then `docc convert` of Sources/MODULE/MODULE.docc with warnings as errors
# (a broken symbol link or a missing topic fails), into .build-docs/MODULE.doccarchive. Open the
# archive with `docc preview`, or serve it as static files.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
modules=("$@")
[ ${#modules[@]} -eq 0 ] && modules=(Strata StrataJSON StrataLog StrataModel StrataDocuments)
scratch=.build-docs
for module in "${modules[@]}"; do
  catalog="Sources/$module/$module.docc"
  [ -d "$catalog" ] || { echo "no DocC catalog at $catalog" >&2; exit 2; }
  graphs="$scratch/symbol-graphs/$module"
  rm -rf "$graphs" && mkdir -p "$graphs"
  swift build --target "$module" --scratch-path "$scratch" 2>&1 | tail -n 1
  # C targets (zlib, CRC32C, SQLite) are found through their module maps.
  cflags=()
  for dir in Sources/C*; do
    [ -f "$dir/module.modulemap" ] && cflags+=(-I "$dir")
    [ -d "$dir/include" ] && cflags+=(-I "$dir/include")
  done
  for map in "$scratch"/debug/*.build/module.modulemap; do
    # Plugin tools' host builds (`NAME-tool.build`) define the same C modules again.
    case "$map" in *-tool.build/*) continue ;; esac
    [ -f "$map" ] && cflags+=(-Xcc "-fmodule-map-file=$map")
  done
  swift-symbolgraph-extract -module-name "$module" -I "$scratch/debug/Modules" "${cflags[@]}" \
    -target "$(uname -m)-unknown-linux-gnu" -minimum-access-level public -output-dir "$graphs"
  docc convert "$catalog" --additional-symbol-graph-dir "$graphs" \
    --fallback-display-name "$module" --fallback-bundle-identifier "dev.strata.$module" \
    --output-path "$scratch/$module.doccarchive" --warnings-as-errors
  echo "docs: $module built into $scratch/$module.doccarchive"
done
