#!/usr/bin/env python3
"""Helpers for the Redis ceilings of bench/ingest.sh and bench/ceilings.sh.

body single            a /api/message/single body like bench/wrk/single.lua's
body batch N           a /api/message/batch body of N such messages
                       (project and command from env DMQ_PROJECT, DMQ_CMD, as the wrk
                       scripts; default sds, sds:create:order)
tx MONITOR_FILE IDS N OUT
                       from the same kind of MONITOR output, the transaction (MULTI ... EXEC
                       of one client) in which dmq saved the messages whose ids are given
                       (comma separated): MULTI, a SET <prefix>:{p}:m:<id> <record> PXAT <ms>
                       per message, per queue a ZRANGE <queue> 0 0 WITHSCORES and a variadic
                       ZADD <queue> <due> <id>..., EXEC (the PUBLISH of a wake-up that dmq
                       sends after EXEC is not part of it). Writes to OUT, as a RESP stream
                       for `redis-cli --pipe`, N copies of it in which every message id (the
                       end of a key `...:m:<id>`, a ZADD member) is replaced by a fresh one,
                       unique over the N copies and as long as the ids dmq issued; everything
                       else (records, due times, the ZRANGEs) is kept as dmq sent it. Prints
                       "MSGS REPLIES SHAPE" (messages per copy; top-level replies per copy:
                       MULTI, each QUEUED, EXEC; the commands, e.g. "MULTI, SET x100,
                       ZRANGE x2, ZADD x2, EXEC"), then a line "KEY N" per queue the ZADDs
                       add to (N: members per copy). Exit 1 if no transaction carried all the ids,
                       2 if it carried other messages too, or ZADD members that are not
                       among them. N = 0 only looks for it.
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
        stored, members = set(), set()
        for args in cmds:
            name = args[0].upper()
            if name == b"SET" and len(args) > 1 and MSG_KEY.match(args[1]):
                stored.add(MSG_KEY.match(args[1]).group(2).decode("latin-1"))
            elif name == b"ZADD":
                members.update(args[i].decode("latin-1") for i in zadd_members(args))
        if (stored | members) >= want:
            break
    else:
        return 1
    # the messages this transaction SETs and enqueues: none may be outside the given ones
    if stored != want or not members <= want:
        print(f"the transaction of client {client} stores {len(stored)} messages, "
              f"{len(stored - want)} of them not among the {len(want)} ids given, and enqueues "
              f"{len(members - want)} other ids", file=sys.stderr)
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
    parts, slots, queues = [], [], {}  # queues: key -> members added per copy

    def static(b):
        parts.append(b.replace(b"%", b"%%"))

    commands = [[b"MULTI"]] + cmds + [[b"EXEC"]]
    if db != "0":
        commands.insert(0, [b"SELECT", db.encode()])
    for args in commands:
        ids_at = set()  # positions of arguments that are message ids: the ZADD members
        if args[0].upper() == b"ZADD":
            ids_at = set(zadd_members(args))
            queues[args[1]] = queues.get(args[1], 0) + len(ids_at)
        static(b"*%d\r\n" % len(args))
        for pos, a in enumerate(args):
            k = MSG_KEY.match(a)
            if pos in ids_at:
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
    print(len(order), len(commands), shape(commands))  # one top-level reply per command
    for key, members in queues.items():
        print(key.decode("latin-1"), members)
    return 0


def shape(commands):
    """The command names, runs of one counted: "MULTI, SET x100, ZRANGE, ZADD, EXEC"."""
    runs = []
    for args in commands:
        name = args[0].upper().decode("latin-1")
        if runs and runs[-1][0] == name:
            runs[-1][1] += 1
        else:
            runs.append([name, 1])
    return ", ".join(name if k == 1 else f"{name} x{k}" for name, k in runs)


ZADD_FLAGS = {b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"}


def zadd_members(args):
    """Positions of the members in ZADD key [flags] score member [score member ...]."""
    i = 2
    while i < len(args) and args[i].upper() in ZADD_FLAGS:
        i += 1
    return range(i + 1, len(args), 2)


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
