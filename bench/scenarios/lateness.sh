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
# LOAD=w2: during each run, a W2-like load (wrk -s lib/w2load.lua: batch POSTs of
# LOAD_BATCH=100 messages due in LOAD_DELAY_MS=3600000 ms, so they add no deliveries) runs
# against the same `dmq client` and the same command, from just before the producer
# starts until the run's last delivery arrived; its msg/s is reported beside the lateness.
#
# Knobs (environment): RUNS=3, RATE=1000 (msg/s), SECONDS_=10, BATCH=10, DELAY_MS=1000,
# CONSUMERS="1 2", CONCURRENCY=64, CLAIM_BATCH, RATE_PER_SEC=1000000 (see lib/dispatch.sh), CONSUMER_TIMEOUT=2000 (ms),
# LOAD="" (or w2), LOAD_CONNECTIONS=64, LOAD_THREADS=1, LOAD_BATCH=100, LOAD_DELAY_MS=3600000,
# LOAD_RATE=0 (msg/s the load aims at; 0: as fast as it goes), PRODUCER_CONNECTIONS
# (1 idle, 64 under load: connections the paced producer may use at once; with 1 it falls
# seconds behind its schedule under a saturating load),
# QUIET_MAX=60, QUIET_CORES=0.3, DMQ_BIN=build/dmq, KEEP_TMP=0,
# DMQ_WHOLE_SECONDS=1 (the burst of issue 15: messages carry the seed's whole-second
# `timestamp`, the second after now + DELAY_MS, so each second's messages fall due at once).
# The last line of stdout is `RESULT <json path>`.
set -euo pipefail
BENCH_NAME=lateness
RUNS=${RUNS:-3}
RATE=${RATE:-1000}
SECONDS_=${SECONDS_:-10}
BATCH=${BATCH:-10}
DELAY_MS=${DELAY_MS:-1000}
CONSUMERS=${CONSUMERS:-1 2}
LOAD=${LOAD:-}
LOAD_CONNECTIONS=${LOAD_CONNECTIONS:-64}
LOAD_THREADS=${LOAD_THREADS:-1}
LOAD_BATCH=${LOAD_BATCH:-100}
LOAD_DELAY_MS=${LOAD_DELAY_MS:-3600000}
LOAD_RATE=${LOAD_RATE:-0}
if [[ -n $LOAD ]]; then PRODUCER_CONNECTIONS=${PRODUCER_CONNECTIONS:-64}; else PRODUCER_CONNECTIONS=${PRODUCER_CONNECTIONS:-1}; fi
[[ -z $LOAD || $LOAD == w2 ]] || { echo "LOAD must be empty or w2" >&2; exit 2; }
[[ -z $LOAD ]] || command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 1; }
# the run's deliveries should be over after LOAD_DURATION s; the load stops when they are
# (bounded by LOAD_DURATION + 60 s)
LOAD_DURATION=$(( ${SECONDS_%.*} + (DELAY_MS + 999) / 1000 + 2 ))
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/dispatch.sh"

RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
log "redis :$REDIS_PORT  dmq client :$HTTP_PORT  nginx sink :$NGINX_PORT  $RATE msg/s × ${SECONDS_} s, batches of $BATCH, delay $DELAY_MS ms, runs $RUNS, consumers: $CONSUMERS${LOAD:+, load $LOAD (wrk -t$LOAD_THREADS -c$LOAD_CONNECTIONS until the last delivery, $LOAD_BATCH msg/POST due in $LOAD_DELAY_MS ms)}"

