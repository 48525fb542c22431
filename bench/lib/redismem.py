#!/usr/bin/env python3
"""Redis memory accounting for bench/memory.sh (python3 stdlib only, 127.0.0.1 only).

info PORT
    INFO memory and INFO keyspace (db0) as one JSON object (numbers as numbers).
keys PORT PREFIX MESSAGES
    Every key (SCAN), grouped by what it is under PREFIX (`<prefix>:{p}:` of dmq's schema:
    m:<id> message records, s:<id> status hashes (none since the one-record schema), q:<consumer> queues, other), with the
    sum, count, min, max of MEMORY USAGE ... SAMPLES 0 per group (pipelined), the
    encodings seen (OBJECT ENCODING of up to 100 keys per group), the members of the
    queues, and the average length of the `params` field of up to 1000 message hashes.
    MESSAGES is used for the per-message figures. Prints one JSON object.
"""
import json
import socket
import sys


class Redis:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                raise ConnectionError("redis closed the connection")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            d = self.s.recv(1 << 20)
            if not d:
                raise ConnectionError("redis closed the connection")
            self.buf += d
        v, self.buf = self.buf[:n], self.buf[n + 2:]
        return v

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ValueError(f"unexpected reply {line[:50]!r}")

    @staticmethod
    def _enc(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def pipeline(self, cmds):
        self.s.sendall(b"".join(self._enc(c) for c in cmds))
        return [self._reply() for _ in cmds]

    def call(self, *args):
        r = self.pipeline([args])[0]
        if isinstance(r, RuntimeError):
            raise r
        return r


def num(v):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def info(port):
    r = Redis(port)
    out = {}
    for section in ("memory", "keyspace"):
        for line in r.call("INFO", section).decode().splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                if k == "db0":
                    for kv in v.split(","):
                        a, b = kv.split("=")
                        out[f"db0_{a}"] = num(b)
                else:
                    out[k] = num(v)
    out["dbsize"] = r.call("DBSIZE")
    # MEMORY STATS: a flat list of name, value; "db.N" holds the overhead of the main and
    # expires dicts (entries + bucket arrays)
    st = r.call("MEMORY", "STATS")
    for i in range(0, len(st) - 1, 2):
        name, v = st[i].decode() if isinstance(st[i], bytes) else str(st[i]), st[i + 1]
        if isinstance(v, list):
            for j in range(0, len(v) - 1, 2):
                out[f"stats.{name}.{v[j].decode()}"] = v[j + 1]
        elif isinstance(v, (int, float)):
            out[f"stats.{name}"] = v
        elif isinstance(v, bytes):
            out[f"stats.{name}"] = num(v.decode())
    print(json.dumps(out))


def decode_record(v):
    """The fields of a message record (src/storage/record.h) as version 1 lays them out:
    due, ct, data expiry, cmd, bucket, rid, params, then name, status, attempts per
    consumer. Version 2 (first byte '~') is turned into that."""
    head = None
    pos = 0
    if v[:1] == b"~":
        due, ct, dx = (int(x, 36) for x in v[1:].split(b",", 3)[:3])
        head = [str(due).encode(), str(due - ct).encode(), str(due + dx).encode()]
        pos = v.index(b",", v.index(b",", v.index(b",") + 1) + 1) + 1
    out = []
    while pos < len(v):
        colon = v.index(b":", pos)
        n = int(v[pos:colon])
        out.append(v[colon + 1:colon + 1 + n])
        pos = colon + 1 + n
    if head is None:
        return out
    statuses = {b"w": b"waiting", b"d": b"doing", b"o": b"done", b"f": b"failure", b"c": b"cancelled"}
    rest = []
    for i in range(4, len(out) - 1, 2):
        rest += [out[i], statuses.get(out[i + 1][:1], out[i + 1][:1]), out[i + 1][1:]]
    return head + out[:4] + rest


def keys(port, prefix, messages):
    r = Redis(port)
    messages = int(messages)
    pre = prefix.encode()
    groups = {}
    cursor = b"0"
    allkeys = []
    for _ in range(10_000_000):  # bounded: SCAN ends when the cursor is back at 0
        cursor, batch = r.call("SCAN", cursor, "COUNT", 10000)
        allkeys.extend(batch)
        if cursor == b"0":
            break

    def group(k):
        if not k.startswith(pre):
            return "other"
        rest = k[len(pre):]
        for g in (b"m:", b"s:", b"q:"):
            if rest.startswith(g):
                return g[:1].decode()
        return "other"

    by = {}
    for k in allkeys:
        by.setdefault(group(k), []).append(k)
    for g, ks in by.items():
        sizes = []
        for i in range(0, len(ks), 5000):
            chunk = ks[i:i + 5000]
            sizes += r.pipeline([("MEMORY", "USAGE", k, "SAMPLES", 0) for k in chunk])
        sizes = [s for s in sizes if isinstance(s, int)]
        enc = r.pipeline([("OBJECT", "ENCODING", k) for k in ks[:100]])
        encs = {}
        for e in enc:
            if isinstance(e, bytes):
                encs[e.decode()] = encs.get(e.decode(), 0) + 1
        groups[g] = {"keys": len(ks), "bytes": sum(sizes),
                     "min": min(sizes) if sizes else None, "max": max(sizes) if sizes else None,
                     "avg": round(sum(sizes) / len(sizes), 1) if sizes else None,
                     "encodings": encs}
        if g == "q":
            groups[g]["members"] = sum(r.pipeline([("ZCARD", k) for k in ks]))
            groups[g]["names"] = [k.decode() for k in ks[:10]]
        if g == "other":
            groups[g]["names"] = [k.decode() for k in ks[:40]]
        if g == "m":
            # m:<id> is the message record, one STRING of "<len>:<bytes>" fields
            # (docs/storage.md): due, ct, data expiry, cmd, bucket, rid, params, then
            # name, status, attempts per consumer
            recs = [decode_record(v) for v in r.pipeline([("GET", k) for k in ks[:1000]])
                    if isinstance(v, bytes)]
            lens = [len(f[6]) for f in recs if len(f) >= 7]
            groups[g]["params_avg_bytes"] = round(sum(lens) / len(lens), 1) if lens else None
            groups[g]["fields_avg"] = round(sum(len(f) for f in recs) / len(recs), 2) if recs else None
            names = ["due", "ct", "data_expire_at", "cmd", "bucket", "rid", "params"]
            first = recs[0] if recs else []
            groups[g]["sample"] = {(names[i] if i < len(names) else f"consumer.{(i - 7) // 3}."
                                    + ("name", "status", "attempts")[(i - 7) % 3]):
                                   first[i].decode(errors="replace") for i in range(len(first))}
        if g == "s":
            sample = r.call("HGETALL", ks[0]) if ks else []
            groups[g]["sample"] = {sample[i].decode(): sample[i + 1].decode(errors="replace")
                                   for i in range(0, len(sample), 2)}
    print(json.dumps({"keys": len(allkeys), "messages": messages, "groups": groups}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["info"] and len(sys.argv) == 3:
        info(sys.argv[2])
    elif sys.argv[1:2] == ["keys"] and len(sys.argv) == 5:
        keys(*sys.argv[2:])
    else:
        sys.exit(__doc__)
