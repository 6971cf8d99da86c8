#!/usr/bin/env bash
# Configures and builds the sanitizer build (BUILD_DIR, default build-san): clang, ASan+UBSan,
# libFuzzer's coverage hooks (-fsanitize=fuzzer-no-link) in every object, -O1 with line tables
# only. One build serves both the unit tests under the sanitizers and the fuzz targets
# (scripts/test.sh, scripts/fuzz.sh): a second full compile of the sources cost CI ~10 minutes.
# Usage: scripts/build-san.sh [TARGET...]   (default: the unit tests and the fuzz targets)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
targets="${*:-unit_tests trace_reader_fuzz schedtrace_fuzz mi_parser_fuzz replay_make_seed_corpus}"
flags="-O1 -gline-tables-only -DNDEBUG"
CC=clang CXX=clang++ BUILD_DIR="${BUILD_DIR:-$root/build-san}" BUILD_TARGETS="$targets" \
  bash "$root/scripts/build.sh" -DGOREPRO_SANITIZE=ON -DGOREPRO_GO_TESTS=OFF \
  "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link" \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$flags" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$flags"
