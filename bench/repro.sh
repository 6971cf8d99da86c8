#!/usr/bin/env bash
# Runs-to-reproduce: `gorepro repro` (seeded perturbation) against plain reruns under `record`
# (`gorepro repro --no-perturb`: the same loop, no holds, no GOMAXPROCS/affinity changes), for
# each intermittent example (examples/race*), side by side in one run; then how often a found
# seed makes the leak happen again, and each example's leak rate natively.
#
# Usage: bench/repro.sh
# Knobs (environment):
#   ATTEMPTS=10          searches per example and mode; the table shows the median runs each took
#   MAX=30               runs a perturbed search may take before it counts as "not found"
#   PLAIN_MAX=60         runs a plain search may take (a miss counts as PLAIN_MAX, so the plain
#                        median is a lower bound when it shows ≥); PLAIN_MAX_<example>=N sets
#                        it for one example (a rarer leak needs a higher cap to show a ratio)
#   SEED_RUNS=20         same-seed reruns per example (same-seed reproduction rate) of the seeds
#                        printed as confirmed (what a user is told replays), spread round
#                        robin over the seeds its searches found
#   NATIVE=100           native runs per example for its leak rate (0: skip)
#   CONFIRM=2            `repro --confirm`: reruns of a found seed before it is printed; they are
#                        counted in the perturbed search's runs (runs-to-reproduce = runs in all)
#   GO_VERSION=1.26      which build of the examples (build/go-programs/goV/NAME)
#   BUILD=<repo>/build   gorepro build tree; GOREPRO=$BUILD/src/cli/gorepro
#   EXAMPLES="racetimeout raceclose racewgadd"
#   OUT=/tmp/gorepro-repro-bench   scratch
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ATTEMPTS=${ATTEMPTS:-10}
MAX=${MAX:-30}
PLAIN_MAX=${PLAIN_MAX:-60}
SEED_RUNS=${SEED_RUNS:-20}
NATIVE=${NATIVE:-100}
CONFIRM=${CONFIRM:-2}
GO_VERSION=${GO_VERSION:-1.26}
BUILD=${BUILD:-$ROOT/build}
GOREPRO=${GOREPRO:-$BUILD/src/cli/gorepro}
EXAMPLES=${EXAMPLES:-racetimeout raceclose racewgadd}
OUT=${OUT:-/tmp/gorepro-repro-bench}
mkdir -p "$OUT"
die() { echo "repro.sh: $*" >&2; exit 1; }
[[ -x "$GOREPRO" ]] || die "no gorepro at $GOREPRO (build first, or set GOREPRO)"
bin_of() {
  local b
  for b in "$BUILD/go-programs/go$GO_VERSION/$1" $(find "$BUILD" -path "*go$GO_VERSION/$1" -type f 2>/dev/null | head -1); do
    [[ -x "$b" ]] && { echo "$b"; return; }
  done
  die "no build of $1 for Go $GO_VERSION under $BUILD"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# search MODE BIN MAXRUNS → prints "RUNS SEED" (RUNS = MAXRUNS+1 and SEED = - when not found).
# RUNS counts every run the search made, confirm runs included; a seed printed NOT confirmed is
# a find (its trace is the user's) but not a seed to replay: SEED is then "?".
search() {
  local mode=$1 bin=$2 max=$3 flags=(--confirm "$CONFIRM") out runs seed
  [[ $mode == plain ]] && flags=(--no-perturb)
  out=$("$GOREPRO" repro -q "${flags[@]}" --runs "$max" -o "$OUT/found" -- "$bin" 2>"$OUT/last.err")
  case $? in
    0) seed=$(echo "$out" | sed -n 's/^gorepro repro: reproduced on run [0-9]* of [0-9]* (seed \([0-9]*\),.*/\1/p')
       runs=$(echo "$out" | sed -n 's/^  \([0-9]*\) runs\{0,1\} in all.*/\1/p; s/.*; \([0-9]*\) runs in all, .*/\1/p')
       grep -q 'NOT confirmed' <<<"$out" && seed='?'
       echo "$runs $seed" ;;
    1) echo "$((max + 1)) -" ;;
    *) cat "$OUT/last.err" >&2; die "gorepro repro failed on $bin" ;;
  esac
  rm -rf "$OUT/found"
}

