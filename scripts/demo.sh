#!/usr/bin/env bash
# Sets up, builds, and shows gorepro on an example Go program with a known goroutine leak.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
BUILD_DIR="$root/build" bash scripts/build.sh
gorepro="$root/build/src/cli/gorepro"
example="$root/build/go-programs/go1.23/sendleak"
echo
echo "\$ gorepro info $example"
"$gorepro" info "$example"
