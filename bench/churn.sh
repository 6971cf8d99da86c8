#!/usr/bin/env bash
# Goroutine-churn benchmark: the cost of one traced runtime event under gorepro's ptrace, gdb and
# ebpf backends, side by side with native, gdb breakpoints (`silent; continue`: the gdb backend's
# floor), bpftrace uprobes on the same functions, and counting-only uprobes at exactly the ebpf
# backend's sites (the uprobe floor, bench/uprobe_floor); then events/s with 1 and 2 threads busy
# creating goroutines. See bench/README.md for what the columns mean and measured results.
#
# Usage: bench/churn.sh            (all configurations, RUNS rounds, interleaved)
# Knobs (environment):
#   N=100000        goroutines for native / gorepro / bpftrace
#   GDB_N=5000      goroutines for gdb (about 0.5 ms per hit: keep the gdb run short)
#   RUNS=3          rounds; every configuration runs once per round, the table shows medians
#   GO=/usr/lib/go-1.23/bin/go     toolchain that builds bench/churn
#   BUILD=<repo>/build             gorepro build tree (configured with Ninja if absent)
#   GOREPRO=$BUILD/src/cli/gorepro gorepro binary (set it to skip the cmake build)
#   SKIP="gdb bpftrace pinned states ebpf floor creators"  configurations to leave out
#   FLOOR=$BUILD/bench/uprobe_floor/uprobe_floor   the uprobe-floor tool (built with gorepro)
#   OUT=/tmp/gorepro-churn         scratch directory for traces and logs
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-100000}
GDB_N=${GDB_N:-5000}
RUNS=${RUNS:-3}
GO=${GO:-/usr/lib/go-1.23/bin/go}
BUILD=${BUILD:-$ROOT/build}
SKIP=${SKIP:-}
OUT=${OUT:-/tmp/gorepro-churn}
mkdir -p "$OUT"

skipped() { [[ " $SKIP " == *" $1 "* ]]; }
die() { echo "churn.sh: $*" >&2; exit 1; }

# --- build -------------------------------------------------------------------------------
if [[ -z "${GOREPRO:-}" ]]; then
  if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja >"$OUT/cmake.log" 2>&1 || { cat "$OUT/cmake.log" >&2; die "cmake failed"; }
  fi
  targets=(gorepro)
  skipped floor || targets+=(uprobe_floor)
  cmake --build "$BUILD" --target "${targets[@]}" >"$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log" >&2; die "building gorepro failed"; }
  GOREPRO=$BUILD/src/cli/gorepro
fi
[[ -x "$GOREPRO" ]] || die "no gorepro at $GOREPRO"
FLOOR=${FLOOR:-$BUILD/bench/uprobe_floor/uprobe_floor}
skipped floor || [[ -x "$FLOOR" ]] || die "no uprobe_floor at $FLOOR (it needs a build with the ebpf backend; or SKIP=floor)"

BENCH_BUILD=$BUILD/bench-churn
[[ -w "$BUILD" ]] || BENCH_BUILD=$OUT/build
mkdir -p "$BENCH_BUILD"
CHURN=$BENCH_BUILD/churn
(cd "$ROOT/bench/churn" &&
  GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE="$BENCH_BUILD/gocache" GOPATH="$BENCH_BUILD/gopath" \
    "$GO" build -o "$CHURN" .) || die "cannot build bench/churn with $GO"
GOVERSION=$("$GO" env GOVERSION)

# --- probe sites: exactly what `gorepro record` instruments ------------------------------
# gdb breaks at the same addresses (RET sites of newproc1 and netpoll included). bpftrace 0.17
# as packaged here refuses uprobes at function+offset ("compiled without (k|u)probe offset
# support"), so it probes the entries of newproc1 and netpoll instead: one entry hit per call,
# as one RET hit per call, so the hit counts are the same.
"$GOREPRO" info --format json "$CHURN" >"$OUT/info.json"
# The roles a plain `gorepro record` probes (info lists every probe, optional ones included).
DEFAULT_ROLES="create park ready inject netpoll exit gcworker"
read -r -a SITES < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(hex(s["address"]) for p in d["probes"] if p["role"] in sys.argv[2].split() for s in p["sites"]))' "$OUT/info.json" "$DEFAULT_ROLES")
read -r -a FUNCS < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(p["function"] for p in d["probes"] if p["role"] in sys.argv[2].split()))' "$OUT/info.json" "$DEFAULT_ROLES")

GDB_SCRIPT=$OUT/bp.gdb
GDB_BASE=$OUT/nobp.gdb
{
  printf 'set pagination off\nset confirm off\nset print thread-events off\nset startup-with-shell off\n'
  for s in SIGURG SIGPIPE SIGCHLD SIGPROF SIGALRM SIGWINCH SIGUSR1 SIGUSR2; do
    printf 'handle %s nostop noprint pass\n' "$s"
  done
} >"$GDB_BASE"
cp "$GDB_BASE" "$GDB_SCRIPT"
for a in "${SITES[@]}"; do
  printf 'break *%s\ncommands\nsilent\ncontinue\nend\n' "$a" >>"$GDB_SCRIPT"
