"""Planning time (measured, never asserted in tests): a 30-commune district and a 600-commune province.

    python benchmarks/bench_plan.py                       # 30 and 600 communes
    python benchmarks/bench_plan.py --district 30 --province 600

Dossiers come from the synthetic national dataset (`national.py`), drawn around the example overlay, written as
JSON files so the planner runs exactly as `ntm plan` does (reading files, one engine evaluation per commune, one
re-evaluation per plan). Wall and CPU seconds are both printed: on a shared machine the CPU figure is the
stable one. The province is a folder of commune dossiers planned to `standard` with a budget and
the example province targets.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from fractions import Fraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import national

from ntm.criteria.loader import load_ruleset
from ntm.criteria.overlay import load_overlay, merge
from ntm.engine.plan_costs import load_costs
from ntm.engine.plan_group import plan_group
from ntm.engine.plan_targets import load_targets

OVERLAY = os.path.join(ROOT, "examples", "overlays", "tinh-minh-hoa.yaml")
COSTS = os.path.join(ROOT, "examples", "costs", "chi-phi-minh-hoa.yaml")
TARGETS = os.path.join(ROOT, "examples", "targets", "muc-tieu-minh-hoa.yaml")
DISTRICT_FACTS = {
    "communes_with_car_road_to_district_pct": 100, "district_road_hardened_pct": 100,
    "district_road_maintained_pct": 100, "district_road_planned_grade_pct": 100, "bus_station_planned": True,
    "bus_station_class_iv": True, **{f"dist_c{i}_met": True for i in (1, 3, 4, 5, 6, 7, 8, 9)},
    "district_satisfaction_pct": 93.2, "district_no_construction_debt": True, "district_security_safe": True,
}


def _write(folder: str, communes: list[dict]) -> list[str]:
    names = []
    for c in communes:
        name = f"xa-{c['unit']['code']}.json"
        with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
            json.dump(c, fh, ensure_ascii=False)
        names.append(name)
    return names


def bench(n_district: int = 30, n_province: int = 600, seed: int = 7) -> dict:
    base = load_ruleset("vn-2021-2025")
    lo = load_overlay(OVERLAY, base.ruleset)
    rs = merge(base.ruleset, lo.overlay)
    costs = load_costs(COSTS, rs)
    targets = load_targets(TARGETS, rs)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        ddir = os.path.join(tmp, "huyen")
        os.mkdir(ddir)
        names = _write(ddir, national.communes(n_district, seed=seed, ruleset=base.ruleset, overlay=lo))
        district = {"unit": {"level": "district", "code": "990", "name": "Huyện đo thời gian", "region": "ĐNB"},
                    "assessment": {"year": 2024},
                    "communes": [{"code": n[3:-5], "name": f"Xã {n[3:-5]}", "dossier": n} for n in names],
                    "facts": DISTRICT_FACTS}
        dpath = os.path.join(ddir, "huyen.json")
        with open(dpath, "w", encoding="utf-8") as fh:
            json.dump(district, fh, ensure_ascii=False)
        t, c = time.perf_counter(), time.process_time()
        gp, _ = plan_group(dpath, "standard", costs=costs, overlay=OVERLAY, budget=Fraction(20_000))
        out["district_communes"] = n_district
        out["district_seconds"] = round(time.perf_counter() - t, 2)
        out["district_cpu_seconds"] = round(time.process_time() - c, 2)
        out["district_must_lift"] = len(gp.must_lift)
        out["district_reaches_target"] = gp.district.verification.reaches_target

        pdir = os.path.join(tmp, "tinh")
        os.mkdir(pdir)
        _write(pdir, national.communes(n_province, seed=seed + 1, ruleset=base.ruleset, overlay=lo))
        t, c = time.perf_counter(), time.process_time()
        gp, _ = plan_group(pdir, "standard", costs=costs, overlay=OVERLAY, budget=Fraction(100_000))
        out["province_communes"] = n_province
        out["province_budget_seconds"] = round(time.perf_counter() - t, 2)
        out["province_budget_cpu_seconds"] = round(time.process_time() - c, 2)
        out["province_below_target"] = sum(1 for c in gp.communes if c.status != "already_met")
        out["province_budget_selected"] = len(gp.budget.selected)
        statuses = [c.plan.verification.reaches_target for c in gp.communes
                    if c.plan is not None and c.status in ("reachable", "conditional")]
        out["province_plans_verified"] = f"{sum(statuses)}/{len(statuses)}"
        t, c = time.perf_counter(), time.process_time()
        plan_group(pdir, "standard", costs=costs, overlay=OVERLAY, budget=Fraction(100_000), targets=targets)
        out["province_budget_targets_seconds"] = round(time.perf_counter() - t, 2)
        out["province_budget_targets_cpu_seconds"] = round(time.process_time() - c, 2)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--district", type=int, default=30)
    ap.add_argument("--province", type=int, default=600)
    a = ap.parse_args()
    for k, v in bench(a.district, a.province).items():
        print(f"{k:34} {v}")
