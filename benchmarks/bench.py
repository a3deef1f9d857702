"""Benchmarks that print a table (measured, never asserted in tests).

    python benchmarks/bench.py                 # 2,000 synthetic communes (about a minute)
    python benchmarks/bench.py --communes 10000 --agreement 10000  # the national figures (about half an hour)

Measures: one `ntm evaluate` as a whole process (wall time, peak RSS); full evaluations (validation, engine,
explanation) per second with 1 and 2 worker processes; the engine alone; the reference evaluator; what-if
latency; peak memory; engine/oracle disagreements over every commune and tier; provenance counts per tier.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import national  # noqa: E402

from ntm.criteria.dossier import dossier_from_source, observations  # noqa: E402
from ntm.criteria.loader import load_ruleset, shipped_paths  # noqa: E402
from ntm.criteria.model import _walk_thresholds  # noqa: E402
from ntm.criteria.yamlsrc import Source  # noqa: E402
from ntm.engine import oracle  # noqa: E402
from ntm.engine.evaluate import Inputs, evaluate, resolved_for  # noqa: E402
from ntm.engine.malloc import tune  # noqa: E402
from ntm.engine.run import run_engine  # noqa: E402

_LR = None
_LO = None
OVERLAY = os.path.join(ROOT, "examples", "overlays", "tinh-minh-hoa.yaml")


def _inputs(data: dict) -> Inputs:
    """Like `gather`, from in-memory data, with the example overlay (without it 12.3 is never decided)."""
    global _LR, _LO
    if _LR is None:
        from ntm.criteria.loader import LoadedRuleset
        from ntm.criteria.overlay import load_overlay, merge

        base = load_ruleset("vn-2021-2025")
        _LO = load_overlay(OVERLAY, base.ruleset)
        _LR = LoadedRuleset(merge(base.ruleset, _LO.overlay), base.path, base.sha256)
    return Inputs(dossier_from_source(Source(data, {}, data["unit"]["code"])), _LR, _LO)


def _evaluate_chunk(chunk: list[dict]) -> list[tuple]:
    out = []
    for data in chunk:
        o = evaluate(_inputs(data))
        out.append(tuple(t.status for t in o.tiers))
    return out


def _init_worker() -> None:
    tune()


def whole_process(runs: int = 5) -> tuple[float, float]:
    ex = os.path.join(ROOT, "examples")
    cmd = ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "ntm.cli", "evaluate",
           os.path.join(ex, "xa-dat-chuan.yaml"), "--overlay", os.path.join(ex, "overlays", "tinh-minh-hoa.yaml"),
           "-f", "json"]
    if not os.path.exists("/usr/bin/time"):
        cmd = cmd[3:]
    times, rss = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
        if cmd[0] == "/usr/bin/time":
            rss.append(int(p.stderr.strip().splitlines()[-1]) / 1024)
    return statistics.median(times), (max(rss) if rss else float("nan"))


def provenance_rows():
    rows = []
    for rid, path in shipped_paths().items():
        rs = load_ruleset(path).ruleset
        for ls in rs.levels:
            for t in ls.tiers:
                counts = {"verified": 0, "provisional": 0, "missing": 0}
                for c in t.criteria:
                    for i in c.indicators:
                        for cond in i.conditions:
                            for _, th in _walk_thresholds(cond.threshold, ()):
                                if th.by_region is None and th.by_year is None:
                                    counts["provisional" if th.ref else (th.status or "missing")] += 1
                rows.append((f"thresholds {rid} {ls.level}/{t.id}",
                             f"{counts['verified']} / {counts['provisional']} / {counts['missing']}",
                             "verified / provisional / missing"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--communes", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=None,
                    help="communes in the `ntm batch` run with 1 and 2 workers (default: --communes; 0 skips)")
    ap.add_argument("--district", type=int, default=30, help="communes in the planned district (0 skips planning)")
    ap.add_argument("--province", type=int, default=600, help="communes in the planned province")
    ap.add_argument("--agreement", type=int, default=1000,
                    help="random dossiers per shipped ruleset and level for engine/oracle agreement (0 skips)")
    args = ap.parse_args()
    rows = []
    wall, rss = whole_process()
    rows.append(("ntm evaluate, one whole process (median of 5)", f"{wall:.3f} s", f"peak RSS {rss:.0f} MB"))

    t0 = time.perf_counter()
    _inputs({"unit": {"level": "commune", "code": "0", "name": "x", "region": "BTB"}, "assessment": {"year": 2024}})
    data = national.communes(args.communes, ruleset=_LR.ruleset, overlay=_LO)
    rows.append((f"generate {len(data)} synthetic communes", f"{time.perf_counter() - t0:.1f} s", ""))
    tune()
    _evaluate_chunk(data[:5])  # compile outside the timings

    t0 = time.perf_counter()
    statuses = _evaluate_chunk(data)
    dt1 = time.perf_counter() - t0
    rows.append(("full evaluation, 1 process (all commune tiers)", f"{len(data) / dt1:,.0f} communes/s",
                 f"{dt1:.1f} s"))

    for workers in (2,):
        chunks = [data[i::workers * 8] for i in range(workers * 8)]
        t0 = time.perf_counter()
        with mp.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
            parts = pool.map(_evaluate_chunk, chunks)
        dtw = time.perf_counter() - t0
        rows.append((f"full evaluation, {workers} worker processes", f"{len(data) / dtw:,.0f} communes/s",
                     f"{dtw:.1f} s incl. pool start"))
        assert sum(len(p) for p in parts) == len(data)

    prepared = []
    for d in data:
        inp = _inputs(d)
        prepared.append((resolved_for(inp), observations(inp.dossier, inp.ruleset.ruleset)))
    t0 = time.perf_counter()
    verdicts = [run_engine(res, obs).verdict for res, obs in prepared]
    dte = time.perf_counter() - t0
    rows.append(("engine alone (durable-rules, fresh session each)", f"{len(data) / dte:,.0f} communes/s",
                 f"{dte:.1f} s"))
    t0 = time.perf_counter()
    refs = [oracle.evaluate(res, obs) for res, obs in prepared]
    dto = time.perf_counter() - t0
    rows.append(("reference evaluator (oracle)", f"{len(data) / dto:,.0f} communes/s", f"{dto:.2f} s"))
    disagree = sum(1 for a, b in zip(verdicts, refs) if a != b)
    decisions = sum(len(v) for v in verdicts)
    rows.append(("engine/oracle disagreements (every tier, criterion, indicator)", str(disagree),
                 f"of {len(data)} communes, {decisions:,} decisions"))

    inp = _inputs(data[0])
    evaluate(inp, extra={"income_per_capita": 80})
    lat = []
    for k in range(200):
        t0 = time.perf_counter()
        evaluate(inp, extra={"income_per_capita": 40 + k % 50, "alley_hardened_pct": 50 + k % 50})
        lat.append(time.perf_counter() - t0)
    rows.append(("what-if (one scenario, full re-evaluation)", f"{statistics.median(lat) * 1000:.1f} ms",
                 f"p95 {sorted(lat)[int(len(lat) * 0.95)] * 1000:.1f} ms"))

    import bench_whatif

    wi = bench_whatif.bench_whatif(200)
    rows.append(("what-if via `whatif()` (baseline + 1 scenario)", f"{wi['per_call_ms_median']:.1f} ms",
                 f"p95 {wi['per_call_ms_p95']:.1f} ms; marginal scenario {wi['per_scenario_ms']:.1f} ms"))

    if args.district:
        import bench_plan

        pl = bench_plan.bench(args.district, args.province)
        rows.append((f"plan a {pl['district_communes']}-commune district to standard (with budget)",
                     f"{pl['district_seconds']:.1f} s", f"{pl['district_must_lift']} communes to lift; district "
                     f"reaches target after plan: {pl['district_reaches_target']}"))
        rows.append((f"plan a {pl['province_communes']}-commune province (budget)",
                     f"{pl['province_budget_seconds']:.1f} s", f"{pl['province_below_target']} below standard; "
                     f"plans re-evaluated to met: {pl['province_plans_verified']}; "
                     f"+targets {pl['province_budget_targets_seconds']:.1f} s"))

    n_batch = args.communes if args.batch is None else args.batch
    if n_batch:
        import bench_batch

        bb = bench_batch.bench(n_batch, (1, 2))
        for r in bb["runs"]:
            rows.append((f"`ntm batch` of {bb['n']:,} communes (CSV), {r['jobs']} worker(s), isolated",
                         f"{r['units_per_s']:,.0f} communes/s", f"{r['seconds']:.1f} s; peak RSS batch "
                         f"{r['peak_rss_batch_mib']:.0f} MiB, worker {r['peak_rss_worker_mib']:.0f} MiB; "
                         f"{r['errors']} errors"))

    if args.agreement:
        import agreement

        ag = agreement.run(args.agreement, jobs=2)
        by_cfg: dict[str, list[int]] = {}
        for r in ag:
            cell = by_cfg.setdefault(f"{r['ruleset']} {r['level']}", [0, 0])
            cell[0] += r["decisions"]
            cell[1] += r["disagreements"]
        for name, (dec, bad) in by_cfg.items():
            rows.append((f"engine/oracle agreement, {args.agreement:,} random dossiers: {name}", str(bad),
                         f"disagreements in {dec:,} decisions (every tier)"))

    for k, tier in enumerate(("standard", "advanced", "model")):
        met = sum(1 for s in statuses if len(s) > k and s[k] == "met")
        rows.append((f"synthetic communes meeting the {tier} tier", f"{met / len(data):.0%}", ""))
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows.append(("peak RSS: this process / largest child", f"{self_rss:.0f} MB / {child_rss:.0f} MB",
                 "dataset and all results held in memory"))
    rows += provenance_rows()

    w = max(len(r[0]) for r in rows)
    v = max(len(r[1]) for r in rows)
    print(f"{'measure'.ljust(w)}  {'value'.rjust(v)}  note")
    print("-" * (w + v + 40))
    for name, value, note in rows:
        print(f"{name.ljust(w)}  {value.rjust(v)}  {note}")


if __name__ == "__main__":
    main()
