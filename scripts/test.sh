#!/usr/bin/env bash
# Sets up (installs dependencies), builds and runs every test through ctest:
#   1. the normal build: unit tests, then the end-to-end tests over real Go binaries once per
#      supported Go version (a summary says what passed on each);
#   2. the unit tests (label "unit") again in the clang ASan+UBSan build (scripts/build-san.sh);
#   3. the fuzz targets, from that same build, for a bounded time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
jobs=$(nproc)
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT

# How long each phase took, printed at the end (CI's limit is on the whole).
phases=""
t0=0
phase() { phases+="$(printf '%-34s %5d s' "$1" $((SECONDS - t0)))"$'\n'; t0=$SECONDS; }
phase "setup"

echo "== build (RelWithDebInfo)"
BUILD_DIR="$root/build" bash scripts/build.sh -DGOREPRO_TEST_TIMEOUT=300
phase "build"
# The sanitizer build (unit tests and fuzz targets) compiles at the lowest priority while the
# tests of the normal build run: they mostly wait on the programs they drive, and the compiler
# takes only the CPU they leave (nice 19 gets ~1/70 of a core against a runnable test).
san_log="$root/build/build-san.log"
( nice -n 19 env BUILD_DIR="$root/build-san" bash scripts/build-san.sh > "$san_log" 2>&1
  echo $? > "$san_log.rc" ) &
san_pid=$!
# The unit tests once; then every other test once per Go toolchain: GOREPRO_TEST_GO narrows each
# test's version loop (tests/support/go_programs.h, verify_marks.py) to that toolchain, and the
# cases named for another version are left out, so each run says what passed on one version.
per_version=$(mktemp)
counts() { grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" | tail -1 |
  awk '{for (i = 1; i <= NF; i++) { if ($i == "failed") f = $(i - 2); if ($i == "of") t = $(i + 1) }}
       END { printf "%d passed, %d failed", t - f, f }'; }
failed=0
failures=$(mktemp)
trap 'rm -f "$summary" "$per_version" "$per_version.log" "$failures"' EXIT
# run_ctest NAME BUILD_DIR CTEST_ARGS...: one ctest run; a test that fails is run once more on its
# own. Failing twice fails test.sh; passing the second time is reported by name as flaky (the
# machine is shared and these tests drive real programs), so a flake is seen, not hidden.
run_ctest() {
  local name=$1 dir=$2; shift 2
  if ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@" | tee -a "$summary" | tee "$per_version.log"; then
    echo "$name: $(counts < "$per_version.log")" >> "$per_version"
    return 0
  fi
  local first
  first=$(sed -n 's/^[0-9]*://p' "$dir/Testing/Temporary/LastTestsFailed.log" 2>/dev/null | tr '\n' ' ')
  echo "== $name: running again what failed: $first"
  if ctest --test-dir "$dir" --output-on-failure "$@" --rerun-failed; then
    echo "$name: $(counts < "$per_version.log"); passed on a second run (flaky): $first" >> "$per_version"
    echo "flaky on $name: $first" >> "$failures"
  else
    local still flaky=""
    still=$(sed -n 's/^[0-9]*://p' "$dir/Testing/Temporary/LastTestsFailed.log" 2>/dev/null | tr '\n' ' ')
    for t in $first; do [[ " $still " == *" $t "* ]] || flaky+="$t "; done
    echo "$name: $(counts < "$per_version.log"); failed twice: $still${flaky:+; flaky: $flaky}" >> "$per_version"
    echo "FAILED on $name: $still" >> "$failures"
    [ -z "$flaky" ] || echo "flaky on $name: $flaky" >> "$failures"
    failed=1
  fi
}
echo "== unit tests"
run_ctest "unit (no Go program)" "$root/build" -L unit
phase "unit tests"
versions=$(awk '{ print $1 }' "$root/build/go-toolchains.txt")
for v in $versions; do
  others=$(for w in $versions; do [ "$w" = "$v" ] || printf '%s|' "${w/./\\.?}"; done)
  echo "== end-to-end tests on Go $v"
  GOREPRO_TEST_GO=$v run_ctest "go$v" "$root/build" -LE unit -E "go(${others%|})([^0-9]|$)"
  phase "end-to-end on Go $v"
done

echo "== unit tests under ASan+UBSan"
# The unit-test executables and the fuzz targets, in one build (started above; the end-to-end
# tests ran in the normal build).
wait "$san_pid" || true
if [ "$(cat "$san_log.rc" 2>/dev/null)" != 0 ]; then
  tail -50 "$san_log"
  echo "FAILED: the sanitizer build (log: $san_log)" | tee -a "$failures"
  failed=1
else
  phase "sanitizer build (what was left)"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest "unit under ASan+UBSan" "$root/build-san" -L unit
  phase "unit under ASan+UBSan"

  echo "== fuzz (bounded)"
  BUILD_DIR="$root/build-san" FUZZ_SECONDS=${FUZZ_SECONDS:-45} bash "$root/scripts/fuzz.sh"
  phase "fuzz"
fi

echo "== time per phase"
printf '%s' "$phases"
echo "== what passed, per Go version"
cat "$per_version"
# One closing line over every ctest run (the fuzz output above would otherwise end the log).
grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$summary" |
  awk '{for (i = 1; i <= NF; i++) { if ($i == "failed") f += $(i - 2); if ($i == "of") t += $(i + 1) }}
       END { print "test.sh: " t - f " passed, " f " failed at the first run" }'
# The names last, where a truncated log still shows them.
cat "$failures"
[ "$failed" = 0 ]
