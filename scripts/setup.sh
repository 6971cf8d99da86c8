#!/usr/bin/env bash
# Installs every Debian package that building, testing and demoing gorepro needs, and makes sure
# every supported Go toolchain is there: Debian's 1.19 and 1.21-1.23 (packages), Go 1.26 as `go`
# on PATH (the machine's), and Go 1.27 fetched through Go's own toolchain download
# (`GOTOOLCHAIN=go1.27.3 go version`, from the Go module proxy, once).
# Idempotent: when everything is already present it only checks and returns (no apt-get run).
set -euo pipefail

# The toolchains fetched with `GOTOOLCHAIN=<version> go`; cmake/GoPrograms.cmake asks the same
# commands (GOREPRO_GO_TOOLCHAINS) for their version and GOROOT.
FETCHED_GO=(go1.27.3)
PATH_GO_MINOR=go1.26

# Go toolchains that are not Debian packages: `go` on PATH, and those it fetches.
ensure_go_toolchains() {
  if ! command -v go >/dev/null; then
    echo "setup: no \`go\` on PATH — install Go ${PATH_GO_MINOR} (as on the project's machines), then rerun" >&2
    exit 1
  fi
  local have
  have=$(GOTOOLCHAIN=local go env GOVERSION)
  case "$have" in
    "$PATH_GO_MINOR"|"$PATH_GO_MINOR".*) ;;
    *) echo "setup: warning: \`go\` on PATH is $have, not ${PATH_GO_MINOR}.x — the Go ${PATH_GO_MINOR#go} tests will fail" >&2 ;;
  esac
  for v in "${FETCHED_GO[@]}"; do
    local root
    if root=$(GOTOOLCHAIN=$v go env GOROOT 2>/dev/null) && [ -x "$root/bin/go" ]; then continue; fi
    echo "setup: fetching Go toolchain $v (GOTOOLCHAIN=$v go version)"
    GOTOOLCHAIN=$v go version
  done
}

# The HTML report's chart and flame-graph libraries and its browser test's driver, pinned in
# web/package-lock.json; reinstalled only when the lock file is newer than what npm last installed.
ensure_web() {
  local web
  web=$(cd "$(dirname "${BASH_SOURCE[0]}")/../web" && pwd)
  if [ -f "$web/node_modules/.package-lock.json" ] && [ "$web/node_modules/.package-lock.json" -nt "$web/package-lock.json" ]; then
    return
  fi
  echo "setup: npm ci in $web"
  (cd "$web" && npm ci --no-audit --no-fund)
}

GO_VERSIONS=(1.19 1.21 1.22 1.23)
PACKAGES=(
  build-essential cmake pkg-config ninja-build ccache
  libdwarf-dev libelf-dev zlib1g-dev libzstd-dev
  libcapstone-dev libunwind-dev
  libboost-dev libboost-filesystem-dev
  prometheus
  libfmt-dev libgtest-dev libcli11-dev nlohmann-json3-dev
  libbpf-dev clang llvm bpftool libclang-rt-dev
  libedit-dev libprotobuf-dev protobuf-compiler
  gdb bpftrace python3
  chromium
)
# npm installs web/ (the HTML report's libraries). A machine whose nodejs already ships npm
# (a nodejs package built with it) must not get Debian's npm, which conflicts with it.
command -v npm >/dev/null || PACKAGES+=(npm)
for v in "${GO_VERSIONS[@]}"; do PACKAGES+=("golang-$v-go"); done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  ensure_go_toolchains
  ensure_web
  echo "setup: all ${#PACKAGES[@]} packages and $((${#GO_VERSIONS[@]} + 1 + ${#FETCHED_GO[@]})) Go toolchains present"
  exit 0
fi
echo "setup: installing ${missing[*]}"

# Go 1.21-1.23 live in bookworm-backports. Derive its sources entry from the system's own
# debian.sources (same URIs, same keyring) rather than naming any archive host here.
BACKPORTS=/etc/apt/sources.list.d/gorepro-bookworm-backports.sources
SYSTEM_SOURCES=/etc/apt/sources.list.d/debian.sources
if [ ! -f "$BACKPORTS" ]; then
  if [ ! -f "$SYSTEM_SOURCES" ]; then
    echo "setup: $SYSTEM_SOURCES not found — enable bookworm-backports by hand, then rerun" >&2
    exit 1
  fi
  # Keep the stanzas whose Suites include plain 'bookworm' and point them at bookworm-backports.
  awk 'BEGIN { RS=""; ORS="\n\n" }
       /(^|\n)Suites:[^\n]*(^|[ \t])bookworm([ \t]|\n|$)/ {
         gsub(/(^|\n)Suites:[^\n]*/, "\nSuites: bookworm-backports"); sub(/^\n/, ""); print }' \
    "$SYSTEM_SOURCES" | $SUDO tee "$BACKPORTS.tmp" >/dev/null
  if ! grep -q '^Suites: bookworm-backports' "$BACKPORTS.tmp"; then
    $SUDO rm -f "$BACKPORTS.tmp"
    echo "setup: could not derive a bookworm-backports entry from $SYSTEM_SOURCES" >&2
    exit 1
  fi
  $SUDO mv "$BACKPORTS.tmp" "$BACKPORTS"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
for v in "${GO_VERSIONS[@]}"; do
  [ -x "/usr/lib/go-$v/bin/go" ] || { echo "setup: /usr/lib/go-$v/bin/go missing after install" >&2; exit 1; }
done
ensure_go_toolchains
ensure_web
echo "setup: done"
