#!/usr/bin/env bash
# Regenerates src/dwarf/layout_table.json — the runtime layout (struct offsets, argument
# registers, goroutine states, wait-reason strings) per supported Go version, read from the
# DWARF of unstripped builds by gorepro's own DWARF reader. gorepro uses the table only for
# stripped binaries; tests check that it equals what DWARF says for each version.
#   scripts/gen-layout-table.sh [BUILD_DIR]     (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
cmake --build "$build" --target gen_layout_table >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/main.go" <<'GO'
package main

func main() { go func() {}() }
GO
# From Go 1.23, a coroutine too (iter.Pull), so that runtime.coro is in the DWARF.
cat > "$work/coro.go" <<'GO'
//go:build go1.23

package main

import "iter"

func init() {
	next, stop := iter.Pull(iter.Seq[int](func(yield func(int) bool) { yield(1) }))
	next()
	stop()
}
GO
printf 'module layoutprobe\n\ngo 1.19\n' > "$work/go.mod"
bins=()
for v in 1.19 1.21 1.22 1.23; do
  go=/usr/lib/go-$v/bin/go
  [ -x "$go" ] || { echo "gen-layout-table: $go missing — run scripts/setup.sh" >&2; exit 1; }
  (cd "$work" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE="$build/go-cache/go$v" "$go" build -o "$work/probe$v" .)
  bins+=("$work/probe$v")
done
"$build/gen_layout_table" "${bins[@]}" > "$root/src/dwarf/layout_table.json.new"
mv "$root/src/dwarf/layout_table.json.new" "$root/src/dwarf/layout_table.json"
echo "gen-layout-table: wrote src/dwarf/layout_table.json for ${#bins[@]} Go versions"
