#!/usr/bin/env bash
# Sets up (installs dependencies), builds and runs every test through ctest:
#   1. the normal build: unit + end-to-end tests over real Go binaries of every supported version;
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
echo "== tests"
ctest --test-dir "$root/build" --output-on-failure -j"$jobs" | tee -a "$summary"

echo "== unit tests under ASan+UBSan"
# Only the unit-test executables (and what they depend on): the end-to-end tests ran above.
generator=()
command -v ninja >/dev/null && [ ! -f "$root/build-asan/Makefile" ] && generator=(-G Ninja)
cmake -S "$root" -B "$root/build-asan" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGOREPRO_SANITIZE=ON -DGOREPRO_GO_TESTS=OFF >/dev/null
cmake --build "$root/build-asan" -j"$jobs" --target unit_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs" -L unit | tee -a "$summary"

if [ -x "$root/scripts/fuzz.sh" ]; then
  echo "== fuzz (bounded)"
  FUZZ_SECONDS=${FUZZ_SECONDS:-60} bash "$root/scripts/fuzz.sh"
fi

# One closing line over both ctest runs (the fuzz output above would otherwise end the log).
grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$summary" |
  awk '{for (i = 1; i <= NF; i++) { if ($i == "failed") f += $(i - 2); if ($i == "of") t += $(i + 1) }}
       END { print "test.sh: " t - f " passed, " f " failed" }'