done
# `run` is given with -ex, after the script: a breakpoint hit racing with the exit of the process
# makes its `continue` fail ("Couldn't get registers: No such process"), which would abort the
# rest of a sourced file; separate -ex commands still run, so the hit counts are printed.

BT_SCRIPT=$OUT/count.bt
{
  sep=""
  for f in "${FUNCS[@]}"; do printf '%suprobe:%s:"%s"' "$sep" "$CHURN" "$f"; sep=$',\n'; done
  printf ' { @[probe] = count(); }\n'
} >"$BT_SCRIPT"
BT_BASE=$OUT/noprobe.bt  # bpftrace's own start-up and tear-down, no uprobe
printf 'BEGIN { }\n' >"$BT_BASE"

# --- measurement --------------------------------------------------------------------------
now() { date +%s%N; }
RESULTS=$OUT/results.tsv
: >"$RESULTS"
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }  # config n events wall_ns extra1 extra2 lost

check_churn() {  # the target's own output proves it did the work
  grep -q "churn: created $2 goroutines" "$1" || die "$3: churn did not finish (see $1)"
}

run_native() {  # name n "churn flags" [taskset prefix...]
  local name=$1 n=$2 churn_flags=$3; shift 3
  local t0 t1
  t0=$(now); "$@" "$CHURN" -n "$n" $churn_flags >"$OUT/$name.out"; t1=$(now)
  check_churn "$OUT/$name.out" "$n" "$name"
  record "$name" "$n" 0 $((t1 - t0)) 0 0 0
}

run_gorepro() {  # name n "record flags" "churn flags" [taskset prefix...]
  local name=$1 n=$2 flags=$3 churn_flags=$4; shift 4
  local t0 t1 rc=0 events bytes tracer_ns lost
  rm -f "$OUT/$name.gtr"
  t0=$(now)
  # --no-inherit: task-clock of gorepro itself (user + kernel, ptrace calls included), not of the target.
  "$@" perf stat --no-inherit -x, -e task-clock -o "$OUT/$name.perf" \
    "$GOREPRO" record -q $flags -o "$OUT/$name.gtr" -- "$CHURN" -n "$n" $churn_flags >"$OUT/$name.out" 2>"$OUT/$name.err" || rc=$?
  t1=$(now)
  [[ $rc -eq 0 ]] || die "$name: gorepro record exited with $rc (see $OUT/$name.err)"
  check_churn "$OUT/$name.out" "$n" "$name"
  events=$(sed -n 's/^gorepro: \([0-9]*\) events.*/\1/p' "$OUT/$name.err")
  [[ -n "$events" ]] || die "$name: no event count in $OUT/$name.err"
  lost=$(sed -n 's/^gorepro: warning: \([0-9]*\) events were lost.*/\1/p' "$OUT/$name.err")
  bytes=$(stat -c %s "$OUT/$name.gtr")
  tracer_ns=$(awk -F, '/task-clock/ { printf "%.0f", $1 * 1e6 }' "$OUT/$name.perf")
  record "$name" "$n" "$events" $((t1 - t0)) "$bytes" "${tracer_ns:-0}" "${lost:-0}"
}

run_floor() {  # name n: counting-only uprobes at the ebpf backend's sites
  local name=$1 n=$2
  local t0 t1 hits
  t0=$(now)
  "$FLOOR" -- "$CHURN" -n "$n" >"$OUT/$name.out" 2>"$OUT/$name.err" || die "$name: uprobe_floor failed (see $OUT/$name.err)"
  t1=$(now)
  check_churn "$OUT/$name.out" "$n" "$name"
  hits=$(sed -n 's/^uprobe_floor: \([0-9]*\) hits.*/\1/p' "$OUT/$name.err")
  record "$name" "$n" "${hits:-0}" $((t1 - t0)) 0 0 0
}

run_gdb() {  # name n script
  local name=$1 n=$2 script=$3
  local t0 t1 hits
  t0=$(now)
  # gdb's exit status reflects that racy last `continue`; the target's own output is the check.
  timeout 600 gdb -batch -nx -x "$script" -ex run -ex 'info breakpoints' --args "$CHURN" -n "$n" \
    >"$OUT/$name.out" 2>&1 </dev/null || true
  t1=$(now)
  check_churn "$OUT/$name.out" "$n" "$name"
  hits=$(awk '/breakpoint already hit/ { s += $4 } END { print s + 0 }' "$OUT/$name.out")
  record "$name" "$n" "$hits" $((t1 - t0)) 0 0 0
}

