#!/usr/bin/env bash
# Redis memory per stored message (issue 4). See bench/README.md.
#
# Per run: empties Redis (keeping dmq's id-node lease keys), reads INFO memory, stores N
# future messages (delay DELAY_MS = 1 h, ~90-byte params, own bucket each, to the
# one-consumer command) through `dmq client`'s batch API (lib/post.py preload), reads
# INFO memory again: bytes per message = (used_memory after - before) / N. Then the
# breakdown by key (lib/redismem.py): MEMORY USAGE ... SAMPLES 0 of every m:<id> record
# (data + statuses, one STRING) and of the queue q:<consumer> (÷ its members), and the rest:
# used_memory delta - sum of MEMORY USAGE, i.e. what MEMORY USAGE does not count (the
# expires dict's entries, the main and expires dicts' bucket arrays, ...), per message.
# The dispatcher is not started: nothing is delivered. Checks that every POST answered
# code 0 with its ids, that the queue holds N members and that N keys expire.
# Prints a markdown table (median (min-max) over the rounds), writes
# bench/results/memory-<timestamp>.json; the last line of stdout is `RESULT <json path>`.
#
# Knobs (environment): RUNS=3, N=100000, CONSUMERS=1 (1: bench:one:consumer, 2:
# bench:two:consumers; one value), DELAY_MS=3600000, PRELOAD_BATCH=1000 (messages per
# POST; dmq saves 100 per script call whatever the POST), PRELOAD_THREADS=2,
# PARAMS_BYTES=0 (N > 0: every params padded to N bytes; 0: 84-92 bytes, 90.8 on average),
# DMQ_BIN=build/dmq, KEEP_TMP=0.
set -euo pipefail
BENCH_NAME=memory
RUNS=${RUNS:-3}
N=${N:-100000}
CONSUMERS=${CONSUMERS:-1}
DELAY_MS=${DELAY_MS:-3600000}
PRELOAD_BATCH=${PRELOAD_BATCH:-1000}
PRELOAD_THREADS=${PRELOAD_THREADS:-2}
PARAMS_BYTES=${PARAMS_BYTES:-0}
export DMQ_PARAMS_BYTES=$PARAMS_BYTES # read by lib/post.py
[[ $CONSUMERS == 1 || $CONSUMERS == 2 ]] || { echo "CONSUMERS must be 1 or 2" >&2; exit 2; }
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/dispatch.sh"
MEM=(python3 "$HERE/lib/redismem.py")

RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
log "redis :$REDIS_PORT  dmq client :$HTTP_PORT  N=$N future messages (delay $DELAY_MS ms)  runs $RUNS  consumers: $CONSUMERS"

