#!/usr/bin/env bash
# Snapshot-mode benchmark (`gorepro record --snapshot`): what sampling the goroutine list costs
# a program no per-event tracer keeps up with, and what one snapshot costs per live goroutine.
#
#  1. bench/sleepers: 1000 goroutines each sleeping 1 ms in a loop for 1 s (~4 M scheduling
#     events per second). Wall time natively, under `record --snapshot 1s` and under
#     `record --snapshot 100ms` (launched), interleaved for RUNS rounds; medians and ratios
#     to native, side by side.
#  2. The same program with -park PARK goroutines parked (default 100 000) and -hold: gorepro
#     attaches with --snapshot 100ms for 2 s; the per-snapshot read time gorepro reports,
#     divided by the goroutines it read, is the cost per goroutine.
#
# Usage: bench/snapshot.sh
# Knobs (environment): RUNS=5  PARK=100000  GO=/usr/lib/go-1.23/bin/go
#   BUILD=<repo>/build  GOREPRO=$BUILD/src/cli/gorepro  OUT=/tmp/gorepro-snapshot
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-5}
PARK=${PARK:-100000}
GO=${GO:-/usr/lib/go-1.23/bin/go}
BUILD=${BUILD:-$ROOT/build}
OUT=${OUT:-/tmp/gorepro-snapshot}
mkdir -p "$OUT"
die() { echo "snapshot.sh: $*" >&2; exit 1; }

if [[ -z "${GOREPRO:-}" ]]; then
  cmake --build "$BUILD" --target gorepro >"$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log" >&2; die "building gorepro failed"; }
  GOREPRO=$BUILD/src/cli/gorepro
fi
[[ -x "$GOREPRO" ]] || die "no gorepro at $GOREPRO"
BENCH_BUILD=$BUILD/bench-sleepers
[[ -w "$BUILD" ]] || BENCH_BUILD=$OUT/build
mkdir -p "$BENCH_BUILD"
SLEEPERS=$BENCH_BUILD/sleepers
(cd "$ROOT/bench/sleepers" &&
  GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE="$BENCH_BUILD/gocache" GOPATH="$BENCH_BUILD/gopath" \
    "$GO" build -o "$SLEEPERS" .) || die "cannot build bench/sleepers with $GO"
echo "toolchain: $("$GO" env GOVERSION); gorepro: $GOREPRO; $(nproc) CPUs"

# wall seconds of a command (its output to $OUT/last.log)
wall() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$OUT/last.log" 2>&1 || { cat "$OUT/last.log" >&2; die "failed: $*"; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# --- 1. wall time of the 1000-sleepers program --------------------------------------------
: >"$OUT/wall.tsv"
for ((r = 1; r <= RUNS; r++)); do
  printf "native\t%s\n" "$(wall "$SLEEPERS")" >>"$OUT/wall.tsv"
  # gorepro's fixed cost (reading the binary before it starts the program), on an empty run
  printf "empty native\t%s\n" "$(wall "$SLEEPERS" -n 0 -for 0)" >>"$OUT/wall.tsv"
  printf "empty snapshot\t%s\n" "$(wall "$GOREPRO" record -q --snapshot 1s -o "$OUT/s0.gtr" -- "$SLEEPERS" -n 0 -for 0)" >>"$OUT/wall.tsv"
  printf "snapshot 1s\t%s\n" "$(wall "$GOREPRO" record -q --snapshot 1s -o "$OUT/s1.gtr" -- "$SLEEPERS")" >>"$OUT/wall.tsv"
  printf "snapshot 100ms\t%s\n" "$(wall "$GOREPRO" record -q --snapshot 100ms -o "$OUT/s100.gtr" -- "$SLEEPERS")" >>"$OUT/wall.tsv"
done
native=$(awk -F'\t' '$1 == "native" {print $2}' "$OUT/wall.tsv" | median)
echo
echo "1000 goroutines sleeping 1 ms in a loop for 1 s, $RUNS interleaved rounds (median wall time):"
printf "%-16s %8s %10s\n" "configuration" "wall s" "x native"
for c in "native" "snapshot 1s" "snapshot 100ms" "empty native" "empty snapshot"; do
  m=$(awk -F'\t' -v c="$c" '$1 == c {print $2}' "$OUT/wall.tsv" | median)
  printf "%-16s %8.3f %10.3f\n" "$c" "$m" "$(echo "$m / $native" | bc -l)"
done
echo "(empty: the same with -n 0 -for 0 — what is left is gorepro's start-up, reading the binary)"
echo "last --snapshot 100ms run:"
grep "^gorepro: " "$OUT/last.log" | sed 's/^/  /'

# --- 2. one snapshot per goroutine at PARK live goroutines ---------------------------------
"$SLEEPERS" -n 10 -for 1s -park "$PARK" -hold 30s >"$OUT/park.out" 2>&1 &
target=$!
trap 'kill $target 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q ready "$OUT/park.out" && break; sleep 0.1; done
sleep 1
"$GOREPRO" record -q --snapshot 100ms --pid "$target" --duration 2s -o "$OUT/park.gtr" 2>"$OUT/park.err" ||
  { cat "$OUT/park.err" >&2; die "record --pid failed"; }
line=$(grep "goroutine snapshots" "$OUT/park.err")
avg_ms=$(echo "$line" | sed -E 's/.*read in ([0-9.]+) ms on average.*/\1/')
max_ms=$(echo "$line" | sed -E 's/.*longest ([0-9.]+) ms.*/\1/')
kill $target 2>/dev/null || true
echo
echo "$PARK parked goroutines (+10 sleepers), attached with --snapshot 100ms for 2 s:"
echo "  $line"
printf "  one snapshot: %.1f ms on average (longest %.1f ms) = %.3f µs per goroutine\n" "$avg_ms" "$max_ms" \
  "$(echo "$avg_ms * 1000 / ($PARK + 11)" | bc -l)"
