#!/usr/bin/env bash
# Sets up, builds, then shows gorepro's main job on an example with a known goroutine leak:
# record the program, report the leaked goroutines, and let a CI-style check fail on them.
# Builds only gorepro and the one example, with the newest supported Go toolchain (go_demo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
BUILD_DIR="$root/build" BUILD_TARGETS="gorepro go_demo" bash scripts/build.sh
gorepro="$root/build/src/cli/gorepro"
example="$root/build/go-programs/demo/httpleak"
trace="$root/build/demo-httpleak.gtr"

run() { echo; echo "\$ $*"; "$@"; }
echo
echo "The example: an HTTP handler whose helper goroutine outlives a timed-out request"
echo "(examples/httpleak/main.go)."
run "$gorepro" record -q -o "$trace" -- "$example"
run "$gorepro" report "$trace"
echo
echo "\$ $gorepro check $trace --max-leaked 0    # what a CI job would run"
if "$gorepro" check "$trace" --max-leaked 0 >/dev/null; then
  echo "(no leak found — unexpected for this example)"
else
  echo "exit status $? — the leak fails the check"
fi
