"""Batch throughput and peak memory: N synthetic communes (benchmarks/national.py) as one CSV, evaluated by
`ntm batch` with 1 and 2 isolated workers.

    python benchmarks/bench_batch.py [N] [JOBS...]      # default: 10000 communes, jobs 1 and 2

Each configuration runs in its own process, so the peak RSS figures are its own: `batch` is the orchestrating
process (input rows, results, summary), `worker` the largest engine worker. CPU ms/unit (all processes) is the
figure to compare on a busy machine, where wall-clock throughput depends on what else is running.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
OVERLAY = os.path.join(HERE, "..", "examples", "overlays", "tinh-minh-hoa.yaml")  # decides 12.3; adds a fact


def write_csv(n: int, path: str, seed: int = 2025) -> int:
    """The national dataset as a batch CSV (fact ids as headers; empty cell = not given)."""
    from national import communes

    from ntm.criteria.loader import LoadedRuleset, load_ruleset
    from ntm.criteria.overlay import load_overlay, merge

    base = load_ruleset("vn-2021-2025")
    lo = load_overlay(OVERLAY, base.ruleset)
    data = communes(n, seed=seed, ruleset=LoadedRuleset(merge(base.ruleset, lo.overlay), base.path, base.sha256).ruleset,
                    overlay=lo)
    facts: list[str] = []
    seen = set()
    for d in data:
        for k in d["facts"]:
            if k not in seen:
                seen.add(k)
                facts.append(k)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "district", "region", "flags", "year", *facts])
        for d in data:
            u, f = d["unit"], d["facts"]
            w.writerow([u["code"], u["name"], u["district"], u["region"], ";".join(u["flags"]), d["assessment"]["year"],
                        *[cell(f.get(k)) for k in facts]])
    return len(data)


def cell(v) -> str:
    """A value as an unambiguous cell: '14.212' could be Vietnamese for 14212, so write '14.2120'."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    s = str(v)
    if "." in s and len(s.split(".")[1]) == 3:
        s += "0"
    return s


def _own_peak_kib(fallback: float) -> float:
    """This process's own peak (VmHWM): ru_maxrss survives exec, so a child started by a big benchmark process
    would report its parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return fallback


def _one(path: str, jobs: int) -> dict:
    from ntm.batch.run import run_batch

    t0 = time.perf_counter()
    doc = run_batch(path, overlay=OVERLAY, jobs=jobs)
    wall = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    kib = 1024 if sys.platform != "darwin" else 1
    return {"jobs": jobs, "units": doc["summary"]["units"], "evaluated": doc["summary"]["evaluated"],
            "errors": doc["summary"]["errors"], "seconds": round(wall, 2),
            "units_per_s": round(doc["summary"]["units"] / wall, 1),
            "cpu_ms_per_unit": round(1000 * cpu / doc["summary"]["units"], 1),
            "peak_rss_batch_mib": round(_own_peak_kib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib / 1024)
                                        / 1024, 1),
            "peak_rss_worker_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib / 2**20, 1)}


def bench(n: int = 10_000, jobs=(1, 2)) -> dict:
    """{n, runs: [{jobs, seconds, units_per_s, peak_rss_batch_mib, peak_rss_worker_mib, ...}]}"""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "national.csv")
        write_csv(n, path)
        runs = []
        for j in jobs:
            r = subprocess.run([sys.executable, __file__, "--one", path, str(j)], capture_output=True, text=True,
                               check=True)
            runs.append(json.loads(r.stdout))
    return {"n": n, "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "runs": runs}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(_one(sys.argv[2], int(sys.argv[3]))))
        sys.exit(0)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    jobs = tuple(int(x) for x in sys.argv[2:]) or (1, 2)
    res = bench(n, jobs)
    print(f"{res['n']} communes, {res['cpus']} CPU(s)")
    print(f"{'jobs':>4} {'seconds':>8} {'units/s':>8} {'CPU ms/unit':>11} {'batch MiB':>10} {'worker MiB':>11} "
          f"{'errors':>6}")
    for r in res["runs"]:
        print(f"{r['jobs']:>4} {r['seconds']:>8} {r['units_per_s']:>8} {r['cpu_ms_per_unit']:>11} "
              f"{r['peak_rss_batch_mib']:>10} {r['peak_rss_worker_mib']:>11} {r['errors']:>6}")
