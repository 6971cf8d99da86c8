#!/usr/bin/env bash
# SIGKILL survival: `gorepro record --pid` attached to a busy Go server (tests/go/kvserver: a
# key-value server kept busy by its own clients) is killed with SIGKILL at a random moment, from
# BPF loading / breakpoint insertion to steady recording, ROUNDS times per backend. After every
# kill the server must still run and answer a request; at the end it must print what it prints
# untraced. A server that died is counted, its fate printed, and a new one started.
#
# Expected: ebpf survives every round (the kernel drops a dead process's uprobes); ptrace
# survives through its guardian, which writes its int3 bytes back (docs/tracer-death.md).
#
# Usage: bench/sigkill.sh
# Knobs (environment):
#   ROUNDS=100                 kills per backend
#   BACKENDS="ebpf ptrace"     backends to try
#   MAX_DELAY_MS=1500          the kill comes uniformly within [0, MAX_DELAY_MS] after the start
#   GO=/usr/lib/go-1.23/bin/go toolchain that builds kvserver
#   BUILD=<repo>/build, GOREPRO=$BUILD/src/cli/gorepro, OUT=/tmp/gorepro-sigkill
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-100}
BACKENDS=${BACKENDS:-ebpf ptrace}
MAX_DELAY_MS=${MAX_DELAY_MS:-1500}
GO=${GO:-/usr/lib/go-1.23/bin/go}
BUILD=${BUILD:-$ROOT/build}
OUT=${OUT:-/tmp/gorepro-sigkill}
mkdir -p "$OUT"
die() { echo "sigkill.sh: $*" >&2; exit 1; }

if [[ -z "${GOREPRO:-}" ]]; then
  cmake --build "$BUILD" --target gorepro >"$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log" >&2; die "building gorepro failed"; }
  GOREPRO=$BUILD/src/cli/gorepro
fi
SERVER=$OUT/kvserver
(cd "$ROOT/tests/go/kvserver" &&
  GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOCACHE="$OUT/gocache" GOPATH="$OUT/gopath" "$GO" build -o "$SERVER" .) ||
  die "cannot build tests/go/kvserver with $GO"

SPID=0 PORT=0
start_server() {  # a fresh server; sets SPID and PORT once it is ready
  rm -f "$OUT/server.out"
  "$SERVER" >"$OUT/server.out" 2>&1 &
  SPID=$!
  for _ in $(seq 100); do
    grep -q '^ready$' "$OUT/server.out" 2>/dev/null && break
    sleep 0.05
  done
  PORT=$(sed -n 's/^addr 127.0.0.1:\([0-9]*\)$/\1/p' "$OUT/server.out")
  [[ -n "$PORT" ]] || die "the server did not start (see $OUT/server.out)"
}

answers() {  # the server answers a request
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || return 1
  printf 'GET probe\n' >&3
  read -r -t 5 line <&3 || { exec 3>&-; return 1; }
  exec 3>&-
  [[ "$line" == probe=* ]]
}

alive() { [[ "$(ps -o stat= -p "$SPID" 2>/dev/null)" != "" && "$(ps -o stat= -p "$SPID")" != Z* ]]; }

RC=0
stop_server() {  # SIGTERM; its exit status in RC (not in a subshell: only this shell can wait for it)
  kill -TERM "$SPID" 2>/dev/null || true
  RC=0
  wait "$SPID" || RC=$?
}

# The output of an untraced server, to compare with.
start_server
sleep 1
stop_server
[[ "$RC" == 0 ]] || die "the untraced server exited with $RC"
grep -v -E '^(pid|addr) ' "$OUT/server.out" >"$OUT/untraced.out"

for backend in $BACKENDS; do
  survived=0 deaths=""
  start_server
  for ((round = 1; round <= ROUNDS; round++)); do
    delay_ms=$((RANDOM % (MAX_DELAY_MS + 1)))
    "$GOREPRO" record -q --backend "$backend" --pid "$SPID" -o "$OUT/kill.gtr" >/dev/null 2>&1 &
    g=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -KILL "$g" 2>/dev/null || true
    wait "$g" 2>/dev/null || true
    sleep 0.2  # a leftover int3 is hit within microseconds on this busy server
    if alive && answers; then
      survived=$((survived + 1))
    else
      stop_server
      deaths+=" round $round (kill after ${delay_ms} ms): exit $RC, $(grep -m1 -E 'SIGTRAP|signal|panic' "$OUT/server.out" || echo 'no message');"
      start_server
    fi
  done
  stop_server
  grep -v -E '^(pid|addr) ' "$OUT/server.out" >"$OUT/$backend.out"
  same=no
  [[ "$RC" == 0 ]] && cmp -s "$OUT/$backend.out" "$OUT/untraced.out" && same=yes
  printf 'sigkill.sh: %-6s survived %d of %d SIGKILLs (%d%%); last server exited %s, output as untraced: %s\n' \
    "$backend" "$survived" "$ROUNDS" $((100 * survived / ROUNDS)) "$RC" "$same"
  [[ -z "$deaths" ]] || echo "sigkill.sh: $backend deaths:$deaths" | cut -c1-2000
done
