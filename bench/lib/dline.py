#!/usr/bin/env python3
"""One log line for bench/drain.sh and bench/lateness.sh from a result record (JSON on stdin)."""
import json
import sys

r = json.load(sys.stdin)
s, c = r["sink"], r.get("cpu_pct") or {}
parts = []
if "preload" in r:  # drain
    parts.append(f"{r['deliveries_per_s'] or 0:,.0f} deliveries/s ({r['msgs_per_s'] or 0:,.0f} msg/s) "
                 f"over {r['span_s']} s, first after {r['start_to_first_s']} s; "
                 f"preload {r['preload']['msgs_per_s']:,.0f} msg/s")
else:  # lateness
    l, p = r["lateness_ms"], r["producer"]
    if l["n"]:
        parts.append(f"lateness p50 {l['p50']:.1f} ms, p99 {l['p99']:.1f} ms, max {l['max']:.1f} ms, "
                     f"min {l['min']:.1f} ms over {l['n']}")
    parts.append(f"sent {p['msgs']} at {p['msgs_per_s']:,.0f} msg/s "
                 f"(at most {p['max_behind_schedule_ms']} ms behind schedule)")
    if r.get("load"):
        w = r["load"]
        parts.append(f"W2 load {w['msgs_per_s']:,.0f} msg/s (p99 {w['p99_ms']:.0f} ms), {w['errors']} bad answers, "
                     f"{w['stored_msgs']} stored for {w['accepted_msgs']} accepted")
for n, v in s["consumers"].items():
    parts.append(f"{n}: {v['deliveries']} got, {v['unique_ids']} unique, {v['missing']} missing, "
                 f"{v['duplicates']} dup, {v['retries']} retries")
parts.append(f"queued after {r['queued_after']}; server log errors {r['server_log_errors']}, "
             f"warnings {r['server_log_warnings']}")
if c:
    parts.append("cpu% " + " ".join(f"{k} {c.get(k)}" for k in ("dmq", "client", "redis", "nginx", "load", "w2load")
                                    if k in c) + f", other {c.get('other_cores')} cores")
print("; ".join(parts))
