#!/usr/bin/env bash
# Attach/detach endurance: CYCLES rounds of `gorepro record --pid --duration D` on a busy Go
# HTTP server (tests/go/busyserver) under a load that checks every answer it gets. The server
# must never die or answer wrong, must not be traced after any cycle, must end with its code
# byte for byte as it began, and a fixed run of requests after the last cycle must get the same
# answers (digest) as one before the first. The test suite runs the same check for 50 cycles
# (Guardian.AttachRecordDetachCyclesLeaveTheServerAsItWas); bench/README.md has results.
#
# Usage: bench/endurance.sh        Knobs: CYCLES=1000 DURATION=200ms OUT=/tmp/gorepro-endurance
#        plus those of bench/lib/busyserver.sh (BUILD, GOREPRO, GOV, RATE).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CYCLES=${CYCLES:-1000}
DURATION=${DURATION:-200ms}
OUT=${OUT:-/tmp/gorepro-endurance}
source "$ROOT/bench/lib/busyserver.sh"
trap 'exec 7>&- 2>/dev/null; stop_server' EXIT

start_server
untraced=$(fixed_run 50)
text_before=$(text_digest)
start_load
sleep 0.3
: >"$OUT/cycles.tsv"
failed=0
t_start=$(date +%s%N)
for ((i = 1; i <= CYCLES; i++)); do
  t0=$(date +%s%N)
  rc=0
  "$GOREPRO" record -q --pid "$SERVER_PID" --duration "$DURATION" -o "$OUT/cycle.gtr" 2>"$OUT/cycle.err" 7>&- || rc=$?
  t1=$(date +%s%N)
  events=$(sed -n 's/^gorepro: \([0-9]*\) events.*/\1/p' "$OUT/cycle.err")
  printf '%s\t%s\t%s\n' "$((t1 - t0))" "${events:-0}" "$rc" >>"$OUT/cycles.tsv"
  if [[ $rc -ne 0 ]]; then
    failed=$((failed + 1))
    cp "$OUT/cycle.err" "$OUT/cycle-$i.err"
  fi
  alive || die "cycle $i: the server died (see $OUT/server.err)"
  [[ "$(tracer_of "$SERVER_PID")" == 0 ]] || die "cycle $i: the server is still traced"
  ((i % 100 == 0)) && echo "endurance.sh: $i/$CYCLES cycles" >&2
done
t_end=$(date +%s%N)
stop_load
after=$(fixed_run 50)
text_after=$(text_digest)

python3 - "$OUT/cycles.tsv" "$CYCLES" "$failed" "$((t_end - t_start))" <<'PY'
import statistics, sys
rows = [tuple(map(int, l.split("\t"))) for l in open(sys.argv[1])]
cycles, failed, wall = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ms = sorted(r[0] / 1e6 for r in rows)
ev = [r[1] for r in rows]
print(f"cycles {cycles}, gorepro failures {failed}, total {wall / 1e9:.0f} s")
print(f"wall per cycle: median {statistics.median(ms):.0f} ms, p90 {ms[int(len(ms) * .9) - 1]:.0f} ms, max {ms[-1]:.0f} ms")
print(f"events per cycle: median {statistics.median(ev):.0f}, min {min(ev)}, total {sum(ev)}")
PY
echo "load during the cycles: $LOAD"
echo "fixed run before: $untraced"
echo "fixed run after:  $after"
[[ "${untraced##* digest }" == "${after##* digest }" ]] && echo "answers: same as before the first attach" ||
  echo "answers: DIFFER from before the first attach"
[[ "$text_before" == "$text_after" ]] && echo "code: .text identical after the last detach ($text_after)" ||
  echo "code: .text CHANGED ($text_before -> $text_after)"
alive && echo "server: alive, not traced (tracer pid $(tracer_of "$SERVER_PID"))" || echo "server: DEAD"
