#!/usr/bin/env bash
# Lint, run by scripts/test.sh (so by CI): every C++ file formatted as .clang-format says
# (clang-format), the shell scripts clean (shellcheck: the product's at warning level,
# bench/ at error level), and dmq's sources clean of clang-tidy's bugprone and performance
# checks (.clang-tidy; needs the build dir's compile_commands.json), and the systemd units
# of deploy/systemd clean (systemd-analyze verify, run on copies whose ExecStart names the
# build dir's dmq: verify wants the binary to exist; any message it prints is a failure).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

usage() {
  cat <<'EOT'
Usage: scripts/lint.sh [--build-dir DIR] [--no-tidy] [--fix]

  --build-dir DIR  where compile_commands.json is (default: build)
  --no-tidy        skip clang-tidy (the slow part: ~8 s a file)
  --fix            reformat the C++ files instead of checking them
Environment: DMQ_JOBS (clang-tidy processes, default 2).
EOT
}

BUILD_DIR=build
TIDY=1
FIX=0
while (($# > 0)); do
  case "$1" in
    --build-dir)
      BUILD_DIR="$2"
      shift
      ;;
    --no-tidy) TIDY=0 ;;
    --fix) FIX=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
  shift
done

log() { printf '==> [lint] %s\n' "$*"; }
failed=0

mapfile -t cxx < <(git ls-files '*.cc' '*.h')
if ((FIX)); then
  clang-format -i "${cxx[@]}"
  log "clang-format: reformatted ${#cxx[@]} files"
  exit 0
fi
if clang-format --dry-run -Werror "${cxx[@]}"; then
  log "clang-format: ${#cxx[@]} files formatted"
else
  log "clang-format: files above are not formatted (scripts/lint.sh --fix)"
  failed=1
fi

mapfile -t product < <(git ls-files 'scripts/*.sh' dmq.sh dev.sh .ci/run)
mapfile -t bench < <(git ls-files 'bench/*.sh')
if shellcheck -x -S warning "${product[@]}" && (cd bench && shellcheck -S error "${bench[@]#bench/}"); then
  log "shellcheck: ${#product[@]} scripts (warnings) and ${#bench[@]} bench scripts (errors) clean"
else
  log "shellcheck: see above"
  failed=1
fi

mapfile -t units < <(git ls-files 'deploy/systemd/*.service')
if ((${#units[@]})); then
  udir=$(mktemp -d)
  dmq_bin="$(cd "$BUILD_DIR" 2>/dev/null && pwd)/dmq"  # ExecStart wants an absolute path
  for u in "${units[@]}"; do
    sed "s|/usr/local/bin/dmq|$dmq_bin|g" "$u" >"$udir/$(basename "$u")"
  done
  if uout=$(systemd-analyze verify --man=no "$udir"/*.service 2>&1) && [[ -z "$uout" ]] &&
    [[ -x "$dmq_bin" ]]; then
    log "systemd-analyze verify: ${#units[@]} units clean"
  else
    printf '%s
' "$uout"
    log "systemd-analyze verify: findings above (or no $BUILD_DIR/dmq: build first)"
    failed=1
  fi
  rm -rf "$udir"
fi

if ((TIDY)); then
  [[ -f "$BUILD_DIR/compile_commands.json" ]] || {
    log "clang-tidy: no $BUILD_DIR/compile_commands.json (build first)"
    exit 1
  }
  mapfile -t sources < <(git ls-files 'src/*.cc')
  out=$(mktemp)
  if printf '%s\n' "${sources[@]}" |
    xargs -P "${DMQ_JOBS:-2}" -n 4 clang-tidy -p "$BUILD_DIR" --quiet >"$out" 2>/dev/null; then
    log "clang-tidy: ${#sources[@]} files clean"
  else
    grep -E "(error|warning):" "$out" | sort -u || true
    log "clang-tidy: findings above"
    failed=1
  fi
  rm -f "$out"
fi
exit "$failed"
