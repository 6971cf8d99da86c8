#!/usr/bin/env bash
# Configures and builds gorepro (and the Go test programs) into BUILD_DIR (default: build).
# BUILD_TARGETS="gorepro go_demo" builds only those (demo.sh); default: everything.
# Used by demo.sh and test.sh after setup.sh; safe to rerun (incremental).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
generator=()
command -v ninja >/dev/null && [ ! -f "$build/Makefile" ] && generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
targets=()
for t in ${BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
