#!/usr/bin/env python3
"""One log line for bench/drain.sh, bench/lateness.sh, bench/kill.sh and bench/memory.sh from a result record
(JSON on stdin)."""
import json
import sys

r = json.load(sys.stdin)
if "bytes_per_msg" in r:  # memory
    p = r["per_msg"]
    bad = [k for k, v in r["checks"].items() if not v]
    print(f"{r['bytes_per_msg']:.0f} bytes/message (used_memory +{r['used_memory_delta']:,}): "
          f"m {p['m_hash']:.0f} + s {p['s_hash']:.0f} + queue {p['queue']:.0f} + rest {p['rest']:.0f}; "
          f"params {r['params_avg_bytes']} B; encodings {r['encodings']}"
          + (f"; FAILED: {', '.join(bad)}" if bad else ""))
    sys.exit(0)
if "in_flight_at_kill" in r:  # kill
    bad = [k for k, v in r["checks"].items() if not v]
    print(f"killed {r['kill_after_start_s']} s after start with {r['delivered_before_kill']} delivered; "
          f"in flight {r['in_flight_at_kill']} (bound {r['in_flight_bound']}, "
          f"{r['in_flight_reached_nginx']} had reached nginx); lost {r['lost']}, "
          f"duplicates {r['duplicates']} ({r['duplicates_not_in_flight']} not in flight); "
          f"recovery {r['recovery_s']} s, queues empty after {r['settled_s']} s (lease {r['lease_s']} s), "
          f"restart -> first {r['restart_to_first_s']} s; "
          f"queued after {r['queued_after']}; server log errors {r['server_log_errors']}, "
          f"warnings {r['server_log_warnings']}" + (f"; FAILED: {', '.join(bad)}" if bad else ""))
    sys.exit(0)
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
    if r.get("answered"):
        a = r["answered"]
        parts.append(f"{a['answered_after_due']} answered after their due time; arrival - max(due, answer) "
                     f"p99 {a['after_answer_ms']['p99'] or 0:.1f} ms, max {a['after_answer_ms']['max'] or 0:.1f} ms")
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
