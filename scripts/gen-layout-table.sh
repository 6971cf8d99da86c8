#!/usr/bin/env bash
# Regenerates src/dwarf/layout_table.json — the runtime layout (struct offsets, argument
# registers, goroutine states, wait-reason strings) per supported Go version, read from the
# DWARF of unstripped builds by gorepro's own DWARF reader. gorepro uses the table only for
# stripped binaries; tests check that it equals what DWARF says for each version.
# The toolchains are the ones the build found by asking each `go` (BUILD_DIR/go-toolchains.txt,
# written by cmake/GoPrograms.cmake): every supported version, or the script fails.
#   scripts/gen-layout-table.sh [BUILD_DIR]     (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
cmake --build "$build" --target gen_layout_table >/dev/null
toolchains="$build/go-toolchains.txt"
[ -s "$toolchains" ] || { echo "gen-layout-table: $toolchains missing or empty — configure $build after scripts/setup.sh" >&2; exit 1; }
wanted=$(sed -n 's/^set(GOREPRO_GO_VERSIONS "\([^"]*\)")$/\1/p' "$root/cmake/GoPrograms.cmake" | tr ';' ' ')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# It sets pprof labels, so that the label types (runtime/pprof.labelMap and what it holds) are in
# the DWARF: the table then serves stripped programs that set labels. It signals a sync.Cond, so
# that sync.Cond is in the DWARF too (the verdict scan finds a Cond waiter's Cond through it).
cat > "$work/main.go" <<'GO'
package main

import (
	"context"
	"runtime/pprof"
	"sync"
)

func main() {
	pprof.Do(context.Background(), pprof.Labels("k", "v"), func(context.Context) { go func() {}() })
	sync.NewCond(&sync.Mutex{}).Signal()
}
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
for v in $wanted; do
  read -r goroot gocache < <(awk -v v="$v" '$1 == v { print $2, $3 }' "$toolchains") || true
  [ -n "${goroot:-}" ] || { echo "gen-layout-table: no Go $v toolchain in $toolchains — run scripts/setup.sh, reconfigure" >&2; exit 1; }
  (cd "$work" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOCACHE="$gocache" \
     "$goroot/bin/go" build -o "$work/probe$v" .)
  bins+=("$work/probe$v")
done
"$build/gen_layout_table" "${bins[@]}" > "$root/src/dwarf/layout_table.json.new"
mv "$root/src/dwarf/layout_table.json.new" "$root/src/dwarf/layout_table.json"
echo "gen-layout-table: wrote src/dwarf/layout_table.json for ${#bins[@]} Go versions ($wanted)"
