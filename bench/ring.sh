#!/usr/bin/env bash
# Flight-recorder benchmark (`gorepro record --ring`, docs/ring.md): memory and trace size over a
# long recording of a steady churn (tests/go/ringchurn: goroutines created and ended at a fixed
# rate, 4 events each), without a ring, under `--ring TIME` and under `--ring SIZE`, the three
# recordings side by side at the same time (same machine load, so their ratios compare). Every
# SAMPLE seconds: gorepro's RSS (/proc/PID/status VmRSS), the trace bytes (the file without a
# ring; the window held in memory with one — gorepro's own gauge, read from --metrics) and the
# events/s gorepro reports. Written as a table to $OUT/ring.tsv and printed.
#
# Usage: bench/ring.sh               (1 hour: on demand, not in CI)
#        DURATION=300 RING_TIME=1m RING_SIZE=20MB bench/ring.sh   (the 5-minute version)
# Knobs (environment):
#   DURATION=3600   seconds of churn            SAMPLE=30    seconds between samples
#   RATE=12500      goroutines per second (x4 events: 50 000 events/s asked; the table says
#                   what was reached)
#   RING_TIME=5m    RING_SIZE=100MB             BACKEND=ebpf if it can run here, else ptrace
#   LEAK_TAIL=60    the last LEAK_TAIL seconds of the churn also leak 25 goroutines (one every
#                   20 ms), so each window must report them at their `// mark: leak` line
#   GO=/usr/lib/go-1.23/bin/go  BUILD=<repo>/build  GOREPRO=$BUILD/src/cli/gorepro
#   OUT=/tmp/gorepro-ring
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-3600}
SAMPLE=${SAMPLE:-30}
RATE=${RATE:-12500}
RING_TIME=${RING_TIME:-5m}
RING_SIZE=${RING_SIZE:-100MB}
LEAK_TAIL=${LEAK_TAIL:-60}
GO=${GO:-/usr/lib/go-1.23/bin/go}
BUILD=${BUILD:-$ROOT/build}
OUT=${OUT:-/tmp/gorepro-ring}
mkdir -p "$OUT"
die() { echo "ring.sh: $*" >&2; exit 1; }

if [[ -z "${GOREPRO:-}" ]]; then
  cmake --build "$BUILD" --target gorepro >"$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log" >&2; die "building gorepro failed"; }
  GOREPRO=$BUILD/src/cli/gorepro
fi
[[ -x "$GOREPRO" ]] || die "no gorepro at $GOREPRO"
CHURN=$OUT/ringchurn
(cd "$ROOT/tests/go/ringchurn" &&
  GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE="$OUT/gocache" GOPATH="$OUT/gopath" \
    "$GO" build -o "$CHURN" .) || die "cannot build tests/go/ringchurn with $GO"

if [[ -z "${BACKEND:-}" ]]; then
  BACKEND=ptrace
  if "$GOREPRO" record -q --backend ebpf -o "$OUT/probe.gtr" -- "$CHURN" -hold 1 -churn 100ms -tail 0 -leak 0 \
      >/dev/null 2>"$OUT/probe.log"; then
    BACKEND=ebpf
  fi
fi
echo "toolchain: $("$GO" env GOVERSION); backend: $BACKEND; $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "churn: $RATE goroutines/s (4 events each) for $DURATION s; samples every $SAMPLE s"

# name port ring-args...: gorepro recording ringchurn in the background; its pid in $OUT/name.pid
start() {
  local name=$1 port=$2
  shift 2
  rm -f "$OUT/$name.gtr"
  "$GOREPRO" record -q --backend "$BACKEND" --metrics "127.0.0.1:$port" "$@" -o "$OUT/$name.gtr" -- \
    "$CHURN" -hold 100 -rate "$RATE" -churn "$((DURATION - LEAK_TAIL))s" -leak 25 -tail "${LEAK_TAIL}s" >"$OUT/$name.out" 2>"$OUT/$name.err" &
  echo $! >"$OUT/$name.pid"
}
metric() { # port name: a gauge/counter of gorepro's /metrics (0 when not served yet)
  # (|| true: a recording that is ending closes its server first; under pipefail curl's failure
  # would end this script before the summary)
  curl -s --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v n="$2" '$1 == n {print $2; f=1} END {if (!f) print 0}' || true
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

start plain 19461
start time 19462 --ring "$RING_TIME"
start size 19463 --ring "$RING_SIZE"

printf "t_s\tplain_rss_MB\tplain_trace_MB\tplain_ev_s\ttime_rss_MB\ttime_window_MB\ttime_ev_s\tsize_rss_MB\tsize_window_MB\tsize_ev_s\n" >"$OUT/ring.tsv"
t0=$(date +%s)
while :; do
  sleep "$SAMPLE"
  now=$(( $(date +%s) - t0 ))
  row="$now"
  alive=0
  for name in plain time size; do
    pid=$(cat "$OUT/$name.pid")
    port=$([[ $name == plain ]] && echo 19461 || { [[ $name == time ]] && echo 19462 || echo 19463; })
    if kill -0 "$pid" 2>/dev/null; then
      alive=1
      rss=$(rss_kb "$pid")
      if [[ $name == plain ]]; then
        bytes=$(stat -c %s "$OUT/plain.gtr" 2>/dev/null || echo 0)
      else
        bytes=$(metric "$port" gorepro_trace_bytes)
      fi
      evs=$(metric "$port" gorepro_events_per_second)
      row+=$(printf "\t%.1f\t%.1f\t%.0f" "$(echo "$rss / 1024" | bc -l)" "$(echo "$bytes / 1048576" | bc -l)" "$evs")
    else
      row+=$'\t-\t-\t-'
    fi
  done
  [[ $alive == 1 ]] || break
  echo "$row" >>"$OUT/ring.tsv"
  echo "$row"
done
for name in plain time size; do wait "$(cat "$OUT/$name.pid")" || true; done
echo
column -t "$OUT/ring.tsv"
echo
for name in plain time size; do
  printf "%s: file %s bytes; %s\n" "$name" "$(stat -c %s "$OUT/$name.gtr")" "$(grep -E 'events|flight recorder' "$OUT/$name.err" | head -2 | tr '\n' ' ')"
done
echo
# The leak started LEAK_TAIL s before the end, inside every window: each file must report its 25
# goroutines at the marked line, as created there (not as alive at the window's start).
leak_line=$(grep -n '// mark: leak' "$ROOT/tests/go/ringchurn/main.go" | cut -d: -f1)
fail=0
for name in plain time size; do
  "$GOREPRO" report --verdict all "$OUT/$name.gtr" >"$OUT/$name.report" 2>&1 || true
  if grep -qE "main\.go:$leak_line\b" "$OUT/$name.report" && grep -E "main\.go:$leak_line\b" -B1 "$OUT/$name.report" | grep -qE '^25 alive / 25 created +waiting'; then
    echo "$name: the leak is reported at main.go:$leak_line"
  else
    echo "$name: the leak at main.go:$leak_line is NOT in its report ($OUT/$name.report)"
    fail=1
  fi
done
exit $fail
