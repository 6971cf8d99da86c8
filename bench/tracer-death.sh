#!/usr/bin/env bash
# Survival of an attached program when gorepro dies: a busy Go HTTP server (tests/go/busyserver)
# under a checking load, `gorepro record --pid` attached to it, and at a random moment while it
# is attached (uniform over the first KILL_WINDOW ms after the attach) a SIGKILL to
#   gorepro    the process the user started (the supervisor; the recorder then detaches cleanly)
#   recorder   the process that traces (the guardian, i.e. the supervisor, then puts the code back)
# KILLS times each. A trial survives when the server still runs, untraced, 0.5 s later; a dead
# server is restarted. The test suite asserts 100/100 for `gorepro`
# (Guardian.GoreproKilledAtRandomMomentsTheServerServesOnUnchanged); `recorder` has a window
# (docs/tracer-death.md), measured here. Results: bench/README.md.
#
# Usage: bench/tracer-death.sh     Knobs: KILLS=100 MODES="gorepro recorder" KILL_WINDOW=1300
#        SEED=$RANDOM OUT=/tmp/gorepro-tracer-death, plus those of bench/lib/busyserver.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KILLS=${KILLS:-100}
MODES=${MODES:-gorepro recorder}
KILL_WINDOW=${KILL_WINDOW:-1300}
SEED=${SEED:-$RANDOM}
OUT=${OUT:-/tmp/gorepro-tracer-death}
source "$ROOT/bench/lib/busyserver.sh"
trap 'exec 7>&- 2>/dev/null; stop_server' EXIT
RANDOM=$SEED
echo "tracer-death.sh: seed $SEED, $KILLS kills per mode, load $RATE requests/s, go$GOV" >&2

start_server
start_load
sleep 0.3
# The event rate the probes see under this load (what a dying recorder may be in the middle of).
"$GOREPRO" record -q --pid "$SERVER_PID" --duration 2s -o "$OUT/rate.gtr" 2>"$OUT/rate.err" 7>&-
echo "events in 2 s of recording under this load: $(sed -n 's/^gorepro: \([0-9]*\) events.*/\1/p' "$OUT/rate.err")"

: >"$OUT/trials.tsv"
for mode in $MODES; do
  for ((i = 1; i <= KILLS; i++)); do
    "$GOREPRO" record -q --pid "$SERVER_PID" --duration 3s -o "$OUT/t.gtr" 2>"$OUT/trial.err" 7>&- &
    g=$!
    for _ in $(seq 400); do [[ "$(tracer_of "$SERVER_PID")" =~ ^[1-9] ]] && break; sleep 0.005; done
    sleep "$(awk -v ms=$((RANDOM % KILL_WINDOW)) 'BEGIN { printf "%.3f", ms / 1000 }')"
    victim=$g
    [[ $mode == recorder ]] && victim=$(tracer_of "$SERVER_PID")
    [[ "$victim" =~ ^[1-9] && "$victim" != "$SERVER_PID" ]] && kill -9 "$victim"
    wait "$g" 2>/dev/null || true
    sleep 0.5
    outcome=survived
    if ! alive || [[ "$(tracer_of "$SERVER_PID")" != 0 ]]; then
      outcome="died: $(head -1 "$OUT/server.err")"
      cp "$OUT/server.err" "$OUT/death-$mode-$i.err"
    fi
    guardian=$(grep -o 'wrote [0-9]* bytes.*; pid [0-9]* [a-z ]*' "$OUT/trial.err" || true)
    printf '%s\t%s\t%s\t%s\n' "$mode" "$i" "$outcome" "$guardian" >>"$OUT/trials.tsv"
    if [[ $outcome != survived ]]; then
      stop_load
      stop_server
      start_server
      start_load
      sleep 0.3
    fi
  done
  echo "tracer-death.sh: $mode done" >&2
done
stop_load
echo "load (since the last restart): $LOAD"

python3 - "$OUT/trials.tsv" <<'PY'
import collections, re, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
for mode in dict.fromkeys(r[0] for r in rows):
    mine = [r for r in rows if r[0] == mode]
    alive = sum(r[2] == "survived" for r in mine)
    print(f"kill {mode}: the server survived {alive}/{len(mine)}")
    for cause, n in collections.Counter(r[2] for r in mine if r[2] != "survived").most_common():
        print(f"    {n} x {cause}")
    lat = [int(m.group(1)) for r in mine if (m := re.search(r"(\d+) µs after", r[3]))]
    if lat:
        print(f"    guardian wrote the code back {statistics.median(lat)} µs (median; max {max(lat)}) after the recorder died, "
              f"in {len(lat)} trials")
    froze = [r for r in mine if "stopped the program" in r[3]]
    if froze:
        put = sum(int(m.group(1)) for r in froze if (m := re.search(r"put back (\d+) thread", r[3])))
        frames = sum(int(m.group(1)) for r in froze if (m := re.search(r"\((\d+) from the entry", r[3])))
        alive_froze = sum(r[2] == "survived" for r in froze)
        print(f"    the recorder had left threads in its breakpoints in {len(froze)} trials: {put} threads put back after "
              f"a SIGSTOP ({frames} from a SIGTRAP handler's entry, {put - frames} from one byte into an instruction); "
              f"the server survived {alive_froze} of those")
PY
