#!/usr/bin/env python3
"""Producers for bench/drain.sh and bench/lateness.sh (python3 stdlib only).

preload URL PROJECT CMD N BATCH THREADS DELAY_MS IDS_OUT
    POST N messages to URL/api/message/batch, BATCH per request, from THREADS keep-alive
    connections at once, each message with delay_ms DELAY_MS. Every answer must be code 0
    with BATCH ids. Writes the ids, one a line, to IDS_OUT; prints a JSON summary.
paced URL PROJECT CMD RATE SECONDS BATCH DELAY_MS IDS_OUT [CONNECTIONS]
    POST RATE messages a second for SECONDS, a batch of BATCH every BATCH/RATE s on one
    keep-alive connection (the schedule is absolute, so a slow answer is caught up, never
    accumulated), each with delay_ms DELAY_MS. Same checks and outputs as preload; the
    summary also says how far behind the schedule the sender fell. Also writes
    IDS_OUT.answered: `id answered_at_ms` (wall clock) per message. With CONNECTIONS > 1,
    each scheduled POST is sent by the first of CONNECTIONS keep-alive connections that is
    free, so that slow answers (a loaded server) do not hold back the schedule; behind =
    when a POST was sent - when it was due.
Messages carry ~90 bytes of params (DMQ_PARAMS_BYTES=N in the environment: N, the note
padded) and their own bucket, like bench/wrk/*.lua.
With DMQ_WHOLE_SECONDS=1 in the environment, paced messages carry the seed's `timestamp`
(whole seconds: the second after now + DELAY_MS, made when the POST is sent) instead of
delay_ms, so each second's messages fall due at one instant (issue 15's burst).
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def params(k):
    p = {"order_id": f"{k:08d}", "user_id": k % 999983, "amount": f"{k % 10000}.{k % 100:02d}",
         "sku": f"SKU-{k % 99991:05d}", "note": "bench"}
    s = json.dumps(p, separators=(",", ":"))
    want = int(os.environ.get("DMQ_PARAMS_BYTES") or 0)  # pad the note to this length
    if want > len(s):
        p["note"] += "x" * (want - len(s))
        s = json.dumps(p, separators=(",", ":"))
    return s


class Poster:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def post(self, body):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.request("POST", "/api/message/batch", body,
                                  {"Content-Type": "application/json"})
                r = self.conn.getresponse()
                data = r.read()
                return r.status, data
            except (ConnectionError, http.client.HTTPException):
                # only a connection the server closed while idle is retried (nothing sent)
                self.conn = None
                if attempt:
                    raise


def batch_body(project, cmd, first, n, delay_ms, whole_seconds=False):
    due = {"delay_ms": delay_ms}
    if whole_seconds:
        due = {"timestamp": int((time.time() * 1000 + delay_ms) // 1000) + 1}
    return json.dumps([{"project": project, "cmd": cmd, "params": params(k),
                        "bucket": f"b{k}", **due}
                       for k in range(first, first + n)], separators=(",", ":")).encode()


class LazyBodies:
    """paced's bodies: made up front, or (DMQ_WHOLE_SECONDS=1) when each is sent."""

    def __init__(self, project, cmd, batch, delay_ms, ticks):
        self.args = (project, cmd, batch, delay_ms)
        self.whole = os.environ.get("DMQ_WHOLE_SECONDS") == "1"
        self.made = None if self.whole else [self.make(i) for i in range(ticks)]

    def make(self, i):
        project, cmd, batch, delay_ms = self.args
        return batch_body(project, cmd, 1 + i * batch, batch, delay_ms, self.whole)

    def __getitem__(self, i):
        return self.make(i) if self.whole else self.made[i]


def check(status, data, n):
    if status != 200:
        sys.exit(f"HTTP {status}: {data[:300]!r}")
    r = json.loads(data)
    if r.get("code") != 0 or not isinstance(r.get("data"), list) or len(r["data"]) != n:
        sys.exit(f"bad answer for {n} messages: {data[:300]!r}")
    return r["data"]


