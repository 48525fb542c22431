#!/usr/bin/env bash
# Lateness benchmark of dmq's dispatcher (issue 3). See bench/README.md.
#
# With `dmq server` running, a producer (lib/post.py paced) POSTs RATE messages a second
# for SECONDS, a batch of BATCH every BATCH/RATE s, each with delay_ms DELAY_MS, to a
# `dmq client`. nginx (`return 200`) logs each delivery's arrival ($msec) and its
# X-Dmq-Scheduled-At header (the due time, ms); lateness = arrival - due, over every
# delivery: p50, p99, max. Also checks that every posted msg_id arrived exactly once at
# every consumer. Each round runs the one-consumer command, then the two-consumer one.
# Prints a markdown table (median (min-max) over the rounds), writes
# bench/results/lateness-<timestamp>.json.
#
# Knobs (environment): RUNS=3, RATE=1000 (msg/s), SECONDS_=10, BATCH=10, DELAY_MS=1000,
# CONSUMERS="1 2", CONCURRENCY=64, CLAIM_BATCH, RATE_PER_SEC=1000000 (see lib/dispatch.sh), CONSUMER_TIMEOUT=2000 (ms),
# QUIET_MAX=60, QUIET_CORES=0.3, DMQ_BIN=build/dmq, KEEP_TMP=0.
set -euo pipefail
BENCH_NAME=lateness
RUNS=${RUNS:-3}
RATE=${RATE:-1000}
SECONDS_=${SECONDS_:-10}
BATCH=${BATCH:-10}
DELAY_MS=${DELAY_MS:-1000}
CONSUMERS=${CONSUMERS:-1 2}
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/dispatch.sh"

RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
log "redis :$REDIS_PORT  dmq client :$HTTP_PORT  nginx sink :$NGINX_PORT  $RATE msg/s × ${SECONDS_} s, batches of $BATCH, delay $DELAY_MS ms, runs $RUNS, consumers: $CONSUMERS"

# late_run K RUN: one paced run to the K-consumer command, dispatcher running throughout
late_run() {
  local k=$1 run=$2 cmd consumers want out="$TMP/late-$1c-$2" quiet ppid got logs c queued=0
  cmd=CMD_$k; cmd=${!cmd}
  consumers=CONSUMERS_$k; consumers=${!consumers}
  flush
  sink_reset
  server_start "$k-$run"
  sleep 1   # let it connect and find its (empty) queues
  kill -0 "$SERVER_PID" 2>/dev/null || die "dmq server exited at start (see $TMP/server-$k-$run.log)"
  quiet=$(settle)
  "${POST[@]}" paced "$DMQ_URL" bench "$cmd" "$RATE" "$SECONDS_" "$BATCH" "$DELAY_MS" "$out.ids" >"$out.post" &
  ppid=$!
  "${CPUSAMPLE[@]}" sample "$out.cpu" "$ppid" dmq="$SERVER_PID" client="$CLIENT_PID" redis="$REDIS_PID" nginx="$NGINX_WORKER"
  wait "$ppid" || die "the producer failed: $(cat "$out.post")"
  want=$(( $(wc -l <"$out.ids") * k ))
  wait_for $(( DELAY_MS / 1000 + 30 )) sink_has "$want" ||
    log "WARNING: $k consumer(s) run $run: only $(sink_lines) of $want deliveries"
  sleep 1.5   # late duplicates or retries would show up here
  for c in $consumers; do queued=$((queued + $("${RCLI[@]}" zcard "dmq:{bench}:q:$c"))); done
  server_stop
  logs=($(log_counts "$TMP/server-$k-$run.log"))
  python3 "$HERE/lib/sinklog.py" summary "$SINK_LOG" "$out.ids" "${consumers// /,}" >"$out.sum"
  cp "$SINK_LOG" "$out.sink"
  python3 - "$k" "$run" "$(cat "$out.post")" "$out.sum" "$out.cpu" "$quiet" "$queued" "${logs[0]}" "${logs[1]}" >>"$RECORDS" <<'PY'
import json, sys
k, run, post, sumf, cpuf, quiet, queued, lerr, lwarn = sys.argv[1:]
s = json.load(open(sumf))
print(json.dumps({"scenario": f"{k}c", "consumers": int(k), "run": int(run),
  "producer": json.loads(post), "lateness_ms": s["lateness_ms"],
  "queued_after": int(queued), "server_log_errors": int(lerr), "server_log_warnings": int(lwarn),
  "ok": s["ok"] and int(queued) == 0, "sink": s, "cpu_pct": json.load(open(cpuf)),
  "settle": json.loads(quiet)}))
PY
  log "$k consumer(s) run $run: $(tail -n1 "$RECORDS" | python3 "$HERE/lib/dline.py")"
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for run in $(seq "$RUNS"); do
  for k in $CONSUMERS; do late_run "$k" "$run"; done
done
kill -0 "$CLIENT_PID" 2>/dev/null || die "dmq client exited during the benchmark"

mkdir -p "$HERE/results"
RESULT="$HERE/results/lateness-$(date -u +%Y%m%dT%H%M%SZ).json"
python3 - "$RECORDS" "$RESULT" "$(git_info)" <<PY
import json, os, platform, statistics, sys, datetime
recs = [json.loads(l) for l in open(sys.argv[1])]
out = sys.argv[2]
by = {}
for r in recs: by.setdefault(r["scenario"], []).append(r)
def agg(rs, f):
    v = [f(r) for r in rs]
    v = [x for x in v if x is not None]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} if v else None
