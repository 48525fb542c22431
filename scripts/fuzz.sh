#!/usr/bin/env bash
# Build the libFuzzer targets (clang-14, ASan + UBSan) into build-fuzz/ if needed and run one,
# or each, for a bounded time on its corpus. docs/fuzzing.md says what each target covers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGETS=(http_request message_body id_body record_decode resp_reader config_load cluster_routing)

usage() {
  cat <<EOF_USAGE
Usage: scripts/fuzz.sh [options] TARGET|all SECONDS

Builds build-fuzz/ (clang-14, -DDMQ_FUZZ=ON) when it is missing or stale, then runs
fuzz_TARGET for SECONDS (each target for SECONDS with 'all') on fuzz/corpus/TARGET/.
New interesting inputs go to build-fuzz/corpus/TARGET/ (not the repository); an input
that crashes is kept in fuzz/crashes/TARGET/ and the run fails. To keep a fixed crash
as a regression input, move it to fuzz/corpus/TARGET/.

Targets: ${TARGETS[*]}

Options:
  --build-dir DIR   build directory (default: build-fuzz)
  --build-only      build the targets, run nothing (SECONDS not needed)
  --werror          treat warnings as errors
  -h, --help        show this help

Environment: DMQ_JOBS (build jobs, default 2), CC/CXX (default clang-14/clang++-14).
EOF_USAGE
}

log() { printf '==> [fuzz] %s\n' "$*"; }
die() {
  printf '==> [fuzz] ERROR: %s\n' "$*" >&2
  exit 1
}
bad_usage() {
  printf 'fuzz.sh: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

BUILD_DIR="$ROOT/build-fuzz"
BUILD_ONLY=0
WERROR=OFF
JOBS="${DMQ_JOBS:-2}"
ARGS=()
while (($# > 0)); do
  case "$1" in
    --build-dir)
      (($# >= 2)) || bad_usage "--build-dir needs a value"
      BUILD_DIR="$2"
      shift
      ;;
    --build-dir=*) BUILD_DIR="${1#*=}" ;;
    --build-only) BUILD_ONLY=1 ;;
    --werror) WERROR=ON ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) bad_usage "unknown option: $1" ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done
[[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$PWD/$BUILD_DIR"

TARGET="${ARGS[0]:-all}"
SECONDS_EACH="${ARGS[1]:-}"
if ((BUILD_ONLY)); then
  ((${#ARGS[@]} <= 1)) || bad_usage "--build-only takes at most a TARGET"
else
  ((${#ARGS[@]} == 2)) || bad_usage "give a TARGET (or all) and SECONDS"
  [[ "$SECONDS_EACH" =~ ^[1-9][0-9]*$ ]] || bad_usage "SECONDS must be a positive integer"
fi
if [[ "$TARGET" == all ]]; then
  run=("${TARGETS[@]}")
else
  [[ " ${TARGETS[*]} " == *" $TARGET "* ]] || bad_usage "no target '$TARGET'"
  run=("$TARGET")
fi

# ---------------------------------------------------------------- build
CC="${CC:-clang-14}"
CXX="${CXX:-clang++-14}"
command -v "$CXX" >/dev/null 2>&1 || die "$CXX not found (Debian: apt-get install clang-14 libclang-rt-14-dev)"
t0=$SECONDS
cache="$BUILD_DIR/CMakeCache.txt"
if [[ ! -f "$cache" ]] || ! grep -qx "DMQ_WERROR:BOOL=$WERROR" "$cache"; then
  log "configure: $BUILD_DIR ($CXX, werror=$WERROR)"
  mkdir -p "$BUILD_DIR"
  # -O1: the usual trade for fuzzing (fast enough to run, quick to build, readable stacks);
  # no -DNDEBUG, so that assertions (Boost's too) are checked.
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DDMQ_FUZZ=ON -DDMQ_TESTS=OFF -DDMQ_WERROR="$WERROR" >"$BUILD_DIR/configure.log" 2>&1 ||
    { cat "$BUILD_DIR/configure.log" >&2; die "cmake configure failed"; }
fi
targets=()
for t in "${run[@]}"; do targets+=("fuzz_$t"); done
log "build: ${targets[*]}"
cmake --build "$BUILD_DIR" -j"$JOBS" --target "${targets[@]}" || die "build failed"
log "build: OK in $((SECONDS - t0)) s"
((BUILD_ONLY)) && exit 0

# ---------------------------------------------------------------- run
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for t in "${run[@]}"; do
  seeds="$ROOT/fuzz/corpus/$t"
  found="$BUILD_DIR/corpus/$t"
  crashes="$ROOT/fuzz/crashes/$t"
  mkdir -p "$found" "$crashes"
  [[ -d "$seeds" ]] || die "no seed corpus $seeds"
  log "$t: $SECONDS_EACH s on $seeds"
  out="$BUILD_DIR/fuzz-$t.log"
  # -timeout: an input that takes 10 s is a finding too (a hang). The first corpus dir
  # receives the new inputs; the seeds in the repository are only read.
  if "$BUILD_DIR/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
    "$found" "$seeds" >"$out" 2>&1; then
    stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$out" |
      sed 's/^stat:://' | tr -s ' \n' ' ')
    log "$t: OK: $stats"
  else
    tail -n 60 "$out" >&2
    log "$t: FAILED: see $out; the input is in $crashes/"
    failed+=("$t")
  fi
done
if ((${#failed[@]})); then
  log "SUMMARY: FAILED: ${failed[*]}"
  exit 1
fi
log "SUMMARY: ${#run[@]} target(s) ran $SECONDS_EACH s each, nothing found"