mem_run() {
  local k=$1 run=$2 cmd consumers out="$TMP/mem-$1c-$2" pre c queued=0
  cmd=CMD_$k; cmd=${!cmd}
  consumers=CONSUMERS_$k; consumers=${!consumers}
  flush
  "${MEM[@]}" info "$REDIS_PORT" >"$out.info0"
  "${MEM[@]}" keys "$REDIS_PORT" 'dmq:{bench}:' 0 >"$out.keys0"
  pre=$("${POST[@]}" preload "$DMQ_URL" bench "$cmd" "$N" "$PRELOAD_BATCH" "$PRELOAD_THREADS" "$DELAY_MS" "$out.ids") ||
    die "preload failed"
  for c in $consumers; do queued=$((queued + $("${RCLI[@]}" zcard "dmq:{bench}:q:$c"))); done
  (( queued == N * k )) || die "after the preload the queues hold $queued members, not $((N * k))"
  "${MEM[@]}" info "$REDIS_PORT" >"$out.info1"
  "${MEM[@]}" keys "$REDIS_PORT" 'dmq:{bench}:' "$N" >"$out.keys1"
  python3 - "$k" "$run" "$pre" "$out.info0" "$out.info1" "$out.keys0" "$out.keys1" "$N" >>"$RECORDS" <<'PY'
import json, sys
k, run, pre, i0, i1, k0, k1, n = sys.argv[1:]
k, n = int(k), int(n)
i0, i1, k0, k1 = (json.load(open(f)) for f in (i0, i1, k0, k1))
pre = json.loads(pre)
g = k1["groups"]
sum0 = sum(x["bytes"] for x in k0["groups"].values())
sum1 = sum(x["bytes"] for x in g.values())
delta = i1["used_memory"] - i0["used_memory"]
m, s, q = g.get("m", {}), g.get("s", {}), g.get("q", {})
members = q.get("members", 0)
expires = i1.get("db0_expires", 0) - i0.get("db0_expires", 0)
d = lambda key: i1.get(key, 0) - i0.get(key, 0)
newkeys = i1.get("db0_keys", 0) - i0.get("db0_keys", 0)
rest = delta - (sum1 - sum0)
# MEMORY USAGE counts a key's main-dict entry (24 bytes) but neither the main dict's bucket
# array nor anything of the expires dict; MEMORY STATS' db.0 overhead gives both dicts
# (entries + buckets)
expires_dict = d("stats.db.0.overhead.hashtable.expires")
main_buckets = d("stats.db.0.overhead.hashtable.main") - 24 * newkeys
clients = d("mem_clients_normal")
per = {
    "total": delta / n,
    "m_hash": m.get("bytes", 0) / n,
    "s_hash": s.get("bytes", 0) / n,
    "queue": q.get("bytes", 0) / n,
    "rest": rest / n,
    "rest_expires_dict": expires_dict / n,
    "rest_main_dict_buckets": main_buckets / n,
    "rest_clients": clients / n,
    "rest_other": (rest - expires_dict - main_buckets - clients) / n,
}
checks = {"all_ids": pre["msgs"] == n and pre["unique_ids"] == n,
          "m_keys": m.get("keys") == n, "no_s_keys": s.get("keys", 0) == 0,
          "queue_members": members == n * k, "expiring_keys": expires == n}
print(json.dumps({"case": f"{k}c", "consumers": k, "run": int(run), "messages": n,
  "preload": pre, "used_memory_before": i0["used_memory"], "used_memory_after": i1["used_memory"],
  "used_memory_delta": delta, "bytes_per_msg": round(delta / n, 1),
  "per_msg": {a: round(b, 1) for a, b in per.items()},
  "m_hash_avg": m.get("avg"), "s_hash_avg": s.get("avg"),
  "queue_bytes_per_member": round(q.get("bytes", 0) / members, 1) if members else None,
  "rest_per_key": round((delta - (sum1 - sum0)) / max(m.get("keys", 0) + s.get("keys", 0), 1), 1),
  "dataset_delta_per_msg": round((i1.get("used_memory_dataset", 0) - i0.get("used_memory_dataset", 0)) / n, 1),
  "overhead_delta_per_msg": round((i1.get("used_memory_overhead", 0) - i0.get("used_memory_overhead", 0)) / n, 1),
  "rss_delta_per_msg": round((i1.get("used_memory_rss", 0) - i0.get("used_memory_rss", 0)) / n, 1),
  "params_avg_bytes": m.get("params_avg_bytes"), "m_fields_avg": m.get("fields_avg"),
  "encodings": {x: g.get(x, {}).get("encodings") for x in ("m", "s", "q")},
  "samples": {"m": m.get("sample"), "s": s.get("sample")},
  "keys_after": k1["keys"], "expiring_keys_added": expires,
  "checks": checks, "ok": all(checks.values()), "info_before": i0, "info_after": i1, "keys_before": k0, "keys_after_groups": g}))
PY
  log "$k consumer(s) run $run: $(tail -n1 "$RECORDS" | python3 "$HERE/lib/dline.py")"
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for run in $(seq "$RUNS"); do mem_run "$CONSUMERS" "$run"; done
flush
kill -0 "$CLIENT_PID" 2>/dev/null || die "dmq client exited during the benchmark"

python3 - "$RECORDS" "$(redis-server --version)" <<PY
import json, os, platform, statistics, sys, datetime
sys.path.insert(0, "$HERE/lib")
import result
recs = [json.loads(l) for l in open(sys.argv[1])]
def agg(rs, f):
    v = [f(r) for r in rs]
    v = [x for x in v if x is not None]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} if v else None
