"""Every speed figure of issue #14 in one table (measured, never asserted in tests).

    python benchmarks/issue14.py                    # all figures (about 3 minutes on an idle 2-core machine)
    python benchmarks/issue14.py --only startup,whatif,plan --batch 2000
    python benchmarks/issue14.py --json OUT.json    # also write the raw figures (to compare before/after)

Figures: one `ntm evaluate` as a whole process (shipped example with the example overlay) and `ntm --help`
(median wall and CPU of several runs, with the `-X importtime` tops); `ntm batch` of N synthetic communes, all
tiers, `--jobs 2` (units/s, peak RSS of the batch process + its workers); what-if, one scenario, warm; plan for
one commune, a 30-commune district and a 600-commune province with a budget and targets. Wall time on a shared
machine depends on what else runs: the CPU column is the stable one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

EX = os.path.join(ROOT, "examples")
OVERLAY = os.path.join(EX, "overlays", "tinh-minh-hoa.yaml")
COSTS = os.path.join(EX, "costs", "chi-phi-minh-hoa.yaml")
TARGETS = os.path.join(EX, "targets", "muc-tieu-minh-hoa.yaml")
NTM = [sys.executable, "-m", "ntm"]


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def whole(cmd: list[str], runs: int) -> dict:
    """Median wall and CPU seconds of a command run as a fresh process."""
    walls, cpus = [], []
    subprocess.run(cmd, capture_output=True, cwd=ROOT)  # page cache warm
    for _ in range(runs):
        c0, t0 = _child_cpu(), time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, cwd=ROOT)
        walls.append(time.perf_counter() - t0)
        cpus.append(_child_cpu() - c0)
        if p.returncode not in (0, 1):
            raise RuntimeError(p.stderr.decode()[-2000:])
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "min_wall_s": min(walls)}


def import_tops(cmd: list[str], n: int = 12) -> list[tuple[float, str]]:
    """The top-level imports with the largest cumulative import time (`-X importtime`), in ms."""
    p = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True, cwd=ROOT)
    rows = []
    for line in p.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cum_us, name = line[len("import time:"):].split("|", 2)
        if name.startswith("  "):  # nested: counted in its importer's cumulative time
            continue
        rows.append((int(cum_us) / 1000, name.strip()))
    return sorted(rows, reverse=True)[:n]


def startup(runs: int) -> dict:
    ev = [*NTM, "evaluate", os.path.join(EX, "xa-dat-chuan.yaml"), "--overlay", OVERLAY, "-f", "json"]
    return {"evaluate": whole(ev, runs), "help": whole([*NTM, "--help"], runs),
            "evaluate_imports": import_tops(ev), "help_imports": import_tops([*NTM, "--help"])}


def batch(n: int, jobs: int) -> dict:
    import bench_batch

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "national.csv")
        bench_batch.write_csv(n, path)
        r = subprocess.run([sys.executable, bench_batch.__file__, "--one", path, str(jobs)], capture_output=True,
                           text=True, check=True)
    return json.loads(r.stdout)


def whatif(n: int) -> dict:
    import bench_whatif

    return bench_whatif.bench_whatif(n)


def plan_one(runs: int = 20) -> dict:
    from ntm.engine.evaluate import gather
    from ntm.engine.plan import plan_unit, unit_document
    from ntm.engine.plan_costs import load_costs

    inp = gather(os.path.join(EX, "xa-thieu-hai-tieu-chi.yaml"), overlay=OVERLAY)
    cm = load_costs(COSTS, inp.ruleset.ruleset)
    unit_document(inp, plan_unit(inp, "standard", costs=cm), cm)  # warm
    walls, cpus = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        unit_document(inp, plan_unit(inp, "standard", costs=cm), cm)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}


def plan_groups(district: int, province: int) -> dict:
    import bench_plan

    return bench_plan.bench(district, province)


GOALS = {
    "evaluate": 0.3, "help": 0.15, "batch_units_per_s": 1000, "batch_rss_mib": 300, "whatif_ms": 5,
    "plan_one_s": 0.05, "plan_district_s": 1.0, "plan_province_s": 5.0,
}


def table(fig: dict, jobs: int = 2) -> list[tuple[str, str, str, str]]:
    """(figure, measured, goal, note) rows of a run's figures."""
    rows = []

    def row(name, value, goal, note=""):
        rows.append((name, value, goal, note))

    if "startup" in fig:
        e, h = fig["startup"]["evaluate"], fig["startup"]["help"]
        row("ntm evaluate, whole process (example + overlay)", f"{e['wall_s']:.3f} s",
            f"≤ {GOALS['evaluate']} s", f"CPU {e['cpu_s']:.3f} s, best wall {e['min_wall_s']:.3f} s")
        row("ntm --help, whole process", f"{h['wall_s']:.3f} s", f"≤ {GOALS['help']} s",
            f"CPU {h['cpu_s']:.3f} s, best wall {h['min_wall_s']:.3f} s")
    if "batch" in fig:
        b = fig["batch"]
        total = b["peak_rss_batch_mib"] + jobs * b["peak_rss_worker_mib"]
        row(f"ntm batch {b['units']:,} communes, all tiers, --jobs {jobs}", f"{b['units_per_s']:,.0f} /s",
            f"≥ {GOALS['batch_units_per_s']:,} /s", f"{b['seconds']} s wall, CPU {b['cpu_ms_per_unit']} ms/unit "
            f"(all processes: {2000 / b['cpu_ms_per_unit']:,.0f} /s on 2 idle cores), {b['errors']} errors")
        row("  peak RSS batch + workers", f"{total:.0f} MiB", f"≤ {GOALS['batch_rss_mib']} MiB",
            f"batch {b['peak_rss_batch_mib']:.0f} + {jobs} × worker ≤ {b['peak_rss_worker_mib']:.0f}")
    if "whatif" in fig:
        w = fig["whatif"]
        row("what-if, one scenario, warm", f"{w['per_call_ms_median']:.1f} ms",
            f"≤ {GOALS['whatif_ms']} ms", f"CPU {w['per_call_cpu_ms_median']:.1f} ms, p95 {w['per_call_ms_p95']:.1f} ms, "
            f"marginal scenario {w['per_scenario_ms']:.1f} ms")
    if "plan_one" in fig:
        p1 = fig["plan_one"]
        row("plan one commune (example, standard, costs)", f"{p1['wall_s'] * 1000:.0f} ms",
            f"≤ {GOALS['plan_one_s'] * 1000:.0f} ms", f"CPU {p1['cpu_s'] * 1000:.0f} ms")
    if "plan_groups" in fig:
        pg = fig["plan_groups"]
        row(f"plan a {pg['district_communes']}-commune district (budget)", f"{pg['district_seconds']:.2f} s",
            f"≤ {GOALS['plan_district_s']} s", f"CPU {pg['district_cpu_seconds']:.2f} s")
        row(f"plan a {pg['province_communes']}-commune province (budget)", f"{pg['province_budget_seconds']:.2f} s",
            "", f"CPU {pg['province_budget_cpu_seconds']:.2f} s")
        row(f"plan a {pg['province_communes']}-commune province (budget + targets)",
            f"{pg['province_budget_targets_seconds']:.2f} s", f"≤ {GOALS['plan_province_s']} s",
            f"CPU {pg['province_budget_targets_cpu_seconds']:.2f} s")
    return rows


