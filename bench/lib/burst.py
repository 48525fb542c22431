#!/usr/bin/env python3
"""Where a second's burst spends its time (bench/lateness.sh with DMQ_WHOLE_SECONDS=1).

burst LOG [MIN_SIZE]
    LOG is the nginx sink log (`$msec $request_uri $http_x_dmq_scheduled_at`). Deliveries
    are grouped by their due time (X-Dmq-Scheduled-At); each group of at least MIN_SIZE
    (100) is a burst: many messages due at one instant. Per burst: its size, the first
    arrival - due (how late the burst starts), the span last - first arrival (how long
    sending it takes), and the rate (size / span). Prints one JSON object: the medians over
    the bursts of those, and of the arrival of the 50th/90th/99th percent of each burst,
    all in ms; the first burst's and the worst burst's 99th percent; every burst (each).
"""
import json
import statistics
import sys


def burst(log, min_size=100):
    by = {}
    for line in open(log):
        f = line.split()
        if len(f) < 3 or f[2] == "-":
            continue
        by.setdefault(int(f[2]), []).append(float(f[0]) * 1000.0 - int(f[2]))
    rows = []
    for due, late in sorted(by.items()):
        if len(late) < min_size:
            continue
        late.sort()
        n = len(late)
        span = late[-1] - late[0]
        at = lambda p: late[min(n - 1, int(n * p / 100))]
        rows.append({"due": due, "size": n, "start": late[0], "span": span,
                     "p50": at(50), "p90": at(90), "p99": at(99), "last": late[-1],
                     "per_ms": n / span if span > 0 else None})
    med = lambda k: statistics.median([r[k] for r in rows if r[k] is not None]) if rows else None
    print(json.dumps({"bursts": len(rows),
                      # the first burst (the dispatcher's connections to the consumer are
                      # opened then) and the worst: a run's p99 over every delivery is
                      # mostly its worst burst's tail
                      "first_p99": rows[0]["p99"] if rows else None,
                      "worst_p99": max(r["p99"] for r in rows) if rows else None,
                      **{k: med(k) for k in ("size", "start", "span", "p50", "p90", "p99",
                                             "last", "per_ms")},
                      "each": rows}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["burst"] and len(sys.argv) in (3, 4):
        burst(sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 100)
    else:
        sys.exit(__doc__)
