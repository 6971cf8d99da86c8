#!/usr/bin/env bash
# Export benchmark: size and time of each `gorepro export` format for a ~1 M-event trace (bench/churn,
# 4 events per goroutine), side by side with `gorepro report` on the same trace (which opens and
# replays it the same way: the ratio is what exporting costs on top). Results: docs/exports.md.
#
# Usage: bench/export.sh
# Knobs (environment):
#   N=250000                   goroutines bench/churn creates (≈ 4 N events)
#   BACKEND=ptrace             backend that records it (~22 µs/event: ~25 s for 1 M; ebpf is faster where it runs)
#   GO=/usr/lib/go-1.23/bin/go toolchain that builds bench/churn
#   GOREPRO=<repo>/build/src/cli/gorepro
#   TRACE=                     an existing trace to export instead of recording one
#   OUT=/tmp/gorepro-export    scratch directory
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-250000}
BACKEND=${BACKEND:-ptrace}
GO=${GO:-/usr/lib/go-1.23/bin/go}
GOREPRO=${GOREPRO:-$ROOT/build/src/cli/gorepro}
OUT=${OUT:-/tmp/gorepro-export}
mkdir -p "$OUT"
die() { echo "export.sh: $*" >&2; exit 1; }
[[ -x "$GOREPRO" ]] || die "no gorepro at $GOREPRO — build it first (README: Building)"

if [[ -z "${TRACE:-}" ]]; then
  (cd "$ROOT/bench/churn" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE="$OUT/gocache" GOPATH="$OUT/gopath" \
    "$GO" build -o "$OUT/churn" .) || die "cannot build bench/churn with $GO"
  TRACE=$OUT/churn.gtr
  "$GOREPRO" record -q --backend "$BACKEND" -o "$TRACE" -- "$OUT/churn" -n "$N" >/dev/null \
    || die "recording bench/churn with --backend $BACKEND failed (try BACKEND=ptrace)"
fi
events=$("$GOREPRO" report --format json "$TRACE" | python3 -c 'import json,sys; print(json.load(sys.stdin)["trace"]["events"])')

# seconds and peak RSS (MB) of one command, its stdout to a file
measure() {
  local out=$1; shift
  /usr/bin/time -f '%e %M' -o "$OUT/time" "$@" >"$out" 2>"$OUT/err" || { cat "$OUT/err" >&2; die "$* failed"; }
  read -r secs kb <"$OUT/time"
  echo "$secs $((kb / 1024))"
}
size() { stat -c %s "$1"; }

printf 'trace: %s, %s events, %s bytes\n' "$TRACE" "$events" "$(size "$TRACE")"
printf '%-26s %9s %8s %12s %10s %9s\n' what seconds "RSS MB" bytes bytes/event "x report"
read -r base_s base_m < <(measure "$OUT/report.txt" "$GOREPRO" report "$TRACE")
row() {  # name secs mb file
  local ratio
  ratio=$(python3 -c "print(f'{$2 / max($base_s, 0.001):.2f}')")
  printf '%-26s %9s %8s %12s %10s %9s\n' "$1" "$2" "$3" "$(size "$4")" \
    "$(python3 -c "print(f'{$(size "$4") / max($events, 1):.2f}')")" "$ratio"
}
row "report (baseline)" "$base_s" "$base_m" "$OUT/report.txt"
for f in pprof folded perfetto html; do
  read -r s m < <(measure /dev/null "$GOREPRO" export --format "$f" -o "$OUT/churn.$f" "$TRACE")
  row "export --format $f" "$s" "$m" "$OUT/churn.$f"
done
# Half way, churn has a batch of goroutines alive: the snapshot formats have stacks to write.
half=$((events / 2))
for f in pprof folded; do
  read -r s m < <(measure /dev/null "$GOREPRO" export --format "$f" --at "$half" -o "$OUT/churn.half.$f" "$TRACE")
  row "export $f --at half" "$s" "$m" "$OUT/churn.half.$f"
done
read -r s m < <(measure /dev/null "$GOREPRO" export --format perfetto --all -o "$OUT/churn.all.perfetto" "$TRACE")
row "export perfetto --all" "$s" "$m" "$OUT/churn.all.perfetto"
