#!/usr/bin/env bash
# Attach/detach endurance: CYCLES rounds of `gorepro record --pid --duration D` on a busy Go
# HTTP server (tests/go/busyserver) under a load that checks every answer it gets. The server
# must never die or answer wrong, must not be traced after any cycle, must end with its code
# byte for byte as it began, and a fixed run of requests after the last cycle must get the same
# answers (digest) as one before the first. The test suite runs the same check for 50 cycles
# (Guardian.AttachRecordDetachCyclesLeaveTheServerAsItWas); bench/README.md has results.
# It also prints, side by side, what the server costs before the first attach and after the last
# detach (RSS, threads, open files; wall and CPU time of the same fixed run of FIXED x 4
# requests, least of 3), and each cycle's gorepro (peak RSS of the larger of its two processes, CPU time).
#
# Usage: bench/endurance.sh        Knobs: CYCLES=1000 DURATION=200ms FIXED=250
#        OUT=/tmp/gorepro-endurance, plus those of bench/lib/busyserver.sh (BUILD, GOREPRO, GOV, RATE).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CYCLES=${CYCLES:-1000}
DURATION=${DURATION:-200ms}
FIXED=${FIXED:-250}
OUT=${OUT:-/tmp/gorepro-endurance}
source "$ROOT/bench/lib/busyserver.sh"
trap 'exec 7>&- 2>/dev/null; stop_server' EXIT

# The fixed run, 3 times: the last summary, then the least wall and server CPU in ms
# ("SUMMARY|wall_ms cpu_ms"). The least of three: on a shared machine one run alone measures
# mostly the other processes.
timed_fixed_run() {
  local c0 t0 out wall cpu best_wall=999999999 best_cpu=999999999
  for _ in 1 2 3; do
    c0=$(server_stats | awk '{ print $4 }')
    t0=$(date +%s%N)
    out=$(fixed_run "$FIXED")
    wall=$((($(date +%s%N) - t0) / 1000000))
    cpu=$(($(server_stats | awk '{ print $4 }') - c0))
    ((wall < best_wall)) && best_wall=$wall
    ((cpu < best_cpu)) && best_cpu=$cpu
  done
  echo "$out|$best_wall $best_cpu"
}

start_server
fixed_run "$FIXED" >/dev/null  # warm up: the first run pays for the server's first allocations
untraced=$(timed_fixed_run)
stats_before=$(server_stats)
text_before=$(text_digest)
start_load
sleep 0.3
: >"$OUT/cycles.tsv"
failed=0
t_start=$(date +%s%N)
for ((i = 1; i <= CYCLES; i++)); do
  t0=$(date +%s%N)
  rc=0
  /usr/bin/time -f '%M %U %S' -o "$OUT/cycle.time" \
    "$GOREPRO" record -q --pid "$SERVER_PID" --duration "$DURATION" -o "$OUT/cycle.gtr" 2>"$OUT/cycle.err" 7>&- || rc=$?
  t1=$(date +%s%N)
  events=$(sed -n 's/^gorepro: \([0-9]*\) events.*/\1/p' "$OUT/cycle.err")
  read -r max_kb user_s sys_s < <(tail -1 "$OUT/cycle.time")
  printf '%s\t%s\t%s\t%s\t%s\n' "$((t1 - t0))" "${events:-0}" "$rc" "$max_kb" \
    "$(awk -v u="$user_s" -v s="$sys_s" 'BEGIN { printf "%d", (u + s) * 1000 }')" >>"$OUT/cycles.tsv"
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
after=$(timed_fixed_run)
stats_after=$(server_stats)
text_after=$(text_digest)
left=$(pgrep -f -- "--pid $SERVER_PID " | wc -l || true)  # a gorepro of this run still running

python3 - "$OUT/cycles.tsv" "$CYCLES" "$failed" "$((t_end - t_start))" <<'PY'
import statistics, sys
rows = [tuple(map(int, l.split("\t"))) for l in open(sys.argv[1])]
cycles, failed, wall = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ms = sorted(r[0] / 1e6 for r in rows)
ev = [r[1] for r in rows]
print(f"cycles {cycles}, gorepro failures {failed}, total {wall / 1e9:.0f} s")
print(f"wall per cycle: median {statistics.median(ms):.0f} ms, p90 {ms[int(len(ms) * .9) - 1]:.0f} ms, max {ms[-1]:.0f} ms")
print(f"events per cycle: median {statistics.median(ev):.0f}, min {min(ev)}, total {sum(ev)}")
kb = [r[3] for r in rows]
cpu = [r[4] for r in rows]
tenth = max(1, len(rows) // 10)
print(f"gorepro per cycle: peak RSS median {statistics.median(kb) / 1024:.1f} MiB (max {max(kb) / 1024:.1f}; "
      f"last tenth / first tenth {statistics.median(kb[-tenth:]) / statistics.median(kb[:tenth]):.2f}), "
      f"CPU median {statistics.median(cpu)} ms (last tenth / first tenth "
      f"{statistics.median(cpu[-tenth:]) / max(1, statistics.median(cpu[:tenth])):.2f})")
PY
python3 - "$stats_before" "$stats_after" "${untraced##*|}" "${after##*|}" "$FIXED" <<'PY'
import sys
b, a = [list(map(int, x.split())) for x in sys.argv[1:3]]
fb, fa = [list(map(int, x.split())) for x in sys.argv[3:5]]
print("server, before the first attach -> after the last detach (after/before):")
for name, x, y in (("RSS MiB", b[0] / 1024, a[0] / 1024), ("threads", b[1], a[1]), ("open files", b[2], a[2]),
                   (f"wall of {sys.argv[5]} x 4 fixed requests (least of 3), ms", fb[0], fa[0]),
                   (f"server CPU for them, ms", fb[1], fa[1])):
    print(f"    {name}: {x:.1f} -> {y:.1f} ({y / x if x else float('nan'):.2f})")
PY
echo "load during the cycles: $LOAD"
echo "fixed run before: ${untraced%%|*}"
echo "fixed run after:  ${after%%|*}"
untraced=${untraced%%|*}
after=${after%%|*}
[[ "${untraced##* digest }" == "${after##* digest }" ]] && echo "answers: same as before the first attach" ||
  echo "answers: DIFFER from before the first attach"
[[ "$text_before" == "$text_after" ]] && echo "code: .text identical after the last detach ($text_after)" ||
  echo "code: .text CHANGED ($text_before -> $text_after)"
echo "gorepro processes left running: $left"
alive && echo "server: alive, not traced (tracer pid $(tracer_of "$SERVER_PID"))" || echo "server: DEAD"
