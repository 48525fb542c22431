#!/usr/bin/env python3
"""Tables and JSON of the BullMQ peer (bench/bullmq.sh). See bench/bullmq/README.md.

line SCENARIO                 (a record on stdin) prints a one-line summary of one run
final SCENARIO RECORDS OUT START SETTINGS VERSIONS GIT
    aggregates RECORDS (one JSON record a line): median (min-max) over the runs, prints a
    markdown table, writes OUT (JSON: settings, versions, summary, every record).
"""
import datetime
import json
import os
import platform
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import result  # noqa: E402


def agg(recs, f):
    v = []
    for r in recs:
        try:
            x = f(r)
        except (KeyError, TypeError):
            x = None
        if x is not None:
            v.append(x)
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} if v else None


def fmt(a, d=0):
    if not a:
        return "-"
    return f"{a['median']:,.{d}f} ({a['min']:,.{d}f}–{a['max']:,.{d}f})"


def med(a, d=0):
    return "?" if not a else f"{a['median']:.{d}f}"


def line(sc, r):
    if sc == "w2":
        return (f"{r['jobs_per_s']:,.0f} jobs/s, {r['producer']['jobs']} added, delayed zset {r['delayed_zcard']}, "
                f"CPU node {r['cpu_pct'].get('node_producer')}% redis {r['cpu_pct'].get('redis')}% "
                f"others {r['cpu_pct'].get('other_cores')} cores")
    if sc == "w3":
        return (f"{r['deliveries_per_s']} deliveries/s, span {r['span_s']} s, lost {r['lost']}, "
                f"dup {r['duplicates']}, queue after {r['queue_after']}, CPU worker {r['cpu_pct'].get('worker')}% "
                f"redis {r['cpu_pct'].get('redis')}% nginx {r['cpu_pct'].get('nginx')}% others {r['cpu_pct'].get('other_cores')}")
    if sc == "w4":
        l = r["lateness_ms"]
        s = (f"lateness p50 {l['p50']:.1f} p99 {l['p99']:.1f} max {l['max']:.0f} min {l['min']:.0f} ms (n {l['n']}), "
             f"lost {r['lost']}, dup {r['duplicates']}, behind schedule {r['producer']['max_behind_schedule_ms']} ms")
        if r.get("load"):
            s += f", W2 load {r['load']['jobs_per_s']:,.0f} jobs/s"
        return s
    if sc == "w5":
        return (f"lost {r['lost']}, dup {r['duplicates']} (active at kill {r['active_at_kill']}), "
                f"kill→last delivery {r['recovery_s']} s, restart→first delivery {r['restart_to_first_delivery_s']} s, "
                f"queue after {r['queue_after']}")
    if sc == "memory":
        return f"{r['bytes_per_job']} bytes/job (used_memory), {r['dbsize']} keys"
    return json.dumps(r)


def cpu(recs, names):
    parts = [med(agg(recs, lambda r, n=n: r["cpu_pct"][n])) for n in names]
    return " / ".join(parts) + f"; {med(agg(recs, lambda r: r['cpu_pct']['other_cores']), 2)}"