summary = {}
for k, rs in by.items():
    summary[k] = {
        **{q: agg(rs, lambda r, q=q: r["lateness_ms"][q]) for q in ("p50", "p99", "max", "min")},
        "sent_msgs_per_s": agg(rs, lambda r: r["producer"]["msgs_per_s"]),
        **{f"cpu_{p}": agg(rs, lambda r, p=p: r["cpu_pct"].get(p)) for p in ("dmq", "client", "redis", "nginx", "load", "other_cores")},
        "all_ok": all(r["ok"] for r in rs),
        "missing": sum(c["missing"] for r in rs for c in r["sink"]["consumers"].values()),
        "duplicates": sum(c["duplicates"] for r in rs for c in r["sink"]["consumers"].values()),
        "retries": sum(c["retries"] for r in rs for c in r["sink"]["consumers"].values()),
        "deliveries": sum(r["sink"]["deliveries"] for r in rs),
    }
doc = {"benchmark": "dmq lateness (issue 3)", "started_utc": "$START",
       "finished_utc": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
       "git": json.loads(sys.argv[3]),
       "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                   "note": "producer, dmq client, dmq server, redis-server and nginx share this machine"},
       "settings": {"runs": $RUNS, "rate": $RATE, "seconds": $SECONDS_, "batch": $BATCH,
                    "delay_ms": $DELAY_MS, "concurrency": $CONCURRENCY,
                    "consumer_timeout_ms": $CONSUMER_TIMEOUT, "claim_batch": "${CLAIM_BATCH:-default}", "rate_per_sec": $RATE_PER_SEC},
       "summary": summary, "records": recs}
json.dump(doc, open(out, "w"), indent=2)
f = lambda a, d=1: "-" if not a else (f"{a['median']:,.{d}f} ({a['min']:,.{d}f}–{a['max']:,.{d}f})")
n0 = lambda a: "?" if not a else f"{a['median']:.0f}"
print()
print(f"Lateness benchmark, {doc['started_utc']}, {$RUNS} runs × {$SECONDS_} s at {$RATE} msg/s (batches of {$BATCH}), "
      f"delay {$DELAY_MS} ms; lateness = nginx \$msec - X-Dmq-Scheduled-At; median (min–max) over runs")
print()
print("| consumers | deliveries | p50 ms | p99 ms | max ms | CPU, % of a core: dmq server / dmq client / redis / nginx / producer; others, cores | lost / duplicate / retried |")
print("|---|---|---|---|---|---|---|")
for k in sorted(summary):
    s = summary[k]
    oc = s["cpu_other_cores"]
    print(f"| {k[:-1]} | {s['deliveries']:,} | {f(s['p50'])} | {f(s['p99'])} | {f(s['max'])} | "
          f"{n0(s['cpu_dmq'])} / {n0(s['cpu_client'])} / {n0(s['cpu_redis'])} / {n0(s['cpu_nginx'])} / {n0(s['cpu_load'])}; "
          f"{'?' if not oc else format(oc['median'], '.2f')} | {s['missing']} / {s['duplicates']} / {s['retries']} |")
print()
bad = [f"{r['scenario']}#{r['run']}" for r in recs if not r["ok"]]
print(f"Runs with a lost, duplicate or unexpected delivery, or a non-empty queue after: {', '.join(bad) or 'none'}; "
      f"error lines in dmq server's log: {sum(r['server_log_errors'] for r in recs)}")
noisy = [f"{r['scenario']}#{r['run']}" for r in recs if not r.get("settle", {}).get("quiet", True)]
if noisy: print(f"Measured while the machine was busy with other work: {', '.join(noisy)}")
print(f"Results: {out}")
PY