# child_of PID: the first child of PID (wrk under `timeout`), waited for up to 3 s
child_of() {
  local c
  for _ in $(seq 60); do
    c=$(cat /proc/"$1"/task/*/children 2>/dev/null | awk '{print $1; exit}')
    [[ -n $c ]] && { echo "$c"; return; }
    sleep 0.05
  done
}

# cmdstats FILE: Redis's per-command counters since the run's CONFIG RESETSTAT, as JSON
# (EVALSHA: claims, acks, renewals; the load's saves are MULTI ... EXEC)
cmdstats() {
  "${RCLI[@]}" info commandstats | python3 -c '
import json, re, sys
out = {}
for l in sys.stdin:
    m = re.match(r"cmdstat_(\S+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)", l)
    if m and m.group(1) not in ("config", "info"):
        out[m.group(1)] = {"calls": int(m.group(2)), "usec": int(m.group(3)),
                           "usec_per_call": float(m.group(4))}
print(json.dumps(out))' >"$1"
}

# late_run K RUN: one paced run to the K-consumer command, dispatcher running throughout
late_run() {
  local k=$1 run=$2 cmd consumers want out="$TMP/late-$1c-$2" quiet ppid got logs c queued=0
  local lpid= lwrk= lstored=0 horizon clog0
  clog0=($(log_counts "$TMP/client.log"))
  cmd=CMD_$k; cmd=${!cmd}
  consumers=CONSUMERS_$k; consumers=${!consumers}
  flush
  sink_reset
  server_start "$k-$run"
  # wait (bounded) until it is connected and subscribed to the wake channel
  wait_for 10 server_ready || die "dmq server not ready after 10 s (see $TMP/server-$k-$run.log)"
  kill -0 "$SERVER_PID" 2>/dev/null || die "dmq server exited at start (see $TMP/server-$k-$run.log)"
  quiet=$(settle)
  "${RCLI[@]}" config resetstat >/dev/null  # Redis's per-command counters: this run's only
  if [[ $LOAD == w2 ]]; then
    # wrk runs until the run's last delivery arrived (then SIGINT: wrk stops and reports),
    # at most LOAD_DURATION + 60 s
    DMQ_WRK_DIR="$HERE/wrk" DMQ_PROJECT=bench DMQ_CMD="$cmd" DMQ_BATCH="$LOAD_BATCH" DMQ_DELAY_MS="$LOAD_DELAY_MS" \
      DMQ_RATE="$LOAD_RATE" DMQ_CONNECTIONS="$LOAD_CONNECTIONS" timeout $((LOAD_DURATION + 90)) wrk -t"$LOAD_THREADS" -c"$LOAD_CONNECTIONS" -d"$((LOAD_DURATION + 60))s" --timeout 5s \
      -s "$HERE/lib/w2load.lua" "$DMQ_URL" >"$out.wrk" 2>&1 &
    lpid=$!
    lwrk=$(child_of "$lpid")
    [[ -n $lwrk ]] || die "wrk (W2 load) did not start: $(cat "$out.wrk")"
  fi
  timeout $(( ${SECONDS_%.*} * 3 + 120 )) "${POST[@]}" paced "$DMQ_URL" bench "$cmd" "$RATE" "$SECONDS_" "$BATCH" "$DELAY_MS" \
    "$out.ids" "$PRODUCER_CONNECTIONS" >"$out.post" &
  ppid=$!
  "${CPUSAMPLE[@]}" sample "$out.cpu" "$(child_of "$ppid")" dmq="$SERVER_PID" client="$CLIENT_PID" redis="$REDIS_PID" nginx="$NGINX_WORKER" ${lwrk:+w2load=$lwrk}
  wait "$ppid" || die "the producer failed: $(cat "$out.post")"
  want=$(( $(wc -l <"$out.ids") * k ))
  wait_for $(( DELAY_MS / 1000 + 30 )) sink_has "$want" ||
    log "WARNING: $k consumer(s) run $run: only $(sink_lines) of $want deliveries"
  if [[ -n $lpid ]]; then
    kill -INT "$lwrk" 2>/dev/null || true
    wait "$lpid" || die "the W2 load (wrk) failed: $(tail -n 5 "$out.wrk")"
  fi
  sleep 1.5   # late duplicates or retries would show up here
  # what is left to deliver: members due within 10 minutes (the run's, and any lease); the
  # load's messages, due in LOAD_DELAY_MS, stay queued and are counted apart
  horizon=$(( $(date +%s%3N) + 600000 ))
  for c in $consumers; do
    queued=$((queued + $("${RCLI[@]}" zcount "dmq:{bench}:q:$c" -inf "$horizon")))
    lstored=$((lstored + $("${RCLI[@]}" zcount "dmq:{bench}:q:$c" "($horizon" +inf)))
  done
  cmdstats "$out.redis"
  server_stop
  logs=($(log_counts "$TMP/server-$k-$run.log"))
  python3 "$HERE/lib/burst.py" burst "$SINK_LOG" >"$out.burst"
  python3 "$HERE/lib/sinklog.py" summary "$SINK_LOG" "$out.ids" "${consumers// /,}" >"$out.sum"
  python3 "$HERE/lib/sinklog.py" answered "$SINK_LOG" "$out.ids.answered" >"$out.ans"
  cp "$SINK_LOG" "$out.sink"
  python3 - "$k" "$run" "$(cat "$out.post")" "$out.sum" "$out.cpu" "$quiet" "$queued" "${logs[0]}" "${logs[1]}" \
    "${lpid:+$out.wrk}" "$LOAD_BATCH" "$lstored" "$(log_counts "$TMP/client.log") ${clog0[*]}" "$out.ans" \
    "$out.burst" "$out.redis" >>"$RECORDS" <<'PY'
import json, sys
k, run, post, sumf, cpuf, quiet, queued, lerr, lwarn, wrkf, lbatch, lstored, clog, ansf, burstf, redisf = sys.argv[1:]
s = json.load(open(sumf))
load, load_ok = None, True
if wrkf:
    line = [l for l in open(wrkf) if l.startswith("WRKJSON ")]
    if not line:
        sys.exit("no WRKJSON line in the W2 load's wrk output:\n" + open(wrkf).read())
    w = json.loads(line[-1][8:])
    per = int(lbatch)
    errors = w["bad_status"] + w["bad_code"] + w["bad_ids"] + sum(w["socket_errors"].values())
    accepted = max(w["requests"] - w["bad_status"] - w["bad_code"] - sum(w["socket_errors"].values()), 0) * per
    # every accepted message must be queued for each consumer (a few more may be: requests
    # still in flight when wrk stopped were saved but not counted)
    stored = int(lstored) // int(k)
    load = {"kind": "w2", "msgs_per_s": round(w["rps"] * per, 1), "requests_per_s": w["rps"],
            "msgs_per_request": per, "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"], "max_ms": w["max_ms"],
            "requests": w["requests"], "errors": errors, "first_bad": w["first_bad"],
            "accepted_msgs": accepted, "stored_msgs": stored, "duration_s": w["duration_s"]}
    load_ok = errors == 0 and stored >= accepted
cl = [int(x) for x in clog.split()]
cl = [cl[0] - cl[2], cl[1] - cl[3]]
print(json.dumps({"case": f"{k}c", "consumers": int(k), "run": int(run),
  "producer": json.loads(post), "lateness_ms": s["lateness_ms"], "load": load,
  "answered": json.load(open(ansf)),
  "burst": {k: v for k, v in json.load(open(burstf)).items() if k != "each"},
  "redis_cmds": json.load(open(redisf)),
  "queued_after": int(queued), "server_log_errors": int(lerr), "server_log_warnings": int(lwarn),
  "client_log_errors": int(cl[0]), "client_log_warnings": int(cl[1]),
  "ok": s["ok"] and int(queued) == 0 and load_ok, "sink": s, "cpu_pct": json.load(open(cpuf)),
  "settle": json.loads(quiet)}))
PY
  log "$k consumer(s) run $run: $(tail -n1 "$RECORDS" | python3 "$HERE/lib/dline.py")"
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for run in $(seq "$RUNS"); do
  for k in $CONSUMERS; do late_run "$k" "$run"; done
done
kill -0 "$CLIENT_PID" 2>/dev/null || die "dmq client exited during the benchmark"

python3 - "$RECORDS" <<PY
import json, os, platform, statistics, sys, datetime
sys.path.insert(0, "$HERE/lib")
import result
recs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in recs: by.setdefault(r["case"], []).append(r)
def agg(rs, f):
    v = [f(r) for r in rs]
    v = [x for x in v if x is not None]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} if v else None
summary = {}
for k, rs in by.items():
    summary[k] = {
        **{q: agg(rs, lambda r, q=q: r["lateness_ms"][q]) for q in ("p50", "p99", "max", "min")},
        "sent_msgs_per_s": agg(rs, lambda r: r["producer"]["msgs_per_s"]),
        **{f"cpu_{p}": agg(rs, lambda r, p=p: r["cpu_pct"].get(p)) for p in ("dmq", "client", "redis", "nginx", "load", "w2load", "other_cores")},
        "all_ok": all(r["ok"] for r in rs),
        "missing": sum(c["missing"] for r in rs for c in r["sink"]["consumers"].values()),
        "duplicates": sum(c["duplicates"] for r in rs for c in r["sink"]["consumers"].values()),
        "retries": sum(c["retries"] for r in rs for c in r["sink"]["consumers"].values()),
        "deliveries": sum(r["sink"]["deliveries"] for r in rs),
        "after_answer_p99": agg(rs, lambda r: r["answered"]["after_answer_ms"]["p99"]),
        "after_answer_max": agg(rs, lambda r: r["answered"]["after_answer_ms"]["max"]),
        "answer_minus_due_p99": agg(rs, lambda r: r["answered"]["answer_minus_due_ms"]["p99"]),
        "answered_after_due": agg(rs, lambda r: r["answered"]["answered_after_due"]),
        "load_msgs_per_s": agg(rs, lambda r: (r.get("load") or {}).get("msgs_per_s")),
        "load_p99_ms": agg(rs, lambda r: (r.get("load") or {}).get("p99_ms")),
        "load_errors": sum((r.get("load") or {}).get("errors", 0) for r in rs),
        "client_log_errors": sum(r.get("client_log_errors", 0) for r in rs),
        "server_log_errors": sum(r["server_log_errors"] for r in rs),
    }
LOAD = "$LOAD"
params = {"runs": $RUNS, "rate": $RATE, "seconds": $SECONDS_, "batch": $BATCH,
          "delay_ms": $DELAY_MS, "consumers": "$CONSUMERS", "concurrency": $CONCURRENCY,
          "consumer_timeout_ms": $CONSUMER_TIMEOUT, "claim_batch": "${CLAIM_BATCH:-default}", "rate_per_sec": $RATE_PER_SEC,
          "load": LOAD or None, "load_connections": $LOAD_CONNECTIONS, "load_threads": $LOAD_THREADS,
          "load_batch": $LOAD_BATCH, "load_delay_ms": $LOAD_DELAY_MS,
          "load_rate": $LOAD_RATE, "producer_connections": $PRODUCER_CONNECTIONS,
          "whole_seconds": "${DMQ_WHOLE_SECONDS:-0}" == "1"}
out = result.write("lateness", recs, summary, params, variant=LOAD or None,
                   title="dmq lateness (issue 3)" + (f", under {LOAD} load" if LOAD else ", idle"),
                   headline=[(f"{k[:-1]} consumer(s) p99 ms", [k, "p99"]) for k in sorted(summary)],
                   started="$START", extra={"note": "producer, dmq client, dmq server, redis-server and nginx share this machine", "dmq_sha256": "$DMQ_SHA"})
doc = json.load(open(out))
f = lambda a, d=1: "-" if not a else (f"{a['median']:,.{d}f} ({a['min']:,.{d}f}–{a['max']:,.{d}f})")
n0 = lambda a: "?" if not a else f"{a['median']:.0f}"
print()
print(f"Lateness benchmark, {doc['started_utc']}, {$RUNS} runs × {$SECONDS_} s at {$RATE} msg/s (batches of {$BATCH}), "
      f"delay {$DELAY_MS} ms; lateness = nginx \$msec - X-Dmq-Scheduled-At; median (min–max) over runs")
if LOAD:
    print(f"Under W2 load: wrk -t{$LOAD_THREADS} -c{$LOAD_CONNECTIONS} -s bench/lib/w2load.lua from just before the producer starts "
          f"until the run's last delivery arrived, batch POSTs of {$LOAD_BATCH} messages due in {$LOAD_DELAY_MS} ms, to the same dmq client and command"
          + (f", aiming at {$LOAD_RATE:,} msg/s" if $LOAD_RATE else ", as fast as it goes")
          + f"; the producer may use {$PRODUCER_CONNECTIONS} connections at once")
print()
lh = " W2 load msg/s | load p99 ms |" if LOAD else ""
print("| consumers | deliveries | p50 ms | p99 ms | max ms | answered after due | p99 of arrival − max(due, answer), ms |" + lh + " CPU, % of a core: dmq server / dmq client / redis / nginx / producer"
      + (" / W2 load" if LOAD else "") + "; others, cores | lost / duplicate / retried |")
print("|---|---|---|---|---|---|---|" + ("---|---|" if LOAD else "") + "---|---|")
for k in sorted(summary):
    s = summary[k]
    oc = s["cpu_other_cores"]
    lc = f"{f(s['load_msgs_per_s'], 0)} | {f(s['load_p99_ms'])} | " if LOAD else ""
    wl = ""
    if LOAD:
        v = [r["cpu_pct"].get("w2load") for r in by[k] if r["cpu_pct"].get("w2load") is not None]
        wl = " / " + (f"{statistics.median(v):.0f}" if v else "?")
    print(f"| {k[:-1]} | {s['deliveries']:,} | {f(s['p50'])} | {f(s['p99'])} | {f(s['max'])} | "
          f"{f(s['answered_after_due'], 0)} | {f(s['after_answer_p99'])} | {lc}"
          f"{n0(s['cpu_dmq'])} / {n0(s['cpu_client'])} / {n0(s['cpu_redis'])} / {n0(s['cpu_nginx'])} / {n0(s['cpu_load'])}{wl}; "
          f"{'?' if not oc else format(oc['median'], '.2f')} | {s['missing']} / {s['duplicates']} / {s['retries']} |")
print()
print("answered after due: deliveries whose POST dmq answered after their due time (saved late: ingest queueing, "
      "not the dispatcher); arrival − max(due, answer) bounds the dispatcher's own share of the lateness.")
bad = doc["failed_runs"]
print(f"Runs with a lost, duplicate or unexpected delivery, or a non-empty queue after"
      + (", or a bad answer to the W2 load" if LOAD else "") + f": {', '.join(bad) or 'none'}; "
      f"error lines in dmq server's log: {sum(r['server_log_errors'] for r in recs)}, "
      f"in dmq client's log: {sum(r.get('client_log_errors', 0) for r in recs)}"
      + (f"; bad answers to the W2 load: {sum((r.get('load') or {}).get('errors', 0) for r in recs)}" if LOAD else ""))
noisy = doc["busy_runs"]
if noisy: print(f"Measured while the machine was busy with other work: {', '.join(noisy)}")
print(f"Results: {out}")
print(f"SUMMARY {doc['summary']}")
print(f"RESULT {out}")
PY