def show(fig: dict, before: dict | None = None, jobs: int = 2) -> None:
    rows = table(fig, jobs)
    old = {r[0]: r for r in table(before, jobs)} if before else {}
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    if before:
        wb = max([len(r[1]) for r in old.values()] + [6])
        print(f"{'figure'.ljust(w0)}  {'before'.rjust(wb)}  {'after'.rjust(w1)}  {'goal'.ljust(w2)}  "
              "note (after)  [before]")
        print("-" * (w0 + wb + w1 + w2 + 60))
        for name, value, goal, note in rows:
            b = old.get(name)
            print(f"{name.ljust(w0)}  {(b[1] if b else '').rjust(wb)}  {value.rjust(w1)}  {goal.ljust(w2)}  {note}"
                  + (f"  [{b[3]}]" if b else ""))
    else:
        print(f"{'figure'.ljust(w0)}  {'measured'.rjust(w1)}  {'goal'.ljust(w2)}  note")
        print("-" * (w0 + w1 + w2 + 50))
        for name, value, goal, note in rows:
            print(f"{name.ljust(w0)}  {value.rjust(w1)}  {goal.ljust(w2)}  {note}")
    if "startup" in fig:
        for key, title in (("evaluate_imports", "ntm evaluate"), ("help_imports", "ntm --help")):
            print(f"\n-X importtime, {title}: top-level imports by cumulative time")
            for ms, name in fig["startup"][key]:
                print(f"  {ms:8.1f} ms  {name.strip()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="startup,batch,whatif,plan")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--batch", type=int, default=10_000, help="communes in the batch")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--district", type=int, default=30)
    ap.add_argument("--province", type=int, default=600)
    ap.add_argument("--json", default=None, help="write the raw figures here")
    ap.add_argument("--before", default=None, help="a --json file of an earlier run: print both columns")
    ap.add_argument("--show", default=None, help="only print the table of this --json file (with --before)")
    a = ap.parse_args()
    before = None
    if a.before:
        with open(a.before, encoding="utf-8") as fh:
            before = json.load(fh)
    if a.show:
        with open(a.show, encoding="utf-8") as fh:
            show(json.load(fh), before, a.jobs)
        return
    only = set(a.only.split(","))
    fig: dict = {}
    if "startup" in only:
        fig["startup"] = startup(a.runs)
    if "batch" in only:
        fig["batch"] = batch(a.batch, a.jobs)
    if "whatif" in only:
        fig["whatif"] = whatif(200)
    if "plan" in only:
        fig["plan_one"] = plan_one()
        fig["plan_groups"] = plan_groups(a.district, a.province)
    show(fig, before, a.jobs)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(fig, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