# The machine's load while each example ran: one 1-minute load average sample every 10 s.
loadavg() { cut -d' ' -f1 /proc/loadavg; }
sampler() { while :; do loadavg >>"$OUT/load.$1"; sleep 10; done; }
sampler_pid=
trap '[[ -n $sampler_pid ]] && kill "$sampler_pid" 2>/dev/null' EXIT
load_span() { sort -n "$OUT/load.$1" | awk 'NR==1 {lo=$1} {hi=$1; s+=$1} END {printf "%.0f-%.0f (avg %.1f)", lo, hi, s/NR}'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
printf '%-12s %18s %18s %9s %10s %14s %12s  %s\n' example "repro runs (med)" "plain runs (med)" "ratio" "same seed" "plain rate" "native rate" "load during"
for ex in $EXAMPLES; do
  bin=$(bin_of "$ex")
  cap_var="PLAIN_MAX_$ex"; PLAIN_CAP=${!cap_var:-$PLAIN_MAX}
  rm -f "$OUT/load.$ex"; loadavg >"$OUT/load.$ex"
  sampler "$ex" & sampler_pid=$!
  pr=() pl=() seeds=() found=0 plain_runs=0 plain_found=0
  for ((a = 0; a < ATTEMPTS; a++)); do  # interleaved, so load changes hit both modes alike
    read -r n s < <(search perturb "$bin" "$MAX")
    pr+=("$n"); [[ $s != - ]] && found=$((found + 1)); [[ $s != - && $s != '?' ]] && seeds+=("$s")
    read -r n s < <(search plain "$bin" "$PLAIN_CAP")
    pl+=("$n")
    if [[ $s != - ]]; then plain_found=$((plain_found + 1)); plain_runs=$((plain_runs + n)); else plain_runs=$((plain_runs + PLAIN_CAP)); fi
  done
  mr=$(printf '%s\n' "${pr[@]}" | median)
  mp=$(printf '%s\n' "${pl[@]}" | median)
  misses=$(printf '%s\n' "${pl[@]}" | awk -v m=$((PLAIN_CAP + 1)) '$1==m' | wc -l)
  mp_shown=$mp; (( misses * 2 >= ATTEMPTS )) && mp_shown="≥$PLAIN_CAP"
  ratio=$(awk -v a="$mp" -v b="$mr" 'BEGIN {printf "%.1fx", a / b}')
  (( misses * 2 >= ATTEMPTS )) && ratio="≥$ratio"
  again=0 tries=0
  for ((k = 0; k < SEED_RUNS && ${#seeds[@]} > 0; k++)); do
    s=${seeds[k % ${#seeds[@]}]}
    tries=$((tries + 1))
    "$GOREPRO" repro -q --seed "$s" -o "$OUT/seed" -- "$bin" >/dev/null 2>&1 && again=$((again + 1))
    rm -rf "$OUT/seed"
  done
  native=-
  if (( NATIVE > 0 )); then
    leaks=0
    for ((k = 0; k < NATIVE; k++)); do
      c=$(GOREPRO_EXAMPLE_SELFCHECK=1 "$bin" 2>&1 >/dev/null | grep -c '^goroutine ')
      (( c > 1 )) && leaks=$((leaks + 1))
    done
    native="$leaks/$NATIVE"
  fi
  kill "$sampler_pid"; wait "$sampler_pid" 2>/dev/null; loadavg >>"$OUT/load.$ex"
  printf '%-12s %18s %18s %9s %10s %14s %12s  %s\n' "$ex" "$mr ($found/$ATTEMPTS found)" "$mp_shown" "$ratio" \
    "$again/$tries" "$plain_found/$plain_runs" "$native" "$(load_span "$ex")"
  echo "$ex repro: ${pr[*]} | plain: ${pl[*]} | confirmed seeds: ${#seeds[@]} of $found finds" >>"$OUT/runs.log"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(per-attempt runs in $OUT/runs.log; a miss counts as MAX+1)"
