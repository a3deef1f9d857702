"""A synthetic national dataset: communes across the seven regions and ~700 districts, drawn around the
shipped thresholds so the engine sees realistic work (most criteria met, a tail of weak communes, missing
facts, especially difficult and safe-zone communes, communes without a traditional craft).

Values are generated as exact numbers and written as dossier data (plain dicts), so the same dataset feeds the
engine, the reference evaluator, the CLI and the batch tools.
"""

from __future__ import annotations

import random
from decimal import Decimal

from ntm.criteria.loader import load_ruleset
from ntm.criteria.resolve import resolve

REGIONS_WEIGHTS = {"TDMNPB": 0.26, "ĐBSH": 0.2, "BTB": 0.16, "DHNTB": 0.09, "TN": 0.07, "ĐNB": 0.06, "ĐBSCL": 0.16}


def _value(cond, ok: bool, rng: random.Random, fact):
    t = cond.threshold.value
    if cond.op == "is_true":
        return ok
    if t is None:
        return float(rng.randint(20, 60))
    t = Decimal(t)
    step = Decimal(rng.randint(1, 800)) / 100
    if cond.op in (">=", ">"):
        v = t + step if ok else t - step
    elif cond.op in ("<=", "<"):
        v = t - step if ok else t + step
    else:
        v = t if ok else t + 1
    lo, hi = Decimal(str(fact.range.min)), Decimal(str(fact.range.max))
    v = min(max(v, lo), hi)
    if fact.type == "count":
        v = v.to_integral_value()
    return int(v) if v == v.to_integral_value() else float(v)


def communes(n: int = 10_000, seed: int = 2025, year: int = 2024, ruleset=None, overlay=None) -> list[dict]:
    """`ruleset`: a Ruleset (default: the shipped vn-2021-2025); `overlay`: a LoadedOverlay to draw around."""
    rs = ruleset or load_ruleset("vn-2021-2025").ruleset
    facts = rs.fact_map()
    rng = random.Random(seed)
    regions = list(REGIONS_WEIGHTS)
    weights = [REGIONS_WEIGHTS[r] for r in regions]
    resolved: dict[str, object] = {}
    out = []
    for i in range(n):
        region = rng.choices(regions, weights)[0]
        if region not in resolved:
            resolved[region] = resolve(rs, "commune", region, year, overlay=overlay)
        res = resolved[region]
        flags = []
        if rng.random() < 0.06:
            flags.append("especially_difficult")
        elif rng.random() < 0.03:
            flags += ["safe_zone", "district_poor"]
        weak = rng.random() < 0.12
        p_missing = 0.03 if rng.random() < 0.05 else 0.0  # a few dossiers are incomplete
        values: dict[str, object] = {}
        for tier in res.tiers:
            p_fail = (0.3 if weak else 0.004) if tier.id == "standard" else (0.5 if weak else 0.03)
            for c in tier.criteria:
                for ind in c.indicators:
                    for cond in ind.conditions:
                        if cond.fact in values:
                            continue
                        if rng.random() < p_missing:
                            continue  # missing evidence
                        v = _value(cond, rng.random() > p_fail, rng, facts[cond.fact])
                        ratio = facts[cond.fact].ratio_of
                        if ratio is not None and rng.random() < 0.5:  # given as its parts (km), half the time
                            total = Decimal(rng.randint(500, 6000)) / 100
                            values[ratio.denominator] = float(total)
                            values[ratio.numerator] = float((total * Decimal(str(v)) / 100).quantize(Decimal("0.000001")))
                            values[cond.fact] = None  # marks it done; dropped below
                        else:
                            values[cond.fact] = v
        values = {k: v for k, v in values.items() if v is not None}
        values["has_traditional_craft"] = rng.random() < 0.3
        values.setdefault("waste_sorted_at_source_pct", float(rng.randint(30, 90)))
        district = f"{region}-{i % 700:03d}"
        out.append({"unit": {"level": "commune", "code": f"{i:05d}", "name": f"Xã {i:05d}", "province": None,
                             "district": district, "region": region, "flags": flags},
                    "assessment": {"year": year}, "facts": values})
    return out
