"""Benchmarks that print a table: whole-process evaluate time, engine and oracle throughput, memory.

    python benchmarks/bench.py [--communes N]

Synthetic communes are drawn around the shipped thresholds (most indicators met, a tail of weak ones,
some missing facts, some special-rule communes), evaluated through durable-rules on fresh sids.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from fractions import Fraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ntm.criteria.dossier import Observation  # noqa: E402
from ntm.criteria.loader import load_ruleset  # noqa: E402
from ntm.criteria.model import _walk_thresholds  # noqa: E402
from ntm.criteria.resolve import resolve  # noqa: E402
from ntm.engine import oracle  # noqa: E402
from ntm.engine.malloc import tune  # noqa: E402
from ntm.engine.run import run_engine  # noqa: E402


def synthetic(rs, n: int, seed: int = 7):
    rng = random.Random(seed)
    regions = [r.id for r in rs.regions]
    res_cache = {}
    out = []
    for i in range(n):
        region = rng.choice(regions)
        year = rng.choice([2022, 2023, 2024, 2025])
        flags = ("especially_difficult",) if rng.random() < 0.08 else ()
        key = (region, year, flags)
        if key not in res_cache:
            res_cache[key] = resolve(rs, "commune", region, year, flags)
        res = res_cache[key]
        weak = rng.random() < 0.15
        obs = {}
        for tier in res.tiers:
            for c in tier.criteria:
                for ind in c.indicators:
                    for cond in ind.conditions:
                        if cond.fact in obs or rng.random() < 0.01:
                            continue
                        t = cond.threshold.value
                        ok = rng.random() > (0.35 if weak else 0.03)
                        if cond.op == "is_true":
                            obs[cond.fact] = Observation(ok, "value", None)
                        elif t is None:
                            obs[cond.fact] = Observation(Fraction(rng.randint(0, 100)), "value", None)
                        else:
                            t = Fraction(t)
                            delta = Fraction(rng.randint(0, 500), 100)
                            up = cond.op in (">=", ">")
                            v = t + delta if ok == up else t - delta - Fraction(1, 100)
                            if cond.op == "==":
                                v = t if ok else t + 1
                            obs[cond.fact] = Observation(max(v, Fraction(0)), "value", None)
        if rng.random() < 0.3:
            obs["has_traditional_craft"] = Observation(rng.random() < 0.5, "value", None)
        out.append((res, obs))
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def whole_process(runs: int = 5) -> list[float]:
    ex = os.path.join(ROOT, "examples")
    cmd = [sys.executable, "-m", "ntm.cli", "evaluate", os.path.join(ex, "xa-dat-chuan.yaml"), "--overlay",
           os.path.join(ex, "overlays", "tinh-minh-hoa.yaml"), "-f", "json"]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return times


def provenance_counts(rs):
    counts = {"verified": 0, "provisional": 0, "missing": 0}
    for ls in rs.levels:
        for t in ls.tiers:
            for c in t.criteria:
                for i in c.indicators:
                    for cond in i.conditions:
                        for _, th in _walk_thresholds(cond.threshold, ()):
                            if th.by_region is None and th.by_year is None:
                                counts["provisional" if th.ref else (th.status or "missing")] += 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--communes", type=int, default=3000)
    args = ap.parse_args()
    lr = load_ruleset("vn-2021-2025")
    rows = []
    times = whole_process()
    rows.append(("ntm evaluate, whole process (median of 5)", f"{statistics.median(times):.3f} s", ""))
    data = synthetic(lr.ruleset, args.communes)
    run_engine(*data[0])  # compile outside the timing
    t0 = time.perf_counter()
    for res, obs in data:
        run_engine(res, obs)
    dt = time.perf_counter() - t0
    rows.append((f"engine, {len(data)} communes, default malloc", f"{len(data) / dt:,.0f} communes/s", f"{dt:.2f} s"))
    tuned = tune()
    t0 = time.perf_counter()
    disagreements = 0
    for res, obs in data:
        v = run_engine(res, obs).verdict
        disagreements += v != oracle.evaluate(res, obs)
    dt2 = time.perf_counter() - t0
    t0 = time.perf_counter()
    for res, obs in data:
        oracle.evaluate(res, obs)
    dto = time.perf_counter() - t0
    rows.append((f"engine + oracle check, malloc tuned={tuned}", f"{len(data) / (dt2 - dto):,.0f} communes/s",
                 f"{dt2 - dto:.2f} s"))
    rows.append(("reference evaluator (oracle)", f"{len(data) / dto:,.0f} communes/s", f"{dto:.2f} s"))
    rows.append(("engine/oracle disagreements", str(disagreements), f"of {len(data)}"))
    rows.append(("peak RSS of this process", f"{peak_rss_mb():.0f} MB", ""))
    pc = provenance_counts(lr.ruleset)
    rows.append(("thresholds in vn-2021-2025 (cells)", " / ".join(f"{k} {v}" for k, v in pc.items()), ""))
    w = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(w)}  {'value':>24}  note")
    print("-" * (w + 40))
    for name, value, note in rows:
        print(f"{name.ljust(w)}  {value:>24}  {note}")


if __name__ == "__main__":
    main()
