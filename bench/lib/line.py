#!/usr/bin/env python3
"""One log line for bench/ingest.sh from a result record (JSON on stdin)."""
import json
import sys

r = json.load(sys.stdin)
parts = [f"{r['msgs_per_s']:,.0f} msg/s ({r['calls_per_s']:,.1f} calls/s)"]
if "p50_ms" in r:
    bad = r["non_2xx"] + r["bad_code"] + r["bad_ids"] + sum(r["socket_errors"].values())
    parts.append(f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, bad {bad}, "
                 f"dmq log errors {r.get('dmq_log_errors', 0)}")
c = r.get("cpu_pct") or {}
if c:
    parts.append("cpu% dmq {} redis {} nginx {} load {}, other {} cores".format(
        c.get("dmq"), c.get("redis"), c.get("nginx"), c.get("load"), c.get("other_cores")))
cs = r.get("redis_cmdstats") or {}
for name in ("exec", "evalsha", "eval"):
    if name in cs:
        parts.append(f"redis {name} {cs[name]['calls']} calls, {cs[name]['usec_per_call']:.0f} us/call")
print("; ".join(parts))
