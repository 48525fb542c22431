#!/usr/bin/env bash
# Pastes the output of `dmq config-reference` into docs/configuration.md (its ```text block),
# which a unit test checks. Run after adding or changing a configuration key.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${DMQ_BIN:-build/dmq}
python3 - "$bin" <<'PY'
import subprocess, sys
path = 'docs/configuration.md'
lines = open(path).read().split('\n')
start = lines.index('```text')
end = lines.index('```', start + 1)
ref = subprocess.run([sys.argv[1], 'config-reference'], capture_output=True, text=True, check=True).stdout.rstrip('\n')
open(path, 'w').write('\n'.join(lines[:start + 1] + ref.split('\n') + lines[end:]))
PY
echo "docs/configuration.md updated"
