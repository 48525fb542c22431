#!/usr/bin/env bash
# Takes the dashboard's screenshots in docs/images/ (docs/dashboard.md) from a real dmq:
# runs the dashboard's story test (tests/e2e/dashboard_test.cc: Redis, `dmq run`, a consumer
# that fails then succeeds, headless Chromium) with DMQ_UI_SCREENSHOTS set, which saves
# dashboard-overview.png, dashboard-consumer.png, dashboard-message.png and
# dashboard-message-done.png there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat <<'EOF2'
Usage: scripts/screenshots.sh [--build-dir DIR] [--out DIR]

Builds dmq and its e2e tests in DIR (default: build; configure it first with
scripts/setup.sh) and writes the dashboard's screenshots to --out (default: docs/images).
EOF2
}

BUILD_DIR="$ROOT/build"
OUT="$ROOT/docs/images"
while (($# > 0)); do
  case "$1" in
    --build-dir)
      (($# >= 2)) || { usage >&2; exit 2; }
      BUILD_DIR="$2"
      shift
      ;;
    --out)
      (($# >= 2)) || { usage >&2; exit 2; }
      OUT="$2"
      shift
      ;;
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

[[ -f "$BUILD_DIR/CMakeCache.txt" ]] || { echo "screenshots.sh: $BUILD_DIR is not configured: run scripts/setup.sh first" >&2; exit 1; }
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cmake --build "$BUILD_DIR" --target dmq dmq_e2e_tests
DMQ_UI_SCREENSHOTS="$OUT" "$BUILD_DIR/tests/dmq_e2e_tests" --gtest_filter='dashboard_story_test.*'
ls -l "$OUT"/dashboard-*.png
