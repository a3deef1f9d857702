"""Engine-versus-oracle agreement at scale: N random dossiers per shipped ruleset and level.

    python benchmarks/agreement.py --cases 10000

Values are drawn at, just above and just below every threshold the ruleset uses (±1e-6, ±1e-9, ±1/3, ±1), plus
uniform values and missing evidence, for random regions, flags and years (one outside the period on each side).
Every case runs all tiers of its level through durable-rules and through the reference evaluator; every
decision (tier, criterion, indicator, condition) is compared. Seeded: the same run every time.
Levels are every level a ruleset has: commune (with especially difficult / safe-zone flags drawn, so the 318
Art. 1 special rule is exercised on the standard and advanced tiers), district (the 320 App. I tier conditions on
communes, townships and satisfaction) and province (321 completion).

Session names (issue #17): the product evaluates every dossier on one session name; `--sids` runs the cases
round-robin over several names (each its own durable ruleset), so an answer that depended on the session
name, as the fact-id hash collisions once did, shows up as a disagreement.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from decimal import Decimal
from fractions import Fraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ntm.criteria.dossier import Observation  # noqa: E402
from ntm.criteria.loader import all_shipped  # noqa: E402
from ntm.criteria.model import Ruleset, numeric_thresholds_by_fact  # noqa: E402
from ntm.criteria.resolve import resolve  # noqa: E402
from ntm.engine import oracle  # noqa: E402
from ntm.engine.run import run_engine  # noqa: E402

EPS = [Fraction(0), Fraction(1, 10**6), -Fraction(1, 10**6), Fraction(1, 10**9), -Fraction(1, 10**9),
       Fraction(1, 3), -Fraction(1, 3), Fraction(1), -Fraction(1)]


def thresholds_by_fact(rs: Ruleset) -> dict[str, list[Fraction]]:
    return {k: [Fraction(v) for v in vs] for k, vs in numeric_thresholds_by_fact(rs).items()}


OVERLAY = os.path.join(ROOT, "examples", "overlays", "tinh-minh-hoa.yaml")
OVERLAYS = {"vn-2021-2025": OVERLAY,
            "vn-2026-2030": os.path.join(ROOT, "examples", "overlays", "tinh-minh-hoa-2026.yaml")}


def configurations():
    """Every shipped ruleset as published, and 2021-2025 with the example overlay (which decides the
    advanced and model items the national text leaves to provinces)."""
    from ntm.criteria.overlay import load_overlay, merge

    for lr in all_shipped():
        yield lr.ruleset.id, lr.ruleset, None
        if lr.ruleset.id in OVERLAYS:
            lo = load_overlay(OVERLAYS[lr.ruleset.id], lr.ruleset)
            yield lr.ruleset.id + "+overlay", merge(lr.ruleset, lo.overlay), lo


def group_thresholds(rs: Ruleset, ths: dict) -> dict:
    """The commune-group definitions' boundary values (agriculture < 10 %, area >= 2) join the probe points."""
    out = dict(ths)
    for r in (rs.commune_groups.rules if rs.commune_groups else []):
        for c in r.conditions:
            if c.op != "is_true":
                out.setdefault(c.fact, []).append(Fraction(Decimal(str(c.value))))
    return out


def random_case(rs: Ruleset, level: str, ths: dict, rnd: random.Random, overlay=None):
    region = rnd.choice([r.id for r in rs.regions])
    flags = tuple(f.id for f in rs.unit_flags if rnd.random() < 0.3)
    start = rs.effective.start.year
    year = rnd.randint(start - 1, (rs.effective.end or rs.effective.start).year + 1)
    obs = {}
    for f in rs.facts:
        if f.level != level or rnd.random() < 0.08:
            continue
        if f.type == "boolean":
            obs[f.id] = Observation(rnd.random() < 0.85, "value", None)
            continue
        lo, hi = Fraction(Decimal(str(f.range.min))), Fraction(Decimal(str(f.range.max)))
        near = ths.get(f.id)
        if near and rnd.random() < 0.8:
            v = rnd.choice(near) + rnd.choice(EPS)
        else:
            v = lo + (hi - lo) * Fraction(rnd.randint(0, 10**6), 10**6)
        if f.type == "count":
            v = Fraction(round(v))
        v = min(max(v, lo), hi)
        obs[f.id] = Observation(v, "value" if v.denominator in (1, 2, 4, 5, 8, 10) else "ratio", None)
    return resolve(rs, level, region, year, flags, overlay), obs


