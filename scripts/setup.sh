#!/usr/bin/env bash
# Install the build/test dependencies of dmq (only when missing) and build it
# with CMake + Ninja. Safe to run again: a second run needs no network.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CALLER_PWD="$PWD"

DEPS=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libhiredis-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev
  redis-server clang-format clang-tidy shellcheck curl openssl ca-certificates python3 faketime
  clang-14 libclang-rt-14-dev  # the libFuzzer targets (scripts/fuzz.sh)
  nginx haproxy                # the e2e tests' reverse proxies (tests/e2e/proxy_test.cc)
  systemd                      # systemd-analyze verify of deploy/systemd (scripts/lint.sh)
  chromium                     # the dashboard's browser tests (tests/e2e/dashboard_test.cc)
)

usage() {
  cat <<'EOF'
Usage: scripts/setup.sh [options]

Installs the missing build/test dependencies (apt-get, Debian 12), then
configures and builds dmq with CMake + Ninja.

Options:
  --deps-only          only install dependencies, do not configure/build
  --build-dir DIR      build directory (default: build, or build-asan with --asan)
  --type TYPE          Release | RelWithDebInfo | Debug (default: RelWithDebInfo)
  --asan               build with ASan + UBSan (-DDMQ_SANITIZE=ON)
  --werror             treat warnings as errors (-DDMQ_WERROR=ON)
  --target NAME        build only this target (e.g. dmq); default: everything
  -h, --help           show this help

Environment: DMQ_JOBS (parallel build jobs, default 2).
EOF
}

log() { printf '==> [setup] %s\n' "$*"; }
die() {
  printf '==> [setup] ERROR: %s\n' "$*" >&2
  exit 1
}
bad_usage() {
  printf 'setup.sh: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

DEPS_ONLY=0
BUILD_DIR=""
BUILD_TYPE="RelWithDebInfo"
ASAN=0
WERROR=0
TARGET=""
JOBS="${DMQ_JOBS:-2}"

while (($# > 0)); do
  case "$1" in
    --deps-only) DEPS_ONLY=1 ;;
    --build-dir)
      (($# >= 2)) || bad_usage "--build-dir needs a value"
      BUILD_DIR="$2"
      shift
      ;;
    --build-dir=*) BUILD_DIR="${1#*=}" ;;
    --type)
      (($# >= 2)) || bad_usage "--type needs a value"
      BUILD_TYPE="$2"
      shift
      ;;
    --type=*) BUILD_TYPE="${1#*=}" ;;
    --asan) ASAN=1 ;;
    --werror) WERROR=1 ;;
    --target)
      (($# >= 2)) || bad_usage "--target needs a value"
      TARGET="$2"
      shift
      ;;
    --target=*) TARGET="${1#*=}" ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) bad_usage "unknown argument: $1" ;;
  esac
  shift
done

case "$BUILD_TYPE" in
  Release | RelWithDebInfo | Debug) ;;
  *) bad_usage "--type must be Release, RelWithDebInfo or Debug (got '$BUILD_TYPE')" ;;
esac
[[ -n "$BUILD_DIR" ]] || BUILD_DIR=$([[ $ASAN == 1 ]] && echo build-asan || echo build)
# A relative --build-dir is relative to where the caller stands.
[[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$CALLER_PWD/$BUILD_DIR"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "DMQ_JOBS must be a positive integer (got '$JOBS')"

cd "$ROOT"

# ---------------------------------------------------------------- dependencies
is_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ "$status" == "install ok installed" ]]
}

# Prints the packages of "$@" that are not installed (one dpkg-query call).
missing_packages() {
  local -A ok=()
  local name status pkg
  while IFS='|' read -r name status; do
    [[ "$status" == "install ok installed" ]] && ok["$name"]=1
  done < <(dpkg-query -W -f='${Package}|${Status}\n' "$@" 2>/dev/null || true)
  for pkg in "$@"; do
    [[ -n "${ok[$pkg]:-}" ]] || printf '%s\n' "$pkg"
  done
}

install_deps() {
  command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script targets Debian 12"
  local missing=() pkg
  mapfile -t missing < <(missing_packages "${DEPS[@]}")
  if ((${#missing[@]} == 0)); then
    log "dependencies: all ${#DEPS[@]} packages already installed"
    return 0
  fi

  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}) and not root, no sudo"
    sudo=(sudo)
  fi
  log "dependencies: installing ${#missing[@]} missing package(s): ${missing[*]}"
  log "apt-get update"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
    || die "apt-get update failed"
  log "apt-get install"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" || die "apt-get install failed"
  for pkg in "${missing[@]}"; do
    is_installed "$pkg" || die "package $pkg still not installed"
  done
  log "dependencies: done"
}

# Node.js and npm (Debian's nodejs + npm unless a node with npm is already there), then the
# test-only npm tools of tests/node (the standardwebhooks verifier, playwright-core for the
# dashboard's tests), from its lockfile.
install_node_tools() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    DEPS=(nodejs npm)
    install_deps
  fi
  local dir="$ROOT/tests/node"
  if [[ -f "$dir/node_modules/.package-lock.json" && "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]]; then
    log "node test tools: already installed"
    return 0
  fi
  log "node test tools: npm ci in tests/node"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tests/node failed"
}

install_deps
install_node_tools
if ((DEPS_ONLY)); then
  log "--deps-only: skipping configure/build"
  exit 0
fi

# ---------------------------------------------------------------- configure
onoff() { [[ $1 == 1 ]] && echo ON || echo OFF; }

cache="$BUILD_DIR/CMakeCache.txt"
if [[ -f "$cache" ]]; then
  gen=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$cache")
  if [[ -n "$gen" && "$gen" != "Ninja" ]]; then
    log "build dir $BUILD_DIR was configured with '$gen', not Ninja: removing its CMake cache"
    rm -rf "$cache" "$BUILD_DIR/CMakeFiles"
  fi
fi

log "configure: $BUILD_DIR (type=$BUILD_TYPE, asan=$(onoff "$ASAN"), werror=$(onoff "$WERROR"))"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DDMQ_SANITIZE="$(onoff "$ASAN")" \
  -DDMQ_WERROR="$(onoff "$WERROR")" \
  -DDMQ_TESTS=ON -DDMQ_BENCH=ON \
  || die "cmake configure failed"

# ---------------------------------------------------------------- build
build_cmd=(cmake --build "$BUILD_DIR" -j"$JOBS")
[[ -n "$TARGET" ]] && build_cmd+=(--target "$TARGET")
log "build: ${build_cmd[*]}"
start=$SECONDS
"${build_cmd[@]}" || die "build failed (see the compiler output above)"
log "build: OK in $((SECONDS - start)) s -> $BUILD_DIR"
