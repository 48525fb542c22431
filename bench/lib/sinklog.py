#!/usr/bin/env python3
"""Reads the nginx sink log of bench/drain.sh and bench/lateness.sh.

summary LOG IDS_FILE CONSUMERS [SERVER_START_EPOCH_S]
    LOG lines are `$msec $request_uri $http_x_dmq_scheduled_at`, the uri
    /sink/<consumer>?msg_id=ID&retry=N. For each consumer of CONSUMERS (comma separated):
    deliveries, unique msg_ids, ids posted (IDS_FILE) that never arrived, ids that arrived
    but were never posted, duplicates, deliveries with retry > 0, first/last arrival; and
    the lateness (arrival - X-Dmq-Scheduled-At, ms) p50/p99/max over all deliveries.
    Prints one JSON object.
answered LOG ANSWERED_FILE
    For bench/lateness.sh: splits each delivery's lateness (arrival - due) using when the
    producer got dmq's answer to the POST that carried it (ANSWERED_FILE: `id
    answered_at_ms`, from lib/post.py paced). A message cannot be claimed before it is
    saved, and dmq answers after the save: a message answered after its due time was
    late before the dispatcher could see it (ingest queueing). Prints JSON: how many
    deliveries were answered after their due time, percentiles of answer - due, and of
    arrival - max(due, answer) (an upper bound of the dispatcher's own share).
unique LOG
    Prints how many distinct (consumer, msg_id) pairs LOG holds (bench/kill.sh polls it).
kill LOG IDS_FILE CONSUMERS KILL_EPOCH_S RESTART_EPOCH_S LEASED_FILE
    For bench/kill.sh: the summary above, plus per consumer and in total: deliveries that
    reached the sink before the kill, ids leased at the kill (LEASED_FILE: lines
    `consumer id`, the queue members whose score was a lease running past the kill, i.e.
    claimed and not acknowledged), how many of those reached the sink from the killed
    process (a line with retry=0: the restarted process re-claims a leased id as attempt
    2, retry=1), duplicated ids that were not leased at the kill (must be 0), the time
    from the kill to the first arrival of the last id to arrive (recovery), to the last
    delivery of all (settled), and from the restart to the first delivery after it.
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


def parse(log):
    """(time, consumer, msg_id, retry) of every line of LOG."""
    out = []
    for line in open(log):
        f = line.split()
        if len(f) < 2:
            continue
        u = urlsplit(f[1])
        q = parse_qs(u.query)
        out.append((float(f[0]), u.path.rsplit("/", 1)[-1], q.get("msg_id", [""])[0],
                    q.get("retry", ["0"])[0]))
    return out


def answered(log, answered_file):
    ans = {}
    for line in open(answered_file):
        f = line.split()
        if len(f) == 2:
            ans[f[0]] = float(f[1])
    after, a_minus_due, disp = 0, [], []
    for line in open(log):
        f = line.split()
        if len(f) < 3 or f[2] == "-":
            continue
        i = parse_qs(urlsplit(f[1]).query).get("msg_id", [""])[0]
        if i not in ans:
            continue
        t, due, a = float(f[0]) * 1000.0, float(f[2]), ans[i]
        a_minus_due.append(a - due)
        if a > due:
            after += 1
        disp.append(t - max(due, a))
    q = lambda v: {"n": len(v), "p50": pct(v, 50), "p99": pct(v, 99), "max": max(v) if v else None}
    print(json.dumps({"deliveries": len(disp), "answered_after_due": after,
                      "answer_minus_due_ms": q(a_minus_due), "after_answer_ms": q(disp)}))


def unique(log):
    print(len({(c, i) for _, c, i, _ in parse(log)}))


def kill(log, ids_file, consumers, kill_s, restart_s, leased_file):
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        summary(log, ids_file, consumers)
    out = json.loads(buf.getvalue())
    kill_s, restart_s = float(kill_s), float(restart_s)
    leased = {}
    for line in open(leased_file):
        f = line.split()
        if len(f) == 2:
            leased.setdefault(f[0], set()).add(f[1])
    rows = parse(log)
    tot = {"before_kill": 0, "leased_at_kill": 0, "leased_reached_sink": 0,
           "duplicates_not_leased": 0}
    last_first, first_after, last_any = None, None, None
    for c in consumers.split(","):
        mine = [(t, i) for t, cc, i, _ in rows if cc == c]
        first_try = {i for _, cc, i, r in rows if cc == c and r == "0"}
        first = {}
        count = {}
        for t, i in mine:
            first[i] = min(first.get(i, t), t)
            count[i] = count.get(i, 0) + 1
        dups = {i for i, n in count.items() if n > 1}
        lc = leased.get(c, set())
        r = out["consumers"][c]
        r["before_kill"] = sum(1 for t, _ in mine if t < kill_s)
        r["leased_at_kill"] = len(lc)
        r["leased_reached_sink"] = len(lc & first_try)
        r["duplicates_not_leased"] = len(dups - lc)
        for k in tot:
            tot[k] += r[k]
        if first:
            lf = max(first.values())
            last_first = lf if last_first is None else max(last_first, lf)
            la = max(t for t, _ in mine)
            last_any = la if last_any is None else max(last_any, la)
        after = [t for t, _ in mine if t >= restart_s]
        if after:
            first_after = min(after) if first_after is None else min(first_after, min(after))
    out.update(tot)
    out["duplicates"] = sum(r["duplicates"] for r in out["consumers"].values())
    out["missing"] = sum(r["missing"] for r in out["consumers"].values())
    out["recovery_s"] = None if last_first is None else round(last_first - kill_s, 3)
    out["settled_s"] = None if last_any is None else round(last_any - kill_s, 3)
    out["restart_to_first_s"] = None if first_after is None else round(first_after - restart_s, 3)
    out["kill_to_restart_s"] = round(restart_s - kill_s, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1:2] == ["summary"] and len(sys.argv) in (5, 6):
        summary(*sys.argv[2:])
    elif sys.argv[1:2] == ["answered"] and len(sys.argv) == 4:
        answered(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["unique"] and len(sys.argv) == 3:
        unique(sys.argv[2])
    elif sys.argv[1:2] == ["kill"] and len(sys.argv) == 8:
        kill(*sys.argv[2:])
    else:
        sys.exit(__doc__)
