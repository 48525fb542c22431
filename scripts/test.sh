#!/usr/bin/env bash
# The test command of dmq: build (warnings are errors) and run every test.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat <<'EOF'
Usage: scripts/test.sh [options]

Builds dmq with scripts/setup.sh --werror into build/ and runs ctest there.

Options:
  --label L            run only tests with label L (unit | integration | e2e), ctest -L
  --exclude-label L    skip tests with label L, ctest -LE
  --build-dir DIR      build directory (default: build; the ASan one is DIR-asan)
  --asan               also build build-asan/ (ASan + UBSan) and run the tests there
  --no-lint            skip scripts/lint.sh (clang-format, shellcheck, clang-tidy), run
                       after the default suite
  --no-tidy            lint without clang-tidy (its slow part)
  --fuzz SECONDS       also build build-fuzz/ (clang-14) and run each libFuzzer target
                       for SECONDS on its corpus (scripts/fuzz.sh, docs/fuzzing.md)
  --werror             treat warnings as errors (the default)
  --no-werror          do not treat warnings as errors
  -h, --help           show this help

Environment: DMQ_JOBS (build and test jobs, default 2),
             DMQ_TEST_TIMEOUT (per-test timeout in s, default 300).
EOF
}

log() { printf '==> [test] %s\n' "$*"; }
bad_usage() {
  printf 'test.sh: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

LABEL=""
EXCLUDE=""
BUILD_DIR=""
ASAN=0
FUZZ_SECONDS=""
LINT=1
LINT_TIDY=1
WERROR=(--werror)
JOBS="${DMQ_JOBS:-2}"
TIMEOUT="${DMQ_TEST_TIMEOUT:-300}"

while (($# > 0)); do
  case "$1" in
    --label)
      (($# >= 2)) || bad_usage "--label needs a value"
      LABEL="$2"
      shift
      ;;
    --label=*) LABEL="${1#*=}" ;;
    --exclude-label)
      (($# >= 2)) || bad_usage "--exclude-label needs a value"
      EXCLUDE="$2"
      shift
      ;;
    --exclude-label=*) EXCLUDE="${1#*=}" ;;
    --build-dir)
      (($# >= 2)) || bad_usage "--build-dir needs a value"
      BUILD_DIR="$2"
      shift
      ;;
    --build-dir=*) BUILD_DIR="${1#*=}" ;;
    --asan) ASAN=1 ;;
    --fuzz)
      (($# >= 2)) || bad_usage "--fuzz needs a value"
      FUZZ_SECONDS="$2"
      shift
      ;;
    --fuzz=*) FUZZ_SECONDS="${1#*=}" ;;
    --no-lint) LINT=0 ;;
    --no-tidy) LINT_TIDY=0 ;;
    --werror) WERROR=(--werror) ;;
    --no-werror) WERROR=() ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) bad_usage "unknown argument: $1" ;;
  esac
  shift
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || bad_usage "DMQ_JOBS must be a positive integer"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || bad_usage "DMQ_TEST_TIMEOUT must be a positive integer"
[[ -z "$FUZZ_SECONDS" || "$FUZZ_SECONDS" =~ ^[1-9][0-9]*$ ]] ||
  bad_usage "--fuzz needs a positive number of seconds"

if [[ -z "$BUILD_DIR" ]]; then
  BUILD_DIR="$ROOT/build"
elif [[ "$BUILD_DIR" != /* ]]; then
  BUILD_DIR="$PWD/$BUILD_DIR"
fi
BUILD_DIR="${BUILD_DIR%/}"
cd "$ROOT"

# UBSan: report with a stack and fail the test (ASan already aborts).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

SUMMARY=()
FAILED=0
START=$SECONDS

# run_suite NAME BUILD_DIR [setup.sh options...]
run_suite() {
  local name="$1" dir="$2"
  shift 2
  local t0=$SECONDS
  log "[$name] build ($dir)"
  if ! "$ROOT/scripts/setup.sh" --build-dir "$dir" "${WERROR[@]}" "$@"; then
    SUMMARY+=("$name: BUILD FAILED")
    FAILED=1
    return 0
  fi
  local ctest_cmd=(ctest --test-dir "$dir" --output-on-failure -j"$JOBS"
    --timeout "$TIMEOUT" --no-tests=error)
  [[ -n "$LABEL" ]] && ctest_cmd+=(-L "$LABEL")
  [[ -n "$EXCLUDE" ]] && ctest_cmd+=(-LE "$EXCLUDE")
  log "[$name] ${ctest_cmd[*]}"
  if "${ctest_cmd[@]}"; then
    SUMMARY+=("$name: passed ($((SECONDS - t0)) s)")
  else
    SUMMARY+=("$name: TESTS FAILED ($((SECONDS - t0)) s)")
    FAILED=1
  fi
}

# run_fuzz SECONDS: every fuzz target for SECONDS on its corpus, in BUILD_DIR-fuzz.
run_fuzz() {
  local t0=$SECONDS werror=()
  ((${#WERROR[@]})) && werror=(--werror)
  log "[fuzz] scripts/fuzz.sh all $1"
  if "$ROOT/scripts/fuzz.sh" --build-dir "$BUILD_DIR-fuzz" "${werror[@]}" all "$1"; then
    SUMMARY+=("fuzz: passed, $1 s per target ($((SECONDS - t0)) s with the build)")
  else
    SUMMARY+=("fuzz: FAILED ($((SECONDS - t0)) s)")
    FAILED=1
  fi
}

# run_lint: formatting, shellcheck and clang-tidy (scripts/lint.sh), on BUILD_DIR's
# compile_commands.json.
run_lint() {
  local t0=$SECONDS tidy=()
  ((LINT_TIDY)) || tidy=(--no-tidy)
  log "[lint] scripts/lint.sh ${tidy[*]}"
  if "$ROOT/scripts/lint.sh" --build-dir "$BUILD_DIR" "${tidy[@]}"; then
    SUMMARY+=("lint: passed ($((SECONDS - t0)) s)")
  else
    SUMMARY+=("lint: FAILED ($((SECONDS - t0)) s)")
    FAILED=1
  fi
}

run_suite default "$BUILD_DIR"
if ((LINT)); then
  run_lint
fi
if ((ASAN)); then
  run_suite asan "$BUILD_DIR-asan" --asan
fi
if [[ -n "$FUZZ_SECONDS" ]]; then
  run_fuzz "$FUZZ_SECONDS"
fi

filter=""
[[ -n "$LABEL" ]] && filter+=" label=$LABEL"
[[ -n "$EXCLUDE" ]] && filter+=" exclude-label=$EXCLUDE"
for line in "${SUMMARY[@]}"; do
  log "$line"
done
if ((FAILED)); then
  log "SUMMARY: FAILED${filter} in $((SECONDS - START)) s"
  exit 1
fi
log "SUMMARY: all tests passed${filter} in $((SECONDS - START)) s"