SIDS = ("s", "e1271", "e1", "tỉnh-01", "x" * 40)


def _one(task: tuple) -> list[dict]:
    name, level, cases, seed, sids = task
    rs, lo = next((r, o) for n, r, o in configurations() if n == name)
    ths = group_thresholds(rs, thresholds_by_fact(rs))
    ls = next(x for x in rs.levels if x.level == level)
    rnd = random.Random(f"{seed}:{name}:{level}")
    per_tier: dict[str, list[int]] = {t.id: [0, 0] for t in ls.tiers}  # decisions, disagreements
    t0 = time.perf_counter()
    for k in range(cases):
        res, obs = random_case(rs, level, ths, rnd, lo)
        eng = run_engine(res, obs, sids[k % len(sids)]).verdict
        ref = oracle.evaluate(res, obs)
        for key in set(eng) | set(ref):
            cell = per_tier.setdefault(key[1], [0, 0])
            cell[0] += 1
            cell[1] += eng.get(key) != ref.get(key)
        if rs.commune_groups is not None and level == "commune":  # the group placement (51/2025)
            from ntm.engine import groups, sideline

            order = tuple(groups.precedence_for(rs, lo)[0].order)
            comp = groups.compile_groups(rs.commune_groups, order)
            g_eng = sideline.run(comp, sideline.evidence(list(comp.facts_used), obs)).verdict
            g_ref = groups.reference(rs.commune_groups, order, obs)
            cell = per_tier.setdefault("(commune group)", [0, 0])
            for key in set(g_eng) | set(g_ref):
                cell[0] += 1
                cell[1] += g_eng.get(key) != g_ref.get(key)
    secs = time.perf_counter() - t0
    return [{"ruleset": name, "level": level, "tier": tier, "dossiers": cases, "decisions": d, "disagreements": b,
             "seconds": secs, "sessions": len(sids)} for tier, (d, b) in per_tier.items()]


def run(cases: int, seed: int = 20261129, jobs: int = 1, sids: tuple[str, ...] = SIDS) -> list[dict]:
    tasks = [(name, ls.level, cases, seed, sids) for name, rs, _ in configurations() for ls in rs.levels]
    if jobs <= 1:
        parts = [_one(t) for t in tasks]
    else:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(jobs) as pool:
            parts = pool.map(_one, tasks, chunksize=1)
    return [row for part in parts for row in part]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10000, help="random dossiers per ruleset and level")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (one ruleset and level each)")
    ap.add_argument("--sids", default=",".join(SIDS), help="session names, used round-robin (comma-separated)")
    args = ap.parse_args()
    sids = tuple(x for x in args.sids.split(",") if x)
    t0 = time.perf_counter()
    rows = run(args.cases, args.seed, args.jobs, sids)
    print(f"session names: {', '.join(sids)}; {time.perf_counter() - t0:.0f} s")
    print(f"{'ruleset':22} {'level':9} {'tier':20} {'dossiers':>9} {'decisions':>11} {'disagree':>9}")
    for r in rows:
        print(f"{r['ruleset']:22} {r['level']:9} {r['tier']:20} {r['dossiers']:>9,} {r['decisions']:>11,} "
              f"{r['disagreements']:>9}")
    total = sum(r["disagreements"] for r in rows)
    print(f"total disagreements: {total}")
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
