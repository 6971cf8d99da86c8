#!/usr/bin/env bash
# Sets up (installs dependencies), builds and runs every test through ctest:
#   1. the normal build: unit tests, then the end-to-end tests over real Go binaries once per
#      supported Go version (a summary says what passed on each);
#   2. an ASan+UBSan build of the unit tests (label "unit");
#   3. the fuzz targets for a bounded time, when present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
jobs=$(nproc)
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT

echo "== build (RelWithDebInfo)"
BUILD_DIR="$root/build" bash scripts/build.sh
# The unit tests once; then every other test once per Go toolchain: GOREPRO_TEST_GO narrows each
# test's version loop (tests/support/go_programs.h, verify_marks.py) to that toolchain, and the
# cases named for another version are left out, so each run says what passed on one version.
per_version=$(mktemp)
trap 'rm -f "$summary" "$per_version"' EXIT
counts() { grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" | tail -1 |
  awk '{for (i = 1; i <= NF; i++) { if ($i == "failed") f = $(i - 2); if ($i == "of") t = $(i + 1) }}
       END { printf "%d passed, %d failed", t - f, f }'; }
echo "== unit tests"
failed=0
ctest --test-dir "$root/build" --output-on-failure -j"$jobs" -L unit | tee -a "$summary" | tee "$per_version.log" || failed=1
echo "unit (no Go program): $(counts < "$per_version.log")" >> "$per_version"
versions=$(awk '{ print $1 }' "$root/build/go-toolchains.txt")
for v in $versions; do
  others=$(for w in $versions; do [ "$w" = "$v" ] || printf '%s|' "${w/./\\.?}"; done)
  echo "== end-to-end tests on Go $v"
  GOREPRO_TEST_GO=$v ctest --test-dir "$root/build" --output-on-failure -j"$jobs" -LE unit \
    -E "go(${others%|})([^0-9]|$)" | tee -a "$summary" | tee "$per_version.log" || failed=1
  echo "go$v: $(counts < "$per_version.log")" >> "$per_version"
done
rm -f "$per_version.log"

echo "== unit tests under ASan+UBSan"
# Only the unit-test executables (and what they depend on): the end-to-end tests ran above.
BUILD_DIR="$root/build-asan" BUILD_TARGETS=unit_tests bash scripts/build.sh -DGOREPRO_SANITIZE=ON -DGOREPRO_GO_TESTS=OFF
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs" -L unit | tee -a "$summary" || failed=1

if [ -x "$root/scripts/fuzz.sh" ]; then
  echo "== fuzz (bounded)"
  FUZZ_SECONDS=${FUZZ_SECONDS:-60} bash "$root/scripts/fuzz.sh"
fi

echo "== what passed, per Go version"
cat "$per_version"
# One closing line over every ctest run (the fuzz output above would otherwise end the log).
grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$summary" |
  awk '{for (i = 1; i <= NF; i++) { if ($i == "failed") f += $(i - 2); if ($i == "of") t += $(i + 1) }}
       END { print "test.sh: " t - f " passed, " f " failed" }'
[ "$failed" = 0 ]
