#!/usr/bin/env bash
# Runs the whole benchmark suite of issue 4, dmq and (if bench/bullmq.sh exists) its BullMQ
# peer scenario by scenario, then writes the results into docs/performance.md between
# `<!-- BEGIN GENERATED -->` and `<!-- END GENERATED -->` (bench/lib/report.py). See
# bench/README.md.
#
# Order (each dmq scenario followed by its BullMQ peer, so both meet similar machine noise):
#   ingest      bench/run ingest (W1, W2, nginx and Redis tx ceilings)      bullmq w2
#   tls         bench/run tls (W1, W2 over HTTPS beside plain HTTP)
#   drain_<N>   bench/run drain, N in DRAIN_NS (W3)                          bullmq w3 (N = first of DRAIN_NS)
#   lateness    bench/run lateness (W4 idle)                                 bullmq w4
#   lateness_w2 LOAD=w2 bench/run lateness (W4 under W2 load)                LOAD=w2 bullmq w4
#   kill        bench/run kill (W5)                                          bullmq w5
#   memory      bench/run memory                                             bullmq memory
#   ceilings    bench/run ceilings (claim script ceiling)
# A scenario that fails is reported as not run; the others go on. Every step's stdout and
# stderr are kept in bench/results/all-<timestamp>/; the manifest (step -> result file,
# exit status, duration) is bench/results/all-<timestamp>.json, and the last line of
# stdout is `RESULT <manifest>`.
#
# Knobs (environment): RUNS=3 (passed to every scenario), DRAIN_NS="50000 500000" (the
# 500k drain takes minutes), KILL_N=50000 (so the kill 1 s in lands mid-drain: dmq drains
# ~18,000/s since session 6), MEM_N=100000, ONLY="" (space-separated step names to run, e.g. "kill
# memory"; bullmq steps are named bullmq_w2 ... bullmq_memory), SKIP="" (steps to leave
# out), BULLMQ=auto (0: no BullMQ steps; 1: fail if bench/bullmq.sh is missing),
# STEP_MAX=5400 (s, bound on one step), REPORT=1 (0: do not touch docs/performance.md),
# DOC=docs/performance.md. Other knobs (QUIET_MAX, DMQ_BIN, ...) reach the scenario
# scripts through the environment.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
export RUNS=${RUNS:-3}
DRAIN_NS=${DRAIN_NS:-50000 500000}
ONLY=${ONLY:-}
SKIP=${SKIP:-}
BULLMQ=${BULLMQ:-auto}
STEP_MAX=${STEP_MAX:-5400}
REPORT=${REPORT:-1}
DOC=${DOC:-$ROOT/docs/performance.md}

log() { printf '[all %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

case $BULLMQ in
  auto) [[ -x $HERE/bullmq.sh ]] && BULLMQ=1 || { BULLMQ=0; log "bench/bullmq.sh not found: BullMQ steps skipped"; } ;;
  1) [[ -x $HERE/bullmq.sh ]] || { log "ERROR: BULLMQ=1 but bench/bullmq.sh is missing"; exit 1; } ;;
  0) ;;
  *) log "ERROR: BULLMQ must be auto, 0 or 1"; exit 2 ;;
esac

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$HERE/results/all-$STAMP"
mkdir -p "$OUT"
STEPS="$OUT/steps.jsonl"
: >"$STEPS"
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
FIRST_N=${DRAIN_NS%% *}
KILL_N=${KILL_N:-50000}
MEM_N=${MEM_N:-100000}

wanted() {  # wanted NAME: in ONLY (if set) and not in SKIP
  [[ -z $ONLY || " $ONLY " == *" $1 "* ]] && [[ " $SKIP " != *" $1 "* ]]
}

# step NAME [VAR=VALUE...] SCRIPT ARGS...: runs one scenario (environment assignments
# first), keeps its output, records its result file (its last `RESULT <path>` line, or
# ingest.sh's `Results: <path>`)
step() {
  local name=$1; shift
  wanted "$name" || return 0
  if [[ $name == bullmq_* && $BULLMQ != 1 ]]; then return 0; fi
  local envs=()
  while [[ $1 == *=* ]]; do envs+=("$1"); shift; done
  log "=== $name: ${envs[*]} ${*#$ROOT/}"
  local t0=$SECONDS rc=0 result
  env "${envs[@]}" timeout "$STEP_MAX" "$@" 2> >(tee "$OUT/$name.err" >&2) | tee "$OUT/$name.out" || rc=$?
  result=$(sed -n -e 's/^RESULT //p' -e 's/^Results: //p' "$OUT/$name.out" | tail -n1)
  if (( rc != 0 )) || [[ -z $result || ! -f $result ]]; then
    log "=== $name FAILED (exit $rc); see $OUT/$name.err"
    result=
  fi
  python3 -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "rc": int(sys.argv[2]),
    "seconds": int(sys.argv[3]), "result": sys.argv[4] or None, "env": sys.argv[5:]}))' \
    "$name" "$rc" $((SECONDS - t0)) "$result" "${envs[@]}" >>"$STEPS"
}

step ingest "$HERE/run" ingest
step tls "$HERE/run" tls
step bullmq_w2 "$HERE/run" bullmq w2
for n in $DRAIN_NS; do
  step "drain_$n" N="$n" "$HERE/run" drain
done
step bullmq_w3 N="$FIRST_N" "$HERE/run" bullmq w3
step lateness LOAD= "$HERE/run" lateness
step bullmq_w4 LOAD= "$HERE/run" bullmq w4
step lateness_w2 LOAD=w2 "$HERE/run" lateness
step bullmq_w4_w2 LOAD=w2 "$HERE/run" bullmq w4
step kill N="$KILL_N" "$HERE/run" kill
step bullmq_w5 W5_N="$KILL_N" "$HERE/run" bullmq w5
step memory N="$MEM_N" "$HERE/run" memory
step bullmq_memory MEM_JOBS="$MEM_N" "$HERE/run" bullmq memory
step ceilings "$HERE/run" ceilings

MANIFEST="$HERE/results/all-$STAMP.json"
python3 - "$STEPS" "$MANIFEST" "$START" <<'PY'
import datetime, json, sys
steps = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
doc = {"started_utc": sys.argv[3],
       "finished_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
       "results": {s["name"]: s["result"] for s in steps}, "steps": steps}
json.dump(doc, open(sys.argv[2], "w"), indent=2)
PY
failed=$(python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(open(sys.argv[1]))["steps"] if not s["result"]))' "$MANIFEST")
[[ -z $failed ]] || log "steps without a result: $failed"
if [[ $REPORT == 1 ]]; then
  python3 "$HERE/lib/report.py" "$MANIFEST" "$DOC" >"$OUT/report.md"
  log "wrote the generated part of ${DOC#$ROOT/} (also in $OUT/report.md)"
  cat "$OUT/report.md"
fi
echo "RESULT $MANIFEST"
