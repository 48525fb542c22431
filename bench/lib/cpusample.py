#!/usr/bin/env python3
"""CPU accounting for bench/ingest.sh, from /proc (no pidstat needed).

sample OUT LOADPID name=PID ...
    While LOADPID (the load generator) runs, sample every 0.25 s; report the CPU used
    between the first sample (0.5 s after start) and the last one taken while LOADPID
    was still alive, as % of one core per process, the load generator included, plus the
    machine's busy share and what processes other than ours used (in cores). The threads
    of `dmq` are broken down by name.
quiet MAX_S THRESHOLD_CORES
    Wait (at most MAX_S) until the whole machine uses less than THRESHOLD_CORES over one
    second; prints the last measured use. Exit status 0 if quiet, 1 if it gave up.
"""
import json
import os
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def thread_ticks(pid):
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fl = s[s.rindex(")") + 2:].split()
        out[f"{name}/{tid}"] = int(fl[11]) + int(fl[12])
    return out


def machine():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    total = sum(v[:8])
    return total - idle, total


def snap(procs, load):
    return {
        "t": time.monotonic(),
        "procs": {n: ticks(p) for n, p in procs.items()},
        "load": ticks(load),
        "threads": thread_ticks(procs["dmq"]) if "dmq" in procs else {},
        "machine": machine(),
    }


def sample(out, load, specs):
    procs = {}
    for s in specs:
        n, _, p = s.partition("=")
        if p:
            procs[n] = int(p)
    load = int(load) if load else -1
    time.sleep(0.5)
    a = snap(procs, load)
    b = None
    # per process, its last sample while the load ran (a process that exits before the
    # load does, e.g. a background load generator, is measured over its own lifetime)
    last = {n: (a["t"], v) for n, v in a["procs"].items() if v is not None}
    while ticks(load) is not None:
        time.sleep(0.25)
        s = snap(procs, load)
        if s["load"] is not None:
            b = s
            for n, v in s["procs"].items():
                if v is not None:
                    last[n] = (s["t"], v)
    res = {}
    if a["load"] is not None and b is not None and b["t"] - a["t"] > 0.2:
        dt = b["t"] - a["t"]

        def pct(x, y, span=dt):
            return None if x is None or y is None else round(100.0 * (y - x) / HZ / span, 1)

        for n in procs:
            y = b["procs"][n]
            if y is None and n in last and last[n][0] - a["t"] > 0.2:
                res[n] = pct(a["procs"][n], last[n][1], last[n][0] - a["t"])
            else:
                res[n] = pct(a["procs"][n], y)
        res["load"] = pct(a["load"], b["load"])
        busy = (b["machine"][0] - a["machine"][0]) / max(b["machine"][1] - a["machine"][1], 1)
        res["machine_busy_cores"] = round(busy * NCPU, 2)
        ours = sum(v for v in res.values() if isinstance(v, (int, float))) / 100.0
        res["other_cores"] = round(max(res["machine_busy_cores"] - ours, 0.0), 2)
        res["window_s"] = round(dt, 2)
        th = {}
        for k, v in b["threads"].items():
            if k in a["threads"]:
                th[k] = pct(a["threads"][k], v)
        res["dmq_threads"] = {k: v for k, v in sorted(th.items(), key=lambda kv: -kv[1]) if v}
    with open(out, "w") as f:
        json.dump(res, f)


def quiet(max_s, threshold):
    deadline = time.monotonic() + float(max_s)
    while True:
        m0 = machine()
        time.sleep(1.0)
        m1 = machine()
        used = (m1[0] - m0[0]) / max(m1[1] - m0[1], 1) * NCPU
        if used < float(threshold):
            print(f"{used:.2f}")
            return 0
        if time.monotonic() > deadline:
            print(f"{used:.2f}")
            return 1


if __name__ == "__main__":
    if sys.argv[1] == "sample":
        sample(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif sys.argv[1] == "quiet":
        sys.exit(quiet(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
