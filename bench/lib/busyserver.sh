# Shared by bench/endurance.sh and bench/tracer-death.sh: builds gorepro and the busy Go HTTP
# server of tests/go/busyserver, starts the server and its checking load, and reads the
# server's code. Source it after setting ROOT, OUT and the knobs below.
#   BUILD=<repo>/build          gorepro build tree (configured with Ninja if absent)
#   GOREPRO=$BUILD/src/cli/gorepro   set to skip building gorepro
#   GOV=1.23                    Go version of the server (a toolchain the build tree builds with)
#   RATE=200                    requests per second of the load (4 workers; every answer checked)

BUILD=${BUILD:-$ROOT/build}
GOV=${GOV:-1.23}
RATE=${RATE:-200}
mkdir -p "$OUT"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja >"$OUT/cmake.log" 2>&1 || { cat "$OUT/cmake.log" >&2; die "cmake failed"; }
fi
targets=go_busyserver
[[ -n "${GOREPRO:-}" ]] || targets="$targets gorepro"
cmake --build "$BUILD" -j2 --target $targets >"$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log" >&2; die "build failed"; }
GOREPRO=${GOREPRO:-$BUILD/src/cli/gorepro}
SERVER_BIN=$BUILD/go-programs/go$GOV/busyserver
[[ -x "$GOREPRO" && -x "$SERVER_BIN" ]] || die "no gorepro or busyserver (go$GOV) in $BUILD"

SERVER_PID=""
SERVER_ADDR=""
LOAD_PID=""

start_server() {  # sets SERVER_PID and SERVER_ADDR
  "$SERVER_BIN" >"$OUT/server.out" 2>"$OUT/server.err" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    SERVER_ADDR=$(awk '/^listening/ { print $2 }' "$OUT/server.out")
    [[ -n "$SERVER_ADDR" ]] && return 0
    sleep 0.05
  done
  die "the server did not start (see $OUT/server.err)"
}

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

# The load runs until its stdin (fd 7 here) closes; it prints "requests R errors E mismatches M ...".
start_load() {
  exec 7> >("$SERVER_BIN" -load "$SERVER_ADDR" -workers 4 -rate "$RATE" >"$OUT/load.out" 2>"$OUT/load.err")
  LOAD_PID=$!
}

stop_load() {  # sets LOAD to the load's summary line (call it in this shell, not in $(...))
  exec 7>&-
  for _ in $(seq 200); do grep -q '^requests' "$OUT/load.out" 2>/dev/null && break; sleep 0.05; done
  LOAD=$(grep '^requests' "$OUT/load.out" || echo "the load did not stop (see $OUT/load.err)")
}

fixed_run() {  # the summary of a fixed sequence of 4 x $1 requests (same digest in every correct run)
  "$SERVER_BIN" -load "$SERVER_ADDR" -workers 4 -requests "$1" 7>&- || true
}

alive() {  # the server runs (a dead one is a zombie until this shell reaps it)
  [[ -n "$SERVER_PID" ]] && [[ "$(awk '{ print $3 }' "/proc/$SERVER_PID/stat" 2>/dev/null)" =~ ^[RSDT]$ ]]
}

server_stats() {  # "rss_kb threads fds cpu_ms" of the running server
  local rss threads fds ticks
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVER_PID/status")
  threads=$(awk '/^Threads/ { print $2 }' "/proc/$SERVER_PID/status")
  fds=$(ls "/proc/$SERVER_PID/fd" | wc -l)
  ticks=$(awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$SERVER_PID/stat")
  echo "$rss $threads $fds $((ticks * 1000 / $(getconf CLK_TCK)))"
}

tracer_of() { awk '/^TracerPid/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

text_digest() {  # sha256 of the running server's .text
  python3 - "$SERVER_PID" "$SERVER_BIN" <<'PY'
import hashlib, subprocess, sys
pid, binary = sys.argv[1], sys.argv[2]
for line in subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True).stdout.splitlines():
    f = line.replace("[ ", "[").split()
    if len(f) > 5 and f[1] == ".text":
        addr, size = int(f[3], 16), int(f[5], 16)
        with open(f"/proc/{pid}/mem", "rb") as mem:
            mem.seek(addr)
            print(hashlib.sha256(mem.read(size)).hexdigest())
PY
}
