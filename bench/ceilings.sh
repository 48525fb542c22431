#!/usr/bin/env bash
# The command docs and notes quote: the same as `bench/run ceilings` (bench/README.md), with
# its knobs from the environment (e.g. N=50000 bench/ceilings.sh) or as arguments.
exec "$(dirname "${BASH_SOURCE[0]}")/run" ceilings "$@"
