#!/usr/bin/env bash
# Paste the output of `dmq config-reference` into docs/configuration.md (the ```text block
# that starts with "# CONFIG_DIR/config.yaml"), as the unit test config_test checks.
# Usage: scripts/config-docs.sh [BUILD_DIR]   (default: build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
ref=$("$BUILD/dmq" config-reference)
python3 - "$ROOT/docs/configuration.md" "$ref" <<'PY'
import sys
path, ref = sys.argv[1], sys.argv[2] + "\n"
doc = open(path).read()
start = doc.index("# CONFIG_DIR/config.yaml")
end = doc.index("```", start)
open(path, "w").write(doc[:start] + ref + doc[end:])
PY
