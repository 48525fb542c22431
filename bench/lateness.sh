#!/usr/bin/env bash
# The command docs and notes quote: the same as `bench/run lateness` (bench/README.md), with
# its knobs from the environment (e.g. N=50000 bench/lateness.sh) or as arguments.
exec "$(dirname "${BASH_SOURCE[0]}")/run" lateness "$@"