by = {}
for r in recs: by.setdefault(r["case"], []).append(r)
summary = {}
for k, rs in by.items():
    summary[k] = {
        "bytes_per_msg": agg(rs, lambda r: r["bytes_per_msg"]),
        **{f"per_msg_{p}": agg(rs, lambda r, p=p: r["per_msg"][p]) for p in ("m_hash", "s_hash", "queue", "rest", "rest_expires_dict", "rest_main_dict_buckets", "rest_clients", "rest_other")},
        "m_hash_avg": agg(rs, lambda r: r["m_hash_avg"]), "s_hash_avg": agg(rs, lambda r: r["s_hash_avg"]),
        "queue_bytes_per_member": agg(rs, lambda r: r["queue_bytes_per_member"]),
        "rest_per_key": agg(rs, lambda r: r["rest_per_key"]),
        "dataset_delta_per_msg": agg(rs, lambda r: r["dataset_delta_per_msg"]),
        "overhead_delta_per_msg": agg(rs, lambda r: r["overhead_delta_per_msg"]),
        "rss_delta_per_msg": agg(rs, lambda r: r["rss_delta_per_msg"]),
        "params_avg_bytes": rs[0]["params_avg_bytes"], "encodings": rs[0]["encodings"],
        "samples": rs[0]["samples"], "all_ok": all(r["ok"] for r in rs),
        "target_bytes": 600,
    }
for r in recs:
    for x in ("info_before", "info_after", "keys_before", "keys_after_groups"):
        r.pop(x, None) if r["run"] != 1 else None
params = {"runs": $RUNS, "n": $N, "delay_ms": $DELAY_MS, "consumers": $CONSUMERS,
          "preload_batch": $PRELOAD_BATCH, "params_bytes": $PARAMS_BYTES}
out = result.write("memory", recs, summary, params, title="dmq Redis memory per stored message (issue 4)",
                   headline=[(f"{k[:-1]} consumer(s) bytes/message", [k, "bytes_per_msg"]) for k in sorted(summary)],
                   started="$START", extra={"redis": sys.argv[2]})
doc = json.load(open(out))
f = lambda a, d=0: "-" if not a else (f"{a['median']:,.{d}f} ({a['min']:,.{d}f}–{a['max']:,.{d}f})")
print()
print(f"Memory benchmark, {doc['started_utc']}, {$RUNS} runs × {$N:,} messages due in {$DELAY_MS} ms, "
      f"{$CONSUMERS} consumer(s), {sys.argv[2].split()[2]}; median (min–max) over runs")
for k, s in sorted(summary.items()):
    print()
    print(f"Bytes per stored message: **{f(s['bytes_per_msg'])}** (target ≤ 600: {'met' if s['bytes_per_msg']['median'] <= 600 else 'not met'}); "
          f"params {s['params_avg_bytes']} bytes on average; encodings {s['encodings']}")
    print()
    print("| part (MEMORY USAGE includes the key name and its main-dict entry) | bytes per message |")
    print("|---|---|")
    print(f"| m:<id> record: data + statuses, one STRING (avg MEMORY USAGE {f(s['m_hash_avg'])}) | {f(s['per_msg_m_hash'])} |")
    print(f"| q:<consumer> queue ZSET, ÷ members ({f(s['queue_bytes_per_member'])} per member) | {f(s['per_msg_queue'])} |")
    print(f"| rest: used_memory delta − Σ MEMORY USAGE ({f(s['rest_per_key'])} per m key), of which: | {f(s['per_msg_rest'])} |")
    print(f"| · expires dict: an entry per expiring key (1 per message) + its bucket array (MEMORY STATS) | {f(s['per_msg_rest_expires_dict'])} |")
    print(f"| · main dict's bucket array (MEMORY STATS' main-dict overhead − 24 bytes per key, counted above) | {f(s['per_msg_rest_main_dict_buckets'])} |")
    print(f"| · client buffers (mem_clients_normal) | {f(s['per_msg_rest_clients'])} |")
    print(f"| · not accounted for by MEMORY USAGE/STATS (likely allocator rounding: they count a dict entry as 24 bytes, jemalloc's size class is 32; ~4 dict entries a message) | {f(s['per_msg_rest_other'])} |")
    print(f"| **total** (INFO used_memory after − before, ÷ messages) | **{f(s['bytes_per_msg'])}** |")
    print()
    print(f"INFO's split of the delta per message: used_memory_dataset {f(s['dataset_delta_per_msg'])}, "
          f"used_memory_overhead {f(s['overhead_delta_per_msg'])}; RSS {f(s['rss_delta_per_msg'])}")
bad = [f"{r['case']}#{r['run']} ({', '.join(k for k, v in r['checks'].items() if not v)})" for r in recs if not r["ok"]]
print(f"Runs failing a check (ids, key counts, queue members, expiring keys): {', '.join(bad) or 'none'}")
print(f"Results: {out}")
print(f"SUMMARY {doc['summary']}")
print(f"RESULT {out}")
PY