run_bpftrace() {  # name n [script]
  local name=$1 n=$2 script=${3:-$BT_SCRIPT}
  local t0 t1 hits
  t0=$(now)
  timeout 600 bpftrace "$script" -c "$CHURN -n $n" >"$OUT/$name.out" 2>"$OUT/$name.err" ||
    die "$name: bpftrace failed (see $OUT/$name.err)"
  t1=$(now)
  check_churn "$OUT/$name.out" "$n" "$name"
  hits=$(awk -F': ' '/^@\[/ { s += $2 } END { print s + 0 }' "$OUT/$name.out")
  record "$name" "$n" "$hits" $((t1 - t0)) 0 0 0
}

echo "churn.sh: $GOVERSION, N=$N, gdb N=$GDB_N, $RUNS rounds, gorepro $GOREPRO" >&2
echo "churn.sh: probe sites ${SITES[*]} (${FUNCS[*]})" >&2
for ((r = 1; r <= RUNS; r++)); do
  echo "churn.sh: round $r/$RUNS" >&2
  run_native native "$N" ""
  run_gorepro gorepro "$N" "" ""
  skipped states || run_gorepro gorepro-states "$N" --probe-states ""
  if ! skipped pinned; then
    run_native native-cpu0 "$N" "" taskset -c 0
    run_gorepro gorepro-cpu0 "$N" "" "" taskset -c 0
  fi
  if ! skipped ebpf; then
    run_gorepro ebpf-startup 0 "--backend ebpf" ""  # BPF loading, uprobe attach and removal
    run_gorepro ebpf "$N" "--backend ebpf" ""
  fi
  if ! skipped floor; then
    run_floor floor-startup 0
    run_floor floor "$N"
  fi
  if ! skipped creators; then
    run_native native-2creators "$N" "-creators 2"
    run_gorepro gorepro-2creators "$N" "" "-creators 2"
    skipped ebpf || run_gorepro ebpf-2creators "$N" "--backend ebpf" "-creators 2"
  fi
  if ! skipped bpftrace; then
    run_bpftrace bpftrace-noprobe "$N" "$BT_BASE"
    run_bpftrace bpftrace "$N"
  fi
  if ! skipped gdb; then
    run_native native-gdbN "$GDB_N" ""
    run_gdb gdb-nobp "$GDB_N" "$GDB_BASE"
    run_gdb gdb "$GDB_N" "$GDB_SCRIPT"
    run_gorepro gorepro-gdb "$GDB_N" "--backend gdb" ""
    run_gorepro gorepro-gdb-mimem "$GDB_N" "--backend gdb" "" env GOREPRO_GDB_MEMORY=mi
    run_gorepro gorepro-gdb-allstop "$GDB_N" "--backend gdb" "" env GOREPRO_GDB_STOP=all
  fi
done

# --- table --------------------------------------------------------------------------------
python3 - "$RESULTS" <<'EOF'
import statistics, sys
from collections import defaultdict

rows = defaultdict(list)
for line in open(sys.argv[1]):
    name, n, events, wall, extra1, extra2, lost = line.split("\t")
    rows[name].append((int(n), int(events), int(wall), int(extra1), int(extra2), int(lost)))

def med(name, i):
    return statistics.median(r[i] for r in rows[name])

def per_event(name, base):  # median over rounds of (wall - baseline wall of the same round) / events
    vals = [(r[2] - b[2]) / 1e3 / r[1] for r, b in zip(rows[name], rows[base]) if r[1]]
    return statistics.median(vals) if vals else float("nan")

configs = [  # (row, config, baseline, what the baseline is)
    ("gorepro record (ptrace)", "gorepro", "native", "native"),
    ("gorepro record --probe-states", "gorepro-states", "native", "native"),
    ("gorepro record, taskset -c 0", "gorepro-cpu0", "native-cpu0", "native, taskset -c 0"),
    ("gorepro record --backend ebpf", "ebpf", "native", "native"),
    ("ebpf, minus its startup", "ebpf", "ebpf-startup", "ebpf recording of -n 0"),
    ("uprobe floor (count, same sites)", "floor", "native", "native"),
    ("uprobe floor, minus its startup", "floor", "floor-startup", "floor run of -n 0"),
    ("bpftrace uprobes (fn entries)", "bpftrace", "native", "native"),
    ("bpftrace, minus its startup", "bpftrace", "bpftrace-noprobe", "bpftrace run without uprobes"),
    ("gdb break; silent; continue", "gdb", "native-gdbN", "native"),
    ("gdb, minus gdb's startup", "gdb", "gdb-nobp", "gdb run without breakpoints"),
    ("gorepro record --backend gdb", "gorepro-gdb", "native-gdbN", "native"),
    ("  ... memory read through MI", "gorepro-gdb-mimem", "native-gdbN", "native"),
    ("  ... gdb in all-stop mode", "gorepro-gdb-allstop", "native-gdbN", "native"),
]
configs = [c for c in configs if c[1] in rows and c[2] in rows]
ref = per_event("gorepro", "native") if "gorepro" in rows else float("nan")

