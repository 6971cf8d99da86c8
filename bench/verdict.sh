#!/usr/bin/env bash
# Leak-verdict scan benchmark (issue 15): a program with a large live heap (bench/bigheap) and a
# few leaked goroutines, recorded by `gorepro record` with the verdict scan at its exit and with
# --no-verdict, side by side with a native run — and, when BEFORE names another gorepro binary,
# that binary's verdict scan in the same rounds. Prints, per run:
#   wall_s       the whole command's wall time
#   scan_s       the scan's time, from record's status line (the program is stopped meanwhile)
#   MiB          memory scanned (globals, stacks, reachable objects), from the same line
#   s/GiB        scan_s per GiB scanned — issue 15's goal is under 1
#   stop_s       how long the target stayed stopped: from its exit_group call to its exit, seen by
#                bpftrace (needs root and bpftrace; "-" otherwise). Includes the scan.
#   cpu_s        gorepro's own CPU time, all its threads (the scan reads ahead on a second one), not
#                the target's: seen by bpftrace at gorepro's exit (the thread group's runtime);
#                without bpftrace, perf stat --no-inherit, which counts gorepro's main thread only.
#                On a loaded machine the scan waits for a CPU, and cpu_s is what it costs.
#   leaked       leaked goroutines found
#
# Usage: bench/verdict.sh
# Knobs (environment):
#   MIB="256 1024"  live heaps of the program, MiB (each one a set of rounds)
#   RUNS=3          rounds; each configuration runs once per round (interleaved)
#   GO=/usr/local/go/bin/go        toolchain that builds bench/bigheap
#   GOREPRO=<repo>/build/src/cli/gorepro
#   BEFORE=         another gorepro to compare with (e.g. main's build), run as config "before"
#   OUT=/tmp/gorepro-verdict       scratch directory
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MIB=${MIB:-256 1024}
RUNS=${RUNS:-3}
GO=${GO:-/usr/local/go/bin/go}
GOREPRO=${GOREPRO:-$ROOT/build/src/cli/gorepro}
BEFORE=${BEFORE:-}
OUT=${OUT:-/tmp/gorepro-verdict}
mkdir -p "$OUT"
die() { echo "verdict.sh: $*" >&2; exit 1; }
[[ -x "$GOREPRO" ]] || die "no gorepro at $GOREPRO (build it, or set GOREPRO)"
[[ -z "$BEFORE" || -x "$BEFORE" ]] || die "no gorepro at BEFORE=$BEFORE"
PROG=$OUT/bigheap
(cd "$ROOT/bench/bigheap" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE="$OUT/gocache" "$GO" build -o "$PROG" .) ||
  die "cannot build bench/bigheap with $GO"
echo "bigheap built with $("$GO" env GOVERSION); heaps: $MIB MiB; $RUNS rounds; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# The target's stop: one line per run of bigheap (the thread that calls exit_group), in order.
STOPS=$OUT/stops.txt
: >"$STOPS"
BPF_PID=
if [[ $EUID -eq 0 ]] && command -v bpftrace >/dev/null; then
  bpftrace -e 'tracepoint:syscalls:sys_enter_exit_group /comm == "bigheap"/ { @t[tid] = nsecs; }
    tracepoint:sched:sched_process_exit /@t[tid]/ { printf("stop %d\n", (nsecs - @t[tid]) / 1000); delete(@t[tid]); }
    tracepoint:sched:sched_process_exit /pid == tid && strncmp(comm, "gorepro", 7) == 0/ {
      printf("cpu %d %d\n", pid, (curtask->signal->sum_sched_runtime + curtask->se.sum_exec_runtime) / 1000); }' \
    >"$STOPS" 2>"$OUT/bpftrace.err" &
  BPF_PID=$!
  trap 'kill $BPF_PID 2>/dev/null || true' EXIT
  for _ in $(seq 100); do grep -q Attaching "$STOPS" && break; sleep 0.2; done
  grep -q Attaching "$STOPS" || { echo "(bpftrace did not start: stop_s not measured)"; kill $BPF_PID; BPF_PID=; }
