#!/usr/bin/env bash
# The cost of `record --schedtrace=20 --scheddetail` on a program whose runtime keeps 20,000 dead
# g's (tests/go/deadgs), side by side in one run: the program alone, alone with the runtime's own
# GODEBUG=schedtrace=20,scheddetail=1 (stderr to a pipe, as under gorepro), plain `record`, the
# detailed record at the fixed interval (--schedtrace-fixed: what record did before pacing), and
# the detailed record as it paces the runtime's interval now. Prints wall times (median of RUNS)
# and each as a ratio to plain record. docs/schedtrace.md has the reasoning and a measured table.
#
# Usage: bench/schedbound.sh
# Knobs (environment):
#   PROG=<build>/go-programs/go1.27/deadgs   the deadgs binary
#   GOREPRO=<build>/src/cli/gorepro          the gorepro binary
#   N=20000 RUNS=3 MS=20                     goroutines, rounds, --schedtrace interval
#   SKIP="fixed"                             configurations to leave out (the fixed one takes ~30 s+)
#   OUT=/tmp/gorepro-schedbound              scratch directory
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=${PROG:-$ROOT/build/go-programs/go1.27/deadgs}
GOREPRO=${GOREPRO:-$ROOT/build/src/cli/gorepro}
N=${N:-20000}
RUNS=${RUNS:-3}
MS=${MS:-20}
SKIP=${SKIP:-}
OUT=${OUT:-/tmp/gorepro-schedbound}
mkdir -p "$OUT"
[[ -x "$PROG" ]] || { echo "schedbound.sh: no deadgs at $PROG — build gorepro first (ninja -C build)" >&2; exit 1; }
[[ -x "$GOREPRO" ]] || { echo "schedbound.sh: no gorepro at $GOREPRO — build it first" >&2; exit 1; }

configs=(native native-detail record detail-fixed detail-paced)
declare -A cmd=(
  [native]="$PROG -n $N"
  [native-detail]="env GODEBUG=schedtrace=$MS,scheddetail=1 $PROG -n $N"
  [record]="$GOREPRO record -q -o $OUT/plain.gtr -- $PROG -n $N"
  [detail-fixed]="$GOREPRO record -q -o $OUT/fixed.gtr --schedtrace=$MS --scheddetail --schedtrace-fixed -- $PROG -n $N"
  [detail-paced]="$GOREPRO record -q -o $OUT/paced.gtr --schedtrace=$MS --scheddetail -- $PROG -n $N"
)
declare -A times=()
for ((round = 0; round < RUNS; round++)); do
  for c in "${configs[@]}"; do
    [[ " $SKIP " == *" ${c#detail-} "* ]] && continue
    t0=$(date +%s.%N)
    # native-detail's stderr is a pipe (cat), as the runtime's output is under gorepro.
    ${cmd[$c]} 2>&1 >/dev/null | cat >"$OUT/$c.log"
    t1=$(date +%s.%N)
    times[$c]+="$(echo "$t1 - $t0" | bc) "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${times[record]}" | median)
printf '%-14s %9s %8s\n' configuration "wall (s)" "/record"
for c in "${configs[@]}"; do
  [[ -n "${times[$c]:-}" ]] || continue
  m=$(echo "${times[$c]}" | median)
  printf '%-14s %9.2f %8.2f\n' "$c" "$m" "$(echo "$m / $base" | bc -l)"
done
grep -h "dump interval\|not paced" "$OUT"/detail-*.log || true