print()
print(f"{'tool':34} {'N':>7} {'events':>8} {'lost':>6} {'wall s':>7} {'µs/event':>9} {'× ptrace':>9}  baseline")
labels = {"native": "native", "native-cpu0": "native, taskset -c 0", "ebpf-startup": "ebpf, -n 0",
          "floor-startup": "uprobe floor, -n 0", "bpftrace-noprobe": "bpftrace, no uprobes",
          "native-gdbN": "native", "gdb-nobp": "gdb, no breakpoints"}
for name, label in labels.items():
    if name in rows:
        print(f"{label:34} {int(med(name, 0)):>7} {'-':>8} {'-':>6} {med(name, 2) / 1e9:>7.3f} {'-':>9} {'-':>9}")
for label, cfg, base, base_label in configs:
    us = per_event(cfg, base)
    lost = max(r[5] for r in rows[cfg])
    print(f"{label:34} {int(med(cfg, 0)):>7} {int(med(cfg, 1)):>8} {lost:>6} {med(cfg, 2) / 1e9:>7.3f} "
          f"{us:>9.1f} {us / ref:>9.2f}  {base_label}")
print()
if all(c in rows for c in ("ebpf", "floor", "ebpf-startup", "floor-startup")):
    e, f = per_event("ebpf", "ebpf-startup"), per_event("floor", "floor-startup")
    print(f"ebpf / uprobe floor at the same sites (each minus its startup): {e / f:.2f}x  (goal: <= 1.25)")
if "ebpf" in rows and "gorepro" in rows:
    e = per_event("ebpf", "ebpf-startup") if "ebpf-startup" in rows else per_event("ebpf", "native")
    line = f"ptrace / ebpf per event: {ref / e:.2f}x"
    if "bpftrace" in rows:
        b = per_event("bpftrace", "bpftrace-noprobe") if "bpftrace-noprobe" in rows else per_event("bpftrace", "native")
        line += f"; ptrace / bpftrace per event: {ref / b:.2f}x"
    print(line)
for cfg in ("gorepro", "gorepro-cpu0", "ebpf"):
    if cfg in rows:
        ev = med(cfg, 1)
        bpe = statistics.median(r[3] / r[1] for r in rows[cfg] if r[1])
        cpu = statistics.median(r[4] / 1e3 / r[1] for r in rows[cfg] if r[1])
        print(f"{cfg}: trace {bpe:.2f} bytes/event; gorepro's own CPU (task-clock, user+kernel) "
              f"{cpu:.1f} µs/event; events per goroutine {ev / med(cfg, 0):.2f}")
if "gorepro-gdb" in rows and "gdb" in rows:
    floor = per_event("gdb", "native-gdbN")
    for cfg, label in (("gorepro-gdb", "gorepro --backend gdb"), ("gorepro-gdb-mimem", "  ... memory through MI"),
                       ("gorepro-gdb-allstop", "  ... all-stop")):
        if cfg in rows:
            print(f"{label}: {per_event(cfg, 'native-gdbN') / floor:.2f} x gdb's own break; silent; continue per event")

# Events per second with one and two threads busy creating goroutines (churn -creators 1|2),
# the tracer's fixed start-up and tear-down (its -n 0 run) taken out.
scaling = [("native", "native", "native-2creators", None),
           ("ptrace", "gorepro", "gorepro-2creators", None),
           ("ebpf", "ebpf", "ebpf-2creators", "ebpf-startup")]
if any(two in rows for _, _, two, _ in scaling):
    print()
    print(f"{'events/s':10} {'1 creator':>12} {'2 creators':>12} {'2 / 1':>7}")
    per_goroutine = med("ebpf", 1) / med("ebpf", 0) if "ebpf" in rows else 4.0
    for label, one, two, startup in scaling:
        if one not in rows or two not in rows:
            continue
        def rate(cfg):
            vals = []
            for i, r in enumerate(rows[cfg]):
                fixed = rows[startup][i][2] if startup and startup in rows else 0
                events = r[1] if r[1] else r[0] * per_goroutine
                vals.append(events / max(r[2] - fixed, 1) * 1e9)
            return statistics.median(vals)
        a, b = rate(one), rate(two)
        print(f"{label:10} {a:>12,.0f} {b:>12,.0f} {b / a:>7.2f}")
print(f"rounds: {len(rows.get('native', []))}; medians shown; per-event cost = (wall - baseline wall) / events, "
      "each round against its own baseline; lost = the most any round lost")
EOF
