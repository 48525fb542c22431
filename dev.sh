#!/usr/bin/env bash
# Build-and-run helper for development (the go.sh of the original dmq).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CALLER_PWD="$PWD"

usage() {
  cat <<'EOT'
Usage: ./dev.sh build [client|server|run]
       ./dev.sh run client|server|run [CONFIG_DIR]

  build   build build/dmq (one binary serves every role) via scripts/setup.sh
  run     build, then run `build/dmq ROLE CONFIG_DIR` in the foreground
          (Ctrl-C stops it cleanly); CONFIG_DIR defaults to ./config

Environment: DMQ_BUILD_TYPE (Release | RelWithDebInfo | Debug, default
RelWithDebInfo), DMQ_JOBS (build jobs, default 2). For the tests: scripts/test.sh.
EOT
}

bad_usage() {
  printf 'dev.sh: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

build() {
  "$ROOT/scripts/setup.sh" --type "${DMQ_BUILD_TYPE:-RelWithDebInfo}" --target dmq
}

case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
  build)
    (($# <= 2)) || bad_usage "too many arguments"
    case "${2:-run}" in client | server | run) ;; *) bad_usage "unknown role: $2" ;; esac
    build
    ;;
  run)
    (($# >= 2 && $# <= 3)) || bad_usage "usage: dev.sh run client|server|run [CONFIG_DIR]"
    role="$2"
    case "$role" in client | server | run) ;; *) bad_usage "unknown role: $role" ;; esac
    config="${3:-$ROOT/config}"
    [[ "$config" == /* ]] || config="$CALLER_PWD/$config"
    [[ -d "$config" ]] || bad_usage "config directory $config not found"
    build
    cd "$ROOT"
    printf '==> [dev] build/dmq %s %s (Ctrl-C to stop)\n' "$role" "$config"
    exec "$ROOT/build/dmq" "$role" "$config"
    ;;
  "") bad_usage "missing command" ;;
  *) bad_usage "unknown command: $1" ;;
esac