def preload(url, project, cmd, n, batch, threads, delay_ms, ids_out):
    n, batch, threads, delay_ms = int(n), int(batch), int(threads), int(delay_ms)
    chunks = [(f, min(batch, n - f)) for f in range(0, n, batch)]
    ids, lock, errors = [], threading.Lock(), []

    def work(part):
        p = Poster(url)
        try:
            for first, m in part:
                got = check(*p.post(batch_body(project, cmd, first + 1, m, delay_ms)), m)
                with lock:
                    ids.extend(got)
        except SystemExit as e:
            errors.append(str(e))
        except Exception as e:  # noqa: BLE001 - reported, makes the run fail
            errors.append(repr(e))

    t0 = time.monotonic()
    ts = [threading.Thread(target=work, args=(chunks[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    if errors:
        sys.exit("preload failed: " + errors[0])
    with open(ids_out, "w") as f:
        f.write("".join(f"{i}\n" for i in ids))
    print(json.dumps({"msgs": len(ids), "unique_ids": len(set(ids)), "seconds": round(dt, 3),
                      "msgs_per_s": round(len(ids) / dt, 1)}))


def paced(url, project, cmd, rate, seconds, batch, delay_ms, ids_out, connections="1"):
    rate, seconds, batch, delay_ms = float(rate), float(seconds), int(batch), int(delay_ms)
    connections = int(connections)
    period = batch / rate
    ticks = int(round(seconds / period))
    bodies = LazyBodies(project, cmd, batch, delay_ms, ticks)
    ids, behind, answered = [], [0.0], []
    if connections <= 1:
        p = Poster(url)
        t0 = time.monotonic()
        for i in range(ticks):
            at = t0 + i * period
            now = time.monotonic()
            if now < at:
                time.sleep(at - now)
            else:
                behind[0] = max(behind[0], now - at)
            got = check(*p.post(bodies[i]), batch)
            ids.extend(got)
            answered.append((got, int(time.time() * 1000)))
    else:
        import queue
        todo, lock, errors = queue.Queue(), threading.Lock(), []

        def work():
            p = Poster(url)
            while True:
                item = todo.get()
                if item is None:
                    return
                at, body = item
                late = time.monotonic() - at
                try:
                    got = check(*p.post(body), batch)
                except SystemExit as e:
                    errors.append(str(e))
                    continue
                except Exception as e:  # noqa: BLE001 - reported, makes the run fail
                    errors.append(repr(e))
                    continue
                at_ms = int(time.time() * 1000)
                with lock:
                    ids.extend(got)
                    answered.append((got, at_ms))
                    behind[0] = max(behind[0], late)

        ts = [threading.Thread(target=work, daemon=True) for _ in range(connections)]
        for t in ts:
            t.start()
        t0 = time.monotonic()
        for i in range(ticks):
            at = t0 + i * period
            now = time.monotonic()
            if now < at:
                time.sleep(at - now)
            todo.put((at, bodies[i]))
        for _ in ts:
            todo.put(None)
        for t in ts:
            t.join()
        if errors:
            sys.exit("paced: " + errors[0])
    dt = time.monotonic() - t0
    with open(ids_out, "w") as f:
        f.write("".join(f"{i}\n" for i in ids))
    with open(ids_out + ".answered", "w") as f:
        f.write("".join(f"{i} {at}\n" for got, at in answered for i in got))
    print(json.dumps({"msgs": len(ids), "unique_ids": len(set(ids)), "seconds": round(dt, 3),
                      "msgs_per_s": round(len(ids) / dt, 1),
                      "max_behind_schedule_ms": round(behind[0] * 1000, 1),
                      "connections": connections}))


if __name__ == "__main__":
    if len(sys.argv) == 10 and sys.argv[1] == "preload":
        preload(*sys.argv[2:])
    elif len(sys.argv) in (10, 11) and sys.argv[1] == "paced":
        paced(*sys.argv[2:])
    else:
        sys.exit(__doc__)
