#!/usr/bin/env python3
"""The one result format of every benchmark scenario (bench/README.md, "Result format").

As a module (scenarios' report steps: sys.path.insert(0, "bench/lib"); import result):
    result.agg(values)                    -> {"median", "min", "max", "runs"} or None
    result.by_case(records, figures)      -> {case: {figure: agg}} (figure: key or function)
    result.write(scenario, records, medians, params, ...) -> the path written
As a command (bench/run):
    result.py summary FILE                the one-line summary of a result file
    result.py peer FILE PEER_FILE FIGURE PEER_FIGURE
                                          adds PEER_FILE's medians and the ratio of FIGURE
                                          (a path a.b.c into medians) to PEER_FIGURE into FILE

A result file (JSON, bench/results/<scenario>[-<variant>]-<UTC stamp>.json):
    format       "dmq-bench/1"
    scenario, variant, title, command, started_utc, finished_utc
    git          {"rev", "branch", "dirty" (src/ has uncommitted changes)}
    machine      {"cpus", "kernel", "cpu_model", "mem_total_mb", "tools": {redis, nginx, ...}}
    params       the scenario's knobs as run ("runs" among them)
    runs         how many rounds
    records      one per run and case: {"case", "run", "ok", figures...}
    medians      {case: {figure: {"median", "min", "max", "runs": [...]}}}
    extra        what else the scenario reports (ratios, captured commands, ...)
    peer         null, or {"scenario", "result", "medians", "ratios"} (bench/run --peer)
    ok           every record ok; failed_runs, busy_runs (measured on a busy machine)
    summary      the one-line summary
"""
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

FORMAT = "dmq-bench/1"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bench/
ROOT = os.path.dirname(HERE)


def agg(values):
    v = [x for x in values if x is not None]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} if v else None


def pick(r, f):
    try:
        return f(r) if callable(f) else r.get(f)
    except (KeyError, TypeError, AttributeError):
        return None


def by_case(records, figures):
    """{case: {name: agg}}; figures: {name: key or function of a record}"""
    cases = {}
    for r in records:
        cases.setdefault(r.get("case"), []).append(r)
    return {c: {n: agg([pick(r, f) for r in rs]) for n, f in figures.items()} for c, rs in cases.items()}


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def git_info():
    g = lambda *a: _run("git", "-C", ROOT, *a)
    return {"rev": g("rev-parse", "HEAD"), "branch": g("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(g("status", "--porcelain", "--", "src"))}


def machine():
    cpu_model, mem = None, None
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
                break
    except OSError:
        pass
    tools = {}
    for name, cmd in (("redis", ["redis-server", "--version"]), ("nginx", ["nginx", "-v"]),
                      ("wrk", ["wrk", "-v"])):
        if shutil.which(cmd[0]):
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
                tools[name] = ((p.stdout or p.stderr).strip().splitlines() or [""])[0]
            except (OSError, subprocess.SubprocessError):
                pass
    return {"cpus": os.cpu_count(), "kernel": platform.release(), "cpu_model": cpu_model,
            "mem_total_mb": mem, "loadavg": os.getloadavg()[0], "tools": tools}


def get(d, path):
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def fmt(a, d=None):
    if not a:
        return "-"
    if d is None:
        d = 0 if abs(a["median"]) >= 100 else 2
    return f"{a['median']:,.{d}f} ({a['min']:,.{d}f}–{a['max']:,.{d}f})"


def summary_line(doc):
    """<scenario>[ <variant>]: <label> median (min–max), ...; N runs; ok | FAILED ..."""
    name = doc["scenario"] + (f" {doc['variant']}" if doc.get("variant") else "")
    parts = []
    for label, path in doc.get("headline") or []:
        a = get(doc.get("medians"), path)
        if a:
            parts.append(f"{label} {fmt(a)}")
    if doc.get("peer") and doc["peer"].get("ratios"):
        parts += [f"dmq ÷ {doc['peer']['scenario']} {v:.2f}×" for v in doc["peer"]["ratios"].values() if v]
    state = "ok" if doc.get("ok") else "FAILED: " + ", ".join(doc.get("failed_runs") or ["?"])
    b = doc.get("busy_runs") or []
    busy = ""
    if b:
        busy = "; busy machine: " + (", ".join(b) if len(b) <= 6 else f"{len(b)} of {len(doc['records'])} runs")
    return f"{name}: {'; '.join(parts) or 'no figures'}; {doc.get('runs')} run(s); {state}{busy}"


def write(scenario, records, medians, params, variant=None, title=None, extra=None,
          headline=None, started=None, path=None):
    """writes the result file (BENCH_RESULT if bench/run set it) and returns its path.
    headline: [(label, [path into medians])] for the one-line summary."""
    for r in records:
        r.setdefault("case", r.get("scenario", "all"))
        r.setdefault("ok", True)
    tag = lambda r: f"{r['case']}#{r.get('run')}"
    doc = {
        "format": FORMAT, "scenario": scenario, "variant": variant or None,
        "title": title or scenario, "command": os.environ.get("BENCH_COMMAND"),
        "started_utc": started or os.environ.get("BENCH_STARTED") or now_utc(),
        "finished_utc": now_utc(), "git": git_info(), "machine": machine(),
        "params": params, "runs": params.get("runs"), "records": records, "medians": medians,
        "extra": extra or {}, "peer": None, "headline": headline or [],
        "ok": all(r["ok"] for r in records) and bool(records),
        "failed_runs": [tag(r) for r in records if not r["ok"]],
        "busy_runs": [tag(r) for r in records if not (r.get("settle") or {}).get("quiet", True)],
    }
    doc["summary"] = summary_line(doc)
    if not path:
        path = os.environ.get("BENCH_RESULT")
    if not path:
        name = scenario + (f"-{variant}" if variant else "")
        path = os.path.join(HERE, "results", f"{name}-{stamp()}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
    return path


def add_peer(path, peer_path, figure, peer_figure):
    doc, peer = json.load(open(path)), json.load(open(peer_path))
    a, b = get(doc.get("medians"), figure.split(".")), get(peer.get("medians"), peer_figure.split("."))
    ratio = a["median"] / b["median"] if a and b and b["median"] else None
    doc["peer"] = {"scenario": peer["scenario"] + (f" {peer['variant']}" if peer.get("variant") else ""),
                   "result": os.path.relpath(peer_path, ROOT), "medians": peer.get("medians"),
                   "ok": peer.get("ok"), "ratios": {f"{figure} / {peer_figure}": ratio}}
    doc["summary"] = summary_line(doc)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
    return doc


def main(argv):
    if len(argv) == 3 and argv[1] == "summary":
        print(json.load(open(argv[2])).get("summary"))
    elif len(argv) == 6 and argv[1] == "peer":
        print(add_peer(*argv[2:])["summary"])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