def final(sc, recf, out, start, settings, versions, git):
    recs = [json.loads(l) for l in open(recf) if l.strip()]
    settings, versions = json.loads(settings), json.loads(versions)
    n = len(recs)
    summary, rows = {}, []
    print()
    print(f"BullMQ {versions['bullmq']} (node {versions['node']}, redis {versions['redis']}), scenario {sc}, "
          f"{start}, {n} run(s); median (min–max) over the runs")
    print()
    if sc == "w2":
        summary = {"jobs_per_s": agg(recs, lambda r: r["jobs_per_s"]),
                   "calls_per_s": agg(recs, lambda r: r["producer"]["calls_per_s"]),
                   "call_ms_p50": agg(recs, lambda r: r["producer"]["call_ms_p50"]),
                   "call_ms_p99": agg(recs, lambda r: r["producer"]["call_ms_p99"]),
                   **{f"cpu_{k}": agg(recs, lambda r, k=k: r["cpu_pct"][k]) for k in ("node_producer", "redis", "other_cores")},
                   **{f"cpu_us_per_job_{k}": agg(recs, lambda r, k=k: r["cpu_pct"][k] / 100 / r["jobs_per_s"] * 1e6) for k in ("node_producer", "redis")}}
        print("| scenario | jobs/s | addBulk calls/s | call p50 ms | call p99 ms | CPU, % of a core: node producer / redis; others, cores | CPU µs per job: node / redis | delayed zset = jobs added |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| W2 addBulk, {settings['batch']} delayed jobs a call, {settings['inflight']} calls in flight, 1 process | "
              f"**{fmt(summary['jobs_per_s'])}** | {fmt(summary['calls_per_s'])} | {fmt(summary['call_ms_p50'], 1)} | "
              f"{fmt(summary['call_ms_p99'], 1)} | {cpu(recs, ['node_producer', 'redis'])} | "
              f"{med(summary['cpu_us_per_job_node_producer'])} / {med(summary['cpu_us_per_job_redis'])} | "
              f"{sum(r['ok'] for r in recs)}/{n} runs |")
    elif sc == "w3":
        summary = {"deliveries_per_s": agg(recs, lambda r: r["deliveries_per_s"]),
                   "span_s": agg(recs, lambda r: r["span_s"]),
                   "start_to_first_s": agg(recs, lambda r: r["start_to_first_s"]),
                   "start_to_last_s": agg(recs, lambda r: r["start_to_last_s"]),
                   "preload_jobs_per_s": agg(recs, lambda r: r["preload"]["jobs_per_s"]),
                   **{f"cpu_{k}": agg(recs, lambda r, k=k: r["cpu_pct"][k]) for k in ("worker", "redis", "nginx", "other_cores")},
                   # CPU time over the sampled window (from 0.5 s after the worker's spawn, node's start-up included) / jobs
                   **{f"cpu_us_per_delivery_{k}": agg(recs, lambda r, k=k: r["cpu_pct"][k] / 100 * r["cpu_pct"]["window_s"] / r["sink"]["posted"] * 1e6)
                      for k in ("worker", "redis", "nginx")},
                   "lost": sum(r["lost"] for r in recs), "duplicates": sum(r["duplicates"] for r in recs)}
        print("| scenario | deliveries/s | first → last delivery, s | worker start → first / last delivery, s | CPU, % of a core: worker / redis / nginx; others, cores | CPU µs per delivery: worker / redis / nginx | lost / duplicate | preload jobs/s |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| W3 drain of {settings['n']:,} due jobs ({settings['due_as']}), Worker concurrency {settings['worker_concurrency']} | "
              f"**{fmt(summary['deliveries_per_s'])}** | {fmt(summary['span_s'], 2)} | {med(summary['start_to_first_s'], 2)} / "
              f"{fmt(summary['start_to_last_s'], 2)} | {cpu(recs, ['worker', 'redis', 'nginx'])} | "
              f"{' / '.join(med(summary['cpu_us_per_delivery_' + k]) for k in ('worker', 'redis', 'nginx'))} | "
              f"{summary['lost']} / {summary['duplicates']} | {fmt(summary['preload_jobs_per_s'])} |")
    elif sc == "w4":
        summary = {k: agg(recs, lambda r, k=k: r["lateness_ms"][k]) for k in ("p50", "p99", "max", "min")}
        summary["deliveries"] = sum(r["lateness_ms"]["n"] for r in recs)
        summary["max_behind_schedule_ms"] = agg(recs, lambda r: r["producer"]["max_behind_schedule_ms"])
        summary["load_jobs_per_s"] = agg(recs, lambda r: r["load"]["jobs_per_s"]) if settings.get("load") else None
        for k in ("worker", "redis", "nginx", "node_producer", "loadgen", "other_cores"):
            summary[f"cpu_{k}"] = agg(recs, lambda r, k=k: r["cpu_pct"][k])
        summary["lost"] = sum(r["lost"] for r in recs)
        summary["duplicates"] = sum(r["duplicates"] for r in recs)
        names = ["worker", "redis", "nginx", "node_producer"] + (["loadgen"] if settings.get("load") else [])
        label = "W4 lateness" + (" under W2 load" if settings.get("load") else "")
        print(f"| scenario | deliveries ({n} runs) | p50 ms | p99 ms | max ms | min ms | producer max behind schedule, ms | W2 load jobs/s | CPU, % of a core: {' / '.join(names)}; others, cores | lost / duplicate |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {label}: {settings['rate']:,} jobs/s × {settings['seconds']} s, delay {settings['delay_ms']} ms | "
              f"{summary['deliveries']:,} | **{fmt(summary['p50'], 1)}** | **{fmt(summary['p99'], 1)}** | {fmt(summary['max'])} | "
              f"{fmt(summary['min'])} | {fmt(summary['max_behind_schedule_ms'], 1)} | {fmt(summary['load_jobs_per_s'])} | "
              f"{cpu(recs, names)} | {summary['lost']} / {summary['duplicates']} |")
    elif sc == "w5":
        summary = {"lost": sum(r["lost"] for r in recs), "duplicates": sum(r["duplicates"] for r in recs),
                   "duplicates_per_run": agg(recs, lambda r: r["duplicates"]),
                   "active_at_kill": agg(recs, lambda r: r["active_at_kill"]),
                   "deliveries_before_kill": agg(recs, lambda r: r["deliveries_before_kill"]),
                   "recovery_s": agg(recs, lambda r: r["recovery_s"]),
                   "restart_to_first_delivery_s": agg(recs, lambda r: r["restart_to_first_delivery_s"]),
                   "active_first_redelivery_after_kill_s": agg(recs, lambda r: r["active_at_kill_first_redelivery_after_kill_s"])}
        print("| scenario | lost | duplicates | jobs active at the kill | deliveries before the kill | kill → last delivery (recovery), s | kill → first redelivery of a job active at the kill, s | restart → first delivery, s |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| W5 kill -9 of the Worker {settings['kill_after_first_delivery_s']} s after its first delivery, drain of {settings['n']:,} due jobs, restart at once | "
              f"**{summary['lost']}** | {fmt(summary['duplicates_per_run'])} | {fmt(summary['active_at_kill'])} | "
              f"{fmt(summary['deliveries_before_kill'])} | **{fmt(summary['recovery_s'], 1)}** | "
              f"{fmt(summary['active_first_redelivery_after_kill_s'], 1)} | {fmt(summary['restart_to_first_delivery_s'], 2)} |")
    elif sc == "memory":
        summary = {"bytes_per_job": agg(recs, lambda r: r["bytes_per_job"]),
                   "dataset_bytes_per_job": agg(recs, lambda r: r["dataset_bytes_per_job"]),
                   "memory_usage_sum_per_job": agg(recs, lambda r: r["breakdown"]["memory_usage_sum_per_job"]),
                   "rest_per_job": agg(recs, lambda r: r["bytes_per_job"] - r["breakdown"]["memory_usage_sum_per_job"]),
                   "keys_per_job": agg(recs, lambda r: r["dbsize"] / r["jobs"])}
        print("| scenario | used_memory bytes/job | used_memory_dataset bytes/job | Σ MEMORY USAGE bytes/job | rest (used_memory − Σ MEMORY USAGE) bytes/job | keys/job |")
        print("|---|---|---|---|---|---|")
        print(f"| {settings['jobs']:,} delayed jobs (delay {settings['delay_ms']} ms), default options | "
              f"**{fmt(summary['bytes_per_job'])}** | {fmt(summary['dataset_bytes_per_job'])} | "
              f"{fmt(summary['memory_usage_sum_per_job'])} | {fmt(summary['rest_per_job'])} | {fmt(summary['keys_per_job'], 2)} |")
        last = recs[-1]["breakdown"]
        print()
        print(f"Breakdown (run {recs[-1]['run']}, MEMORY USAGE … SAMPLES 0 per key):")
        print()
        print("| key | keys | type / encoding | elements | bytes | bytes/job |")
        print("|---|---|---|---|---|---|")
        for k, e in sorted(last["kinds"].items(), key=lambda kv: -kv[1]["bytes"]):
            print(f"| `{k}` | {e['keys']:,} | {e['type']} / {e['encoding']} | {e.get('elements', e.get('fields', '-'))} | "
                  f"{e['bytes']:,} | {e['bytes_per_job']} |")
        jf = last.get("job_fields") or {}
        print()
        print("Job hash fields (bytes): " + ", ".join(f"{f} {v['bytes']}" for f, v in jf.items()) +
              f"; Redis limits {last.get('redis_hash_limits')}")
    print()
    bad = [str(r["run"]) for r in recs if not r.get("ok", True)]
    print(f"Runs not OK (lost / duplicate / unexpected delivery, jobs left, or count mismatch): {', '.join(bad) or 'none'}")
    noisy = [str(r["run"]) for r in recs if not r.get("settle", {}).get("quiet", True)]
    if noisy:
        print(f"Measured while the machine was busy with other work: run(s) {', '.join(noisy)}")
    for r in recs:
        r.setdefault("case", sc)
    head = {"w2": [("jobs/s", ["jobs_per_s"])], "w3": [("deliveries/s", ["deliveries_per_s"])],
            "w4": [("p99 ms", ["p99"])], "w5": [("recovery s", ["recovery_s"])],
            "memory": [("bytes/job", ["bytes_per_job"])]}[sc]
    result.write("bullmq", recs, summary, {**settings, "runs": settings.get("runs", n)},
                 variant=sc + ("-" + settings["load"] if settings.get("load") else ""),
                 title=f"BullMQ peer, scenario {sc} (issue 4)", headline=head, started=start,
                 extra={"versions": versions, "git_commit": git,
                        "note": "node, redis-server and nginx share this machine with other work"},
                 path=out)
    print(f"SUMMARY {json.load(open(out))['summary']}")
    print(f"Results: {out}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["line"] and len(sys.argv) == 3:
        print(line(sys.argv[2], json.loads(sys.stdin.read())))
    elif sys.argv[1:2] == ["final"] and len(sys.argv) == 9:
        final(*sys.argv[2:])
    else:
        sys.exit(__doc__)
