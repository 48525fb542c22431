#!/usr/bin/env bash
# Soak benchmark (issue 12; not run by CI). See bench/README.md.
#
# Mixed load for DURATION seconds on a `dmq client` + `dmq server` pair with a short
# retention (msg_save_seconds: RETENTION, so records expire during the run): two paced
# producers, RATE/2 messages a second each, one to the one-consumer command due at once,
# one to the two-consumer command due DELAY_MS later. Every SAMPLE seconds it records the
# RSS of both dmq processes and Redis's used_memory and key count. At the end it checks
# that every posted id reached every consumer of its command (nothing lost), and reports
# the slope of each memory series over the second half of the run (after warm-up): flat
# means no leak. Writes bench/results/soak-<UTC stamp>.json (bench/lib/result.py); the last line of stdout is
# `RESULT <json path>`.
#
# Knobs (environment): DURATION=3600 (s), RATE=400 (msg/s in all), DELAY_MS=5000,
# RETENTION=60 (s), SAMPLE=10 (s), DMQ_BIN=build/dmq, KEEP_TMP=0.
set -euo pipefail
BENCH_NAME=soak
DURATION=${DURATION:-3600}
RATE=${RATE:-400}
DELAY_MS=${DELAY_MS:-5000}
RETENTION=${RETENTION:-60}
SAMPLE=${SAMPLE:-10}
CONFIG_EXTRA="msg_save_seconds: $RETENTION"
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/dispatch.sh"

log "redis :$REDIS_PORT  dmq client :$HTTP_PORT  nginx :$NGINX_PORT  ${DURATION}s at $RATE msg/s, retention ${RETENTION}s"
server_start soak
wait_for 20 server_ready || die "dmq server did not start (see $TMP/server-soak.log)"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
SAMPLES="$TMP/samples.csv"
echo "t,client_rss_kb,server_rss_kb,redis_used_bytes,redis_keys,delivered" >"$SAMPLES"
(
  t0=$(date +%s)
  while :; do
    now=$(( $(date +%s) - t0 ))
    used=$("${RCLI[@]}" info memory | awk -F: '/^used_memory:/ {print $2+0}')
    keys=$("${RCLI[@]}" dbsize)
    echo "$now,$(rss_kb "$CLIENT_PID"),$(rss_kb "$SERVER_PID"),$used,$keys,$(sink_lines)" >>"$SAMPLES"
    sleep "$SAMPLE"
  done
) &
SAMPLER=$!
PIDS+=("$SAMPLER")

half=$((RATE / 2))
"${POST[@]}" paced "$DMQ_URL" bench "$CMD_1" "$half" "$DURATION" 20 0 "$TMP/ids-1" >"$TMP/post-1.json" &
P1=$!
"${POST[@]}" paced "$DMQ_URL" bench "$CMD_2" "$half" "$DURATION" 20 "$DELAY_MS" "$TMP/ids-2" >"$TMP/post-2.json" &
P2=$!
wait "$P1" || die "producer 1 failed: $(cat "$TMP/post-1.json")"
wait "$P2" || die "producer 2 failed: $(cat "$TMP/post-2.json")"
n1=$(wc -l <"$TMP/ids-1"); n2=$(wc -l <"$TMP/ids-2")
want=$((n1 + 2 * n2))
log "posted $n1 + $n2 messages; waiting for $want deliveries"
for _ in $(seq $((DELAY_MS / 1000 + 120))); do sink_has "$want" && break; sleep 1; done
sleep "$SAMPLE"
kill "$SAMPLER" 2>/dev/null || true

python3 - "$TMP" "$SINK_LOG" "$SAMPLES" "$HERE/lib" "$DURATION" "$RATE" "$RETENTION" <<'PY'
import csv, json, os, sys, time
tmp, sink, samples, lib, duration, rate, retention = sys.argv[1:8]
sys.path.insert(0, lib)
import result
got = {}
with open(sink) as f:
    for line in f:
        parts = line.split()
        if len(parts) < 2 or "msg_id=" not in parts[1]: continue
        path, q = parts[1].split("?", 1)
        mid = dict(kv.split("=", 1) for kv in q.split("&")).get("msg_id")
        got.setdefault(path.rsplit("/", 1)[-1], set()).add(mid)
def ids(p): return [l.split()[0] for l in open(p) if l.strip()]
lost = {"c1": sum(1 for i in ids(f"{tmp}/ids-1") if i not in got.get("c1", ())),
        "d1": sum(1 for i in ids(f"{tmp}/ids-2") if i not in got.get("d1", ())),
        "d2": sum(1 for i in ids(f"{tmp}/ids-2") if i not in got.get("d2", ()))}
rows = [r for r in csv.DictReader(open(samples))]
load = [r for r in rows if float(r["t"]) <= float(duration)]  # while producers ran
def slope(key):  # least squares over the second half of the load, per minute
    pts = [(float(r["t"]), float(r[key])) for r in load[len(load) // 2:]]
    if len(pts) < 2: return None
    n = len(pts); mx = sum(p[0] for p in pts) / n; my = sum(p[1] for p in pts) / n
    den = sum((p[0] - mx) ** 2 for p in pts)
    return 60 * sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else None
res = {"duration_s": int(duration), "rate": int(rate), "retention_s": int(retention),
       "lost": lost, "delivered": {k: len(v) for k, v in got.items()},
       "slope_per_min": {"client_rss_kb": slope("client_rss_kb"), "server_rss_kb": slope("server_rss_kb"),
                         "redis_used_bytes": slope("redis_used_bytes"), "redis_keys": slope("redis_keys")},
       "samples": len(load), "first_of_second_half": load[len(load) // 2] if load else None,
       "end_of_load": load[-1] if load else None, "after_drain": rows[-1] if rows else None}
rec = {"case": "soak", "run": 1, "ok": not any(lost.values()), **res,
       **{f"slope_{k}": v for k, v in res["slope_per_min"].items()}}
medians = result.by_case([rec], {f"slope_{k}": f"slope_{k}" for k in res["slope_per_min"]})
path = result.write("soak", [rec], medians, {"runs": 1, "duration_s": int(duration), "rate": int(rate),
                    "retention_s": int(retention)}, title="soak: mixed load with short retention (issue 12)",
                    headline=[(f"{k} slope/min", ["soak", f"slope_{k}"]) for k in ("client_rss_kb", "server_rss_kb", "redis_used_bytes")])
print(json.dumps(res, indent=1))
print("SUMMARY", json.load(open(path))["summary"])
print("RESULT", path)
sys.exit(1 if any(lost.values()) else 0)
PY
