#!/usr/bin/env bash
# Drain benchmark of dmq's dispatcher (issue 3). See bench/README.md.
#
# With the dispatcher stopped, stores N messages that are already due (batch POSTs of
# PRELOAD_BATCH to a `dmq client`), then starts `dmq server` and times how fast it
# delivers them all to nginx (`return 200`, access log `$msec $request_uri ...`).
# deliveries/s = deliveries / (last $msec - first $msec). Checks that every posted msg_id
# arrived exactly once at every consumer, with retry=0, and that the queues end empty.
# Each round runs the one-consumer command, then the two-consumer one. Prints a markdown
# table (median (min-max) over the rounds), writes bench/results/drain-<timestamp>.json.
#
# Knobs (environment): RUNS=3, N=100000, CONSUMERS="1 2" (which commands), PRELOAD_BATCH=1000,
# PRELOAD_THREADS=2, DRAIN_MAX=300 (s, bound on one drain), CONCURRENCY=64 (per consumer),
# CLAIM_BATCH (dispatch.claim_batch; empty: dmq's default), RATE_PER_SEC=1000000
# (see lib/dispatch.sh), CONSUMER_TIMEOUT=2000 (ms),
# QUIET_MAX=60, QUIET_CORES=0.3, DMQ_BIN=build/dmq, KEEP_TMP=0, REDIS=single (`cluster`: a local
# Redis Cluster of MASTERS=3 masters, lib/dispatch.sh).
# The last line of stdout is `RESULT <json path>`.
set -euo pipefail
BENCH_NAME=drain
RUNS=${RUNS:-3}
N=${N:-100000}
CONSUMERS=${CONSUMERS:-1 2}
PRELOAD_BATCH=${PRELOAD_BATCH:-1000}
PRELOAD_THREADS=${PRELOAD_THREADS:-2}
DRAIN_MAX=${DRAIN_MAX:-300}
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/dispatch.sh"

RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
log "redis :$REDIS_PORT  dmq client :$HTTP_PORT  nginx sink :$NGINX_PORT  N=$N  runs $RUNS  consumers: $CONSUMERS"