fi
PERF=()
[[ -z "$BPF_PID" ]] && command -v perf >/dev/null && PERF=(perf stat --no-inherit -x, -e task-clock -o "$OUT/perf.txt" --)

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
stops_seen() { grep -c '^stop ' "$STOPS" || true; }
# The stop of the run that just ended (after `before` lines), in seconds, or "-".
stop_of() {
  [[ -n "$BPF_PID" ]] || { echo -; return; }
  for _ in $(seq 50); do (($(stops_seen) > $1)) && break; sleep 0.1; done
  awk -v n="$1" '/^stop /{ if (++i == n + 1) { printf "%.3f", $2 / 1e6; found = 1 } } END { if (!found) print "-" }' "$STOPS"
}
# gorepro's CPU in the run whose gorepro had pid $1, in seconds, or "-".
cpu_of() {
  if [[ -n "$BPF_PID" ]]; then
    for _ in $(seq 50); do grep -q "^cpu $1 " "$STOPS" && break; sleep 0.1; done
    awk -v p="$1" '$1 == "cpu" && $2 == p { printf "%.3f", $3 / 1e6; found = 1 } END { if (!found) print "-" }' "$STOPS"
    return
  fi
  [[ ${#PERF[@]} -gt 0 && -s "$OUT/perf.txt" ]] || { echo -; return; }
  awk -F, '/task-clock/ { printf "%.3f", $1 / 1000 }' "$OUT/perf.txt"
}
# Runs gorepro (its arguments) in the background and waits; GPID is its pid (perf's with perf).
run_gorepro() {
  "${PERF[@]}" "$@" &
  GPID=$!
  wait "$GPID"
}
row() { printf '%6s %-12s %8s %8s %8s %7s %8s %7s %7s\n' "$@"; }
# One verdict run of gorepro $2 as config $1 on a heap of $3 MiB.
verdict_run() {
  local before t0 t1 line scan mib leaked spg
  before=$(stops_seen)
  t0=$(now)
  run_gorepro "$2" record -q -o "$OUT/verdict.gtr" -- "$PROG" -mib "$3" >/dev/null 2>"$OUT/verdict.err"
  t1=$(now)
  line=$(grep 'verdicts:' "$OUT/verdict.err" || true)
  [[ -n "$line" ]] || { cat "$OUT/verdict.err" >&2; die "no verdicts line from $2"; }
  scan=$(sed -n 's/.*(scan \([0-9.]*\) s, \([0-9]*\) MiB.*/\1/p' <<<"$line")
  mib=$(sed -n 's/.*(scan \([0-9.]*\) s, \([0-9]*\) MiB.*/\2/p' <<<"$line")
  leaked=$(sed -n 's/.*verdicts: \([0-9]*\) goroutines leaked.*/\1/p' <<<"$line")
  spg=$(awk -v s="$scan" -v m="$mib" 'BEGIN { printf "%.3f", (m > 0 ? s / (m / 1024) : 0) }')
  row "$3" "$1" "$(secs "$t0" "$t1")" "$scan" "$mib" "$spg" "$(stop_of "$before")" "$(cpu_of "$GPID")" "$leaked"
}

row heap config wall_s scan_s MiB s/GiB stop_s cpu_s leaked
for m in $MIB; do
  for r in $(seq "$RUNS"); do
    before=$(stops_seen)
    t0=$(now); "$PROG" -mib "$m" >/dev/null; t1=$(now)
    row "$m" native "$(secs "$t0" "$t1")" - - - "$(stop_of "$before")" - -
    before=$(stops_seen)
    t0=$(now)
    run_gorepro "$GOREPRO" record -q --no-verdict -o "$OUT/plain.gtr" -- "$PROG" -mib "$m" >/dev/null 2>"$OUT/plain.err"
    t1=$(now)
    row "$m" no-verdict "$(secs "$t0" "$t1")" - - - "$(stop_of "$before")" "$(cpu_of "$GPID")" -
    [[ -z "$BEFORE" ]] || verdict_run before "$BEFORE" "$m"
    verdict_run verdict "$GOREPRO" "$m"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
