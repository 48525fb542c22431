#!/usr/bin/env python3
"""Helpers for the Redis ceiling of bench/ingest.sh.

body single            a /api/message/single body like bench/wrk/single.lua's
body batch N           a /api/message/batch body of N such messages
                       (project and command from env DMQ_PROJECT, DMQ_CMD, as the wrk
                       scripts; default sds, sds:create:order)
call MONITOR_FILE IDS  from the output of `redis-cli MONITOR` taken while dmq saved the
                       messages whose ids are given (comma separated), print the save call
                       dmq made, NUL-separated and ready for redis-benchmark: EVAL is
                       turned into EVALSHA (dmq loads its scripts), each argument equal
                       to one of the ids becomes __rand_int__ (so every call stores new
                       messages, provided redis-benchmark gets a -r that fits in an int:
                       see rb() in bench/ingest.sh). Exit 1 if no single call carried
                       all the ids.
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


def call(monitor_file, ids):
    ids = set(ids.split(","))
    for line in open(monitor_file, encoding="latin-1"):
        args = [unrepr(t) for t in TOKEN.findall(line)]
        if not args or args[0].upper() not in (b"EVALSHA", b"EVAL"):
            continue
        present = {a.decode("latin-1") for a in args} & ids
        if present != ids:
            continue
        if args[0].upper() == b"EVAL":
            args = [b"EVALSHA", hashlib.sha1(args[1]).hexdigest().encode()] + args[2:]
        args = [b"__rand_int__" if a.decode("latin-1") in ids else a for a in args]
        sys.stdout.buffer.write(b"\0".join(args) + b"\0")
        return 0
    return 1


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
    elif sys.argv[1] == "call":
        sys.exit(call(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "claimcall":
        sys.exit(claimcall(*sys.argv[2:5]))
    else:
        sys.exit(__doc__)