# drain_run K RUN: one drain of N messages to the K-consumer command
drain_run() {
  local k=$1 run=$2 cmd consumers want out="$TMP/drain-$1c-$2" pre quiet t0 wpid got logs
  cmd=CMD_$k; cmd=${!cmd}
  consumers=CONSUMERS_$k; consumers=${!consumers}
  want=$((N * k))
  flush
  sink_reset
  pre=$("${POST[@]}" preload "$DMQ_URL" bench "$cmd" "$N" "$PRELOAD_BATCH" "$PRELOAD_THREADS" 0 "$out.ids") ||
    die "preload failed"
  local queued=0 c
  for c in $consumers; do queued=$((queued + $("${RCLI[@]}" zcard "dmq:{bench}:q:$c"))); done
  (( queued == want )) || die "after the preload the queues hold $queued deliveries, not $want"
  (( $(sink_lines) == 0 )) || die "the sink got requests before the dispatcher started"
  quiet=$(settle)
  t0=$(date +%s.%N)
  server_start "$k-$run"
  # the "load" whose lifetime bounds the CPU sampling: waits until the sink has every delivery
  ( until (( $(sink_lines) >= want )); do
      (( $(date +%s) - ${t0%.*} < DRAIN_MAX )) || exit 1
      kill -0 "$SERVER_PID" 2>/dev/null || exit 2
      sleep 0.1
    done ) &
  wpid=$!
  "${CPUSAMPLE[@]}" sample "$out.cpu" "$wpid" dmq="$SERVER_PID" redis="$REDIS_PID" nginx="$NGINX_WORKER"
  local wrc=0
  wait "$wpid" || wrc=$?
  (( wrc != 2 )) || die "dmq server died during the drain ($(wait "$SERVER_PID" 2>/dev/null; echo "exit $?"); see $TMP/server-$k-$run.log)"
  (( wrc == 0 )) || log "WARNING: $k consumer(s) run $run: only $(sink_lines) of $want deliveries after ${DRAIN_MAX}s"
  sleep 1.5   # late duplicates or retries would show up here
  queued=0
  for c in $consumers; do queued=$((queued + $("${RCLI[@]}" zcard "dmq:{bench}:q:$c"))); done
  server_stop
  read -ra logs <<<"$(log_counts "$TMP/server-$k-$run.log")"
  python3 "$HERE/lib/sinklog.py" summary "$SINK_LOG" "$out.ids" "${consumers// /,}" "$t0" >"$out.sum"
  cp "$SINK_LOG" "$out.sink"
  python3 - "$k" "$run" "$pre" "$out.sum" "$out.cpu" "$quiet" "$queued" "${logs[0]}" "${logs[1]}" >>"$RECORDS" <<'PY'
import json, sys
k, run, pre, sumf, cpuf, quiet, queued, lerr, lwarn = sys.argv[1:]
s = json.load(open(sumf))
print(json.dumps({"case": f"{k}c", "consumers": int(k), "run": int(run),
  "preload": json.loads(pre), "deliveries_per_s": s.get("deliveries_per_s"),
  "msgs_per_s": s.get("msgs_per_s"), "span_s": s.get("span_s"),
  "start_to_first_s": s.get("from_server_start_to_first_s"),
  "start_to_last_s": s.get("from_server_start_to_last_s"),
  "queued_after": int(queued), "server_log_errors": int(lerr), "server_log_warnings": int(lwarn),
  "ok": s["ok"] and int(queued) == 0, "sink": s, "cpu_pct": json.load(open(cpuf)),
  "settle": json.loads(quiet)}))
PY
  log "$k consumer(s) run $run: $(tail -n1 "$RECORDS" | python3 "$HERE/lib/dline.py")"
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for run in $(seq "$RUNS"); do
  for k in $CONSUMERS; do drain_run "$k" "$run"; done
done
kill -0 "$CLIENT_PID" 2>/dev/null || die "dmq client exited during the benchmark"

python3 - "$RECORDS" <<PY
import json, sys
sys.path.insert(0, "$HERE/lib")
import result
from result import agg
recs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in recs: by.setdefault(r["case"], []).append(r)
summary = {}
for k, rs in by.items():
    summary[k] = {
        **result.by_case(rs, {
            "deliveries_per_s": "deliveries_per_s", "msgs_per_s": "msgs_per_s", "span_s": "span_s",
            "start_to_first_s": "start_to_first_s", "start_to_last_s": "start_to_last_s",
            "preload_msgs_per_s": lambda r: r["preload"]["msgs_per_s"],
            **{f"cpu_{p}": (lambda r, p=p: r["cpu_pct"].get(p)) for p in ("dmq", "redis", "nginx", "other_cores")}})[k],
        "all_ok": all(r["ok"] for r in rs),
        "missing": sum(c["missing"] for r in rs for c in r["sink"]["consumers"].values()),
        "duplicates": sum(c["duplicates"] for r in rs for c in r["sink"]["consumers"].values()),
        "retries": sum(c["retries"] for r in rs for c in r["sink"]["consumers"].values()),
        "server_log_errors": sum(r["server_log_errors"] for r in rs),
    }
params = {"runs": $RUNS, "redis": "$REDIS", "n": $N, "consumers": "$CONSUMERS", "preload_batch": $PRELOAD_BATCH,
          "concurrency": $CONCURRENCY, "consumer_timeout_ms": $CONSUMER_TIMEOUT,
          "claim_batch": "${CLAIM_BATCH:-default}", "rate_per_sec": $RATE_PER_SEC}
out = result.write("drain", recs, summary, params, variant=None if "$REDIS" == "single" else "$REDIS", title="dmq drain (issue 3): N due messages, 1 and 2 consumers",
                   headline=[(f"{k[:-1]} consumer(s) deliveries/s", [k, "deliveries_per_s"]) for k in sorted(summary)],
                   started="$START", extra={"note": "dmq server, redis-server and nginx share this machine", "dmq_sha256": "$DMQ_SHA"})
doc = json.load(open(out))
f = lambda a, d=0: "-" if not a else (f"{a['median']:,.{d}f} ({a['min']:,.{d}f}–{a['max']:,.{d}f})")
n0 = lambda a: "?" if not a else f"{a['median']:.0f}"
print()
print(f"Drain benchmark, {doc['started_utc']}, {$RUNS} runs, N = {$N:,} due messages; median (min–max) over runs")
print()
print("| consumers | deliveries/s | messages/s | first → last delivery, s | server start → last delivery, s | CPU, % of a core: dmq server / redis / nginx; others, cores | lost / duplicate / retried |")
print("|---|---|---|---|---|---|---|")
for k in sorted(summary):
    s = summary[k]
    oc = s["cpu_other_cores"]
    print(f"| {k[:-1]} | {f(s['deliveries_per_s'])} | {f(s['msgs_per_s'])} | {f(s['span_s'], 2)} | {f(s['start_to_last_s'], 2)} | "
          f"{n0(s['cpu_dmq'])} / {n0(s['cpu_redis'])} / {n0(s['cpu_nginx'])}; {'?' if not oc else format(oc['median'], '.2f')} | "
          f"{s['missing']} / {s['duplicates']} / {s['retries']} |")
print()
bad = doc["failed_runs"]
print(f"Runs with a lost, duplicate or unexpected delivery, or a non-empty queue after: {', '.join(bad) or 'none'}; "
      f"error lines in dmq server's log: {sum(r['server_log_errors'] for r in recs)}")
noisy = doc["busy_runs"]
if noisy: print(f"Measured while the machine was busy with other work: {', '.join(noisy)}")
print(f"Results: {out}")
print(f"SUMMARY {doc['summary']}")
print(f"RESULT {out}")
PY
