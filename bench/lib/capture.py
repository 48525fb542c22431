#!/usr/bin/env python3
"""Helpers for the Redis ceilings of bench/ingest.sh and bench/ceilings.sh.

body single            a /api/message/single body like bench/wrk/single.lua's
body batch N           a /api/message/batch body of N such messages
                       (project and command from env DMQ_PROJECT, DMQ_CMD, as the wrk
                       scripts; default sds, sds:create:order)
tx MONITOR_FILE IDS N OUT
                       from the same kind of MONITOR output, the transaction (MULTI ... EXEC
                       of one client) in which dmq saved the messages whose ids are given
                       (comma separated): writes to OUT, as a RESP stream for
                       `redis-cli --pipe`, N copies of it in which every message id (an
                       argument equal to an id, e.g. a ZADD member in the script's
                       arguments, or the end of a key `...:m:<id>`) is replaced by a fresh
                       one, unique over the N copies and as long as the ids dmq issued
                       (the script call is kept as dmq sent it: EVAL). Prints "MSGS REPLIES" (messages per copy;
                       top-level replies per copy: MULTI, each QUEUED, EXEC), then a line
                       "KEY N" per queue the script adds to (N: members per copy). Exit 1
                       if no transaction carried all the ids, 2 if it carried other
                       messages too. N = 0 only looks for it.
claimcall MONITOR_FILE QUEUE_KEY NARGV
                       (bench/ceilings.sh) the first script call in the MONITOR output with
                       one key, QUEUE_KEY, and NARGV arguments after it (claim-1: base,
                       consumer, now_ms, lease_ms, max, shared rate), as EVALSHA,
                       NUL-separated. Exit 1 if there is none.
"""
import hashlib
import json
import os
import re
import sys


def params(k):
    return json.dumps({"order_id": f"{k:08d}", "user_id": k % 999983,
                       "amount": f"{k % 10000}.{k % 100:02d}", "sku": f"SKU-{k % 99991:05d}",
                       "note": "bench"}, separators=(",", ":"))


def message(k):
    return {"project": os.environ.get("DMQ_PROJECT", "sds"),
            "cmd": os.environ.get("DMQ_CMD", "sds:create:order"), "params": params(k),
            "bucket": f"b{k}", "delay_ms": 60000}


TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"')
ESC = {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b", '"': b'"', "\\": b"\\"}


def unrepr(s):
    """Undo Redis' sdscatrepr quoting of one MONITOR argument."""
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x":
                out += bytes([int(s[i + 2:i + 4], 16)])
                i += 4
                continue
            out += ESC.get(n, n.encode())
            i += 2
            continue
        out += c.encode("latin-1")
        i += 1
    return bytes(out)


LINE = re.compile(r"^\d+\.\d+ \[(\d+) ([^\]]*)\] (.*)$")
MSG_KEY = re.compile(rb"^(.*:m:)(\d+)$")


def transactions(monitor_file):
    """(db, client, [args of each command]) of every MULTI ... EXEC in the MONITOR output.
    Redis 7.0 logs MULTI when the client sends it, then the queued commands as EXEC runs
    them, then EXEC; commands a script runs show as client "lua" (skipped). Other clients'
    commands may come between, so transactions are followed per client address."""
    open_tx = {}
    for line in open(monitor_file, encoding="latin-1"):
        m = LINE.match(line.rstrip("\r\n"))
        if not m or m.group(2) == "lua":
            continue
        db, client = m.group(1), m.group(2)
        args = [unrepr(t) for t in TOKEN.findall(m.group(3))]
        if not args:
            continue
        name = args[0].upper()
        if name == b"MULTI":
            open_tx[client] = []
        elif name == b"DISCARD":
            open_tx.pop(client, None)
        elif name == b"EXEC":
            if client in open_tx:
                yield db, client, open_tx.pop(client)
        elif client in open_tx:
            open_tx[client].append(args)


def tx(monitor_file, ids, n, out):
    ids = ids.split(",")
    want, n = set(ids), int(n)
    for db, client, cmds in transactions(monitor_file):
        found = set()
        for args in cmds:
            for a in args:
                t = a.decode("latin-1")
                if t in want:
                    found.add(t)
                k = MSG_KEY.match(a)
                if k:
                    found.add(k.group(2).decode())
        if found >= want:
            break
    else:
        return 1
    # the ids of the messages this transaction SETs: none may be outside the given ones
    stored = {MSG_KEY.match(c[1]).group(2).decode() for c in cmds
              if c[0].upper() == b"SET" and len(c) > 1 and MSG_KEY.match(c[1])}
    if stored != want:
        print(f"the transaction of client {client} stores {len(stored)} messages, "
              f"{len(stored - want)} of them not among the {len(want)} ids given", file=sys.stderr)
        return 2
    order = sorted(want, key=int)
    index = {x.encode(): i for i, x in enumerate(order)}
    # fresh ids: after the largest one dmq issued, all of the same length, so that the RESP
    # lengths of the template hold for every copy
    total = max(n, 1) * len(order)
    base = int(order[-1]) + 1
    if len(str(base)) != len(str(base + total - 1)):
        base = 10 ** len(str(base))
    width = len(str(base))
    # the template: RESP bytes with a %s per id (and % escaped elsewhere); slots: the index
    # (in order) of the id each %s stands for
    parts, slots, queues = [], [], []

    def static(b):
        parts.append(b.replace(b"%", b"%%"))

    commands = [[b"MULTI"]] + cmds + [[b"EXEC"]]
    if db != "0":
        commands.insert(0, [b"SELECT", db.encode()])
    for args in commands:
        if args[0].upper() in (b"EVAL", b"EVALSHA"):
            queues = script_queues(args)
        static(b"*%d\r\n" % len(args))
        for a in args:
            k = MSG_KEY.match(a)
            if a in index:
                static(b"$%d\r\n" % width)
                parts.append(b"%s")
                slots.append(index[a])
                static(b"\r\n")
            elif k and k.group(2) in index:
                static(b"$%d\r\n%s" % (len(k.group(1)) + width, k.group(1)))
                parts.append(b"%s")
                slots.append(index[k.group(2)])
                static(b"\r\n")
            else:
                if any(x.encode() in a for x in order):
                    print(f"note: an argument of {args[0].decode()} holds a message id inside it; "
                          "left as it is", file=sys.stderr)
                static(b"$%d\r\n%s\r\n" % (len(a), a))
    template = b"".join(parts)
    with open(out, "wb", buffering=1 << 20) as f:
        for c in range(n):
            first = base + c * len(order)
            fresh = [b"%d" % (first + i) for i in range(len(order))]
            f.write(template % tuple(map(fresh.__getitem__, slots)))
    print(len(order), len(commands))  # one top-level reply per command
    for key, members in queues:
        print(key.decode("latin-1"), members)
    return 0


def script_queues(args):
    """[(queue key, members added per call)] of an enqueue-1 call: EVALSHA sha k KEYS...
    channel, then per queue consumer, min_due, n, n pairs (src/storage/scripts/enqueue-1.lua)"""
    k = int(args[2])
    keys, argv = args[3:3 + k], args[3 + k:]
    out, i = [], 1
    for key in keys:
        members = int(argv[i + 2])
        out.append((key, members))
        i += 3 + 2 * members
    return out


def claimcall(monitor_file, key, nargv):
    nargv = int(nargv)
    for line in open(monitor_file, encoding="latin-1"):
        args = [unrepr(t) for t in TOKEN.findall(line)]
        if len(args) != 4 + nargv or args[0].upper() not in (b"EVALSHA", b"EVAL"):
            continue
        if args[2] != b"1" or args[3].decode("latin-1") != key:
            continue
        if args[0].upper() == b"EVAL":
            args = [b"EVALSHA", hashlib.sha1(args[1]).hexdigest().encode()] + args[2:]
        sys.stdout.buffer.write(b"\0".join(args) + b"\0")
        return 0
    return 1


if __name__ == "__main__":
    if sys.argv[1] == "body":
        if sys.argv[2] == "single":
            print(json.dumps(message(1)))
        else:
            print(json.dumps([message(k) for k in range(1, int(sys.argv[3]) + 1)]))
    elif sys.argv[1] == "tx":
        sys.exit(tx(*sys.argv[2:6]))
    elif sys.argv[1] == "claimcall":
        sys.exit(claimcall(*sys.argv[2:5]))
    else:
        sys.exit(__doc__)
