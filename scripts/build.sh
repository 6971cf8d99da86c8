#!/usr/bin/env bash
# Configures and builds gorepro (and the Go test programs) into BUILD_DIR (default: build).
# BUILD_TARGETS="gorepro go_demo" builds only those (demo.sh); default: everything.
# Used by demo.sh and test.sh after setup.sh; safe to rerun (incremental).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
generator=()
command -v ninja >/dev/null && [ ! -f "$build/Makefile" ] && generator=(-G Ninja)
# ccache (installed by setup.sh) makes a rebuild of unchanged sources cheap, also from another
# checkout (CCACHE_BASEDIR: paths below root hash relative) and for the demo after the tests.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
fi
cmake -S "$root" -B "$build" "${generator[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
targets=()
for t in ${BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
