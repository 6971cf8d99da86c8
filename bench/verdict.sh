#!/usr/bin/env bash
# Leak-verdict scan benchmark (issue 15): a program with a ~1 GiB live heap (bench/bigheap) and a
# few leaked goroutines, recorded by `gorepro record` with the verdict scan at its exit and with
# --no-verdict, side by side with a native run. Prints, per run: the scan's time and MiB scanned
# (from record's status line — the program stays stopped while the scan runs, so this is the
# target's stop time), the whole command's wall time, and the leaked count it found.
#
# Usage: bench/verdict.sh
# Knobs (environment):
#   MIB=1024        live heap of the program, MiB
#   RUNS=3          rounds; each configuration runs once per round (interleaved)
#   GO=/usr/local/go/bin/go        toolchain that builds bench/bigheap
#   GOREPRO=<repo>/build/src/cli/gorepro
#   OUT=/tmp/gorepro-verdict       scratch directory
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MIB=${MIB:-1024}
RUNS=${RUNS:-3}
GO=${GO:-/usr/local/go/bin/go}
GOREPRO=${GOREPRO:-$ROOT/build/src/cli/gorepro}
OUT=${OUT:-/tmp/gorepro-verdict}
mkdir -p "$OUT"
die() { echo "verdict.sh: $*" >&2; exit 1; }
[[ -x "$GOREPRO" ]] || die "no gorepro at $GOREPRO (build it, or set GOREPRO)"
PROG=$OUT/bigheap
(cd "$ROOT/bench/bigheap" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE="$OUT/gocache" "$GO" build -o "$PROG" .) ||
  die "cannot build bench/bigheap with $GO"
echo "bigheap: $MIB MiB live heap, built with $("$GO" env GOVERSION); $RUNS rounds"

now() { date +%s.%N; }
printf '%-12s %10s %10s %12s %8s\n' config wall_s scan_s scanned_MiB leaked
for r in $(seq "$RUNS"); do
  t0=$(now); "$PROG" -mib "$MIB" >/dev/null; t1=$(now)
  printf '%-12s %10.2f %10s %12s %8s\n' native "$(echo "$t1 - $t0" | bc)" - - -
  t0=$(now); "$GOREPRO" record -q --no-verdict -o "$OUT/plain.gtr" -- "$PROG" -mib "$MIB" >/dev/null 2>"$OUT/plain.err"; t1=$(now)
  printf '%-12s %10.2f %10s %12s %8s\n' no-verdict "$(echo "$t1 - $t0" | bc)" - - -
  t0=$(now); "$GOREPRO" record -q -o "$OUT/verdict.gtr" -- "$PROG" -mib "$MIB" >/dev/null 2>"$OUT/verdict.err"; t1=$(now)
  line=$(grep 'verdicts:' "$OUT/verdict.err" || true)
  [[ -n "$line" ]] || { cat "$OUT/verdict.err" >&2; die "no verdicts line"; }
  scan=$(sed -n 's/.*(scan \([0-9.]*\) s, \([0-9]*\) MiB.*/\1/p' <<<"$line")
  mib=$(sed -n 's/.*(scan \([0-9.]*\) s, \([0-9]*\) MiB.*/\2/p' <<<"$line")
  leaked=$(sed -n 's/.*verdicts: \([0-9]*\) goroutines leaked.*/\1/p' <<<"$line")
  printf '%-12s %10.2f %10s %12s %8s\n' verdict "$(echo "$t1 - $t0" | bc)" "$scan" "$mib" "$leaked"
done
