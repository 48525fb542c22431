#!/usr/bin/env python3
"""Reads the nginx sink log of bench/drain.sh and bench/lateness.sh.

summary LOG IDS_FILE CONSUMERS [SERVER_START_EPOCH_S]
    LOG lines are `$msec $request_uri $http_x_dmq_scheduled_at`, the uri
    /sink/<consumer>?msg_id=ID&retry=N. For each consumer of CONSUMERS (comma separated):
    deliveries, unique msg_ids, ids posted (IDS_FILE) that never arrived, ids that arrived
    but were never posted, duplicates, deliveries with retry > 0, first/last arrival; and
    the lateness (arrival - X-Dmq-Scheduled-At, ms) p50/p99/max over all deliveries.
    Prints one JSON object.
"""
import json
import sys
from urllib.parse import parse_qs, urlsplit


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summary(log, ids_file, consumers, start=None):
    posted = {l.strip() for l in open(ids_file) if l.strip()}
    per = {c: {"t": [], "ids": [], "retries": 0} for c in consumers.split(",")}
    late, other, bad_lines = [], 0, 0
    for line in open(log):
        f = line.split()
        if len(f) < 2:
            bad_lines += 1
            continue
        u = urlsplit(f[1])
        c = u.path.rsplit("/", 1)[-1]
        if c not in per:
            other += 1
            continue
        q = parse_qs(u.query)
        t = float(f[0])
        d = per[c]
        d["t"].append(t)
        d["ids"].append(q.get("msg_id", [""])[0])
        if q.get("retry", ["0"])[0] != "0":
            d["retries"] += 1
        if len(f) > 2 and f[2] != "-":
            late.append(t * 1000.0 - float(f[2]))
    out = {"consumers": {}, "other_requests": other, "bad_lines": bad_lines}
    first, last, total = None, None, 0
    for c, d in per.items():
        ids = set(d["ids"])
        t = d["t"]
        r = {"deliveries": len(d["ids"]), "unique_ids": len(ids),
             "duplicates": len(d["ids"]) - len(ids), "missing": len(posted - ids),
             "unexpected": len(ids - posted), "retries": d["retries"],
             "first": min(t) if t else None, "last": max(t) if t else None}
        if t:
            span = max(t) - min(t)
            r["span_s"] = round(span, 3)
            r["deliveries_per_s"] = round(len(t) / span, 1) if span > 0 else None
            first = r["first"] if first is None else min(first, r["first"])
            last = r["last"] if last is None else max(last, r["last"])
        total += len(t)
        out["consumers"][c] = r
    out["posted"] = len(posted)
    out["deliveries"] = total
    if first is not None and last > first:
        out["span_s"] = round(last - first, 3)
        out["deliveries_per_s"] = round(total / (last - first), 1)
        out["msgs_per_s"] = round(len(posted) / (last - first), 1)
        if start is not None:
            out["from_server_start_to_first_s"] = round(first - float(start), 3)
            out["from_server_start_to_last_s"] = round(last - float(start), 3)
    out["lateness_ms"] = {"n": len(late), "p50": pct(late, 50), "p99": pct(late, 99),
                          "max": max(late) if late else None,
                          "min": min(late) if late else None}
    out["ok"] = all(r["missing"] == 0 and r["unexpected"] == 0 and r["duplicates"] == 0
                    for r in out["consumers"].values()) and other == 0 and bad_lines == 0
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1:2] == ["summary"] and len(sys.argv) in (5, 6):
        summary(*sys.argv[2:])
    else:
        sys.exit(__doc__)
