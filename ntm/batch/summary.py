"""The province summary of a batch (JSON schema "ntm-batch/1"): the figures provinces publish.

Everything is counted from the per-unit records the engine produced; nothing is re-decided here. Percentages
and averages are exact decimals rounded half-even to 2 places, so the JSON is byte-identical run to run.

Shape (keys the HTML/markdown batch report reads)::

  {"schema": "ntm-batch/1", "input": {path, kind: csv|xlsx|folder, rows}, "ruleset": {id, version, sha256},
   "rulesets": [...every distinct ruleset used...], "overlay": {id, sha256} | null,
   "units": [{row, file, code, name, level, district, province, region, status: "ok", highest_tier,
              tiers: {tier: met|not_met|indeterminate}, criteria: {tier: {met, total, unmet, undecided}},
              failed_indicators: {tier: [codes]}, decided_by_provisional,
              gaps: [{tier, criterion, indicator, fact, op, observed, threshold, gap, unit}]}],
   "errors": [{row, file, code, reason}],
   "summary": {units, evaluated, errors, tiers: {tier: {met, pct, not_met, indeterminate}},
               bands: {band id: communes}  (the ruleset's criteria_bands, e.g. "19", "15-18", "10-14", "5-9",
                       "<5" of the standard tier; without them one band per number of criteria met),
               avg_criteria_met, most_failed_criteria: [{tier, number, name, count}],
               most_failed_indicators: [{tier, code, label, count}],
               priority: [{code, name, district, tier, missing_criteria, distance}]  (1 or 2 criteria away),
               districts: [{district, units, tiers: {tier: met count}, avg_criteria_met}],
               lost: [code (or file) of each unit whose engine worker crashed, was killed or timed out]},
   "compare": null | {previous, avg_criteria_delta, tiers_delta, gained: [{code, name, tier, previous}],
                      lost: [...], added: [codes], removed: [codes]}}
"""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal

SCHEMA = "ntm-batch/1"
PRIORITY_DISTANCE = 2


def dec2(num, den=1) -> float:
    """num/den as a 2-place decimal, half-even: 58.333… → 58.33 on every machine."""
    if den == 0:
        return 0.0
    q = (Decimal(num) / Decimal(den)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return float(q)


def natural(code: str) -> tuple:
    """'2' < '10' < '17.6' < '17.10' (criterion and indicator numbers): the word catalogue's one key."""
    from ntm.report.words import natural_key

    return natural_key(code)


class Bands:
    """The commune bands of "criteria met" from the rulesets the units were judged by (law as data)."""

    def __init__(self, laws: dict, shas: list[str]):
        self.by_sha: dict[str, tuple[str, list[tuple[str, int, int | None]]]] = {}
        self.order: list[str] = []
        for sha in shas:
            ls = laws[sha].level("commune") if sha in laws else None
            if ls is None:
                continue
            if ls.criteria_bands is not None:
                cb = ls.criteria_bands
                spec = (cb.tier, [(b.id, b.min, b.max) for b in cb.bands])
            else:  # no grouping the law does not state: one band per number of criteria, most first
                first = next((t for t in ls.tiers if t.kind == "tier"), None)
                if first is None:
                    continue
                n = len(first.criteria)
                spec = (first.id, [(str(k), k, k) for k in range(n, -1, -1)])
            self.by_sha[sha] = spec
            self.order.extend(b for b, _, _ in spec[1] if b not in self.order)

    def tier(self, u: dict) -> str | None:
        spec = self.by_sha.get(u.get("_sha"))
        return spec[0] if spec else None

    def band(self, u: dict) -> str | None:
        spec = self.by_sha.get(u.get("_sha"))
        if spec is None or u["level"] != "commune" or spec[0] not in u["criteria"]:
            return None
        met = u["criteria"][spec[0]]["met"]
        return next((b for b, lo, hi in spec[1] if lo <= met and (hi is None or met <= hi)), None)


def build(inp, entries: list, results: dict, *, compare: dict | None = None, laws: dict | None = None) -> dict:
    """The batch document from the input's entries (jobs and bad rows, in order) and the results by index.
    `laws` maps a ruleset file's sha256 to the Ruleset (bands and tier order come from it)."""
    from ntm.batch.inputs import RowError

    units, errors, labels, rulesets, overlay, scopes, lost = [], [], {}, [], None, [], []
    for item in entries:
        if isinstance(item, RowError):
            errors.append({"row": item.row, "file": item.file, "code": item.code, "reason": item.reason})
            continue
        kind, payload = results.get(item.index, ("error", "not evaluated"))
        if kind != "ok":
            errors.append({"row": item.row, "file": item.file, "code": item.code, "reason": payload})
            if kind == "lost":
                lost.append(item.code if item.code is not None else item.file)
            continue
        rec = dict(payload)
        lab = rec.pop("_labels")
        if lab["scope"] not in scopes:
            scopes.append(lab["scope"])
        for k, v in lab["labels"].items():
            labels.setdefault((lab["scope"], k), v)
        rs = rec.pop("_ruleset")
        if rs not in rulesets:
            rulesets.append(rs)
        ov = rec.pop("_overlay")
        overlay = overlay or ov
        units.append({"row": item.row, "file": item.file, **rec, "_sha": rs["sha256"]})
    bands = Bands(laws or {}, [r["sha256"] for r in rulesets])
    summary = summarise(units, len(errors), _first_label(labels, scopes), bands)
    summary["lost"] = lost  # units whose engine worker crashed, was killed or timed out (also in errors)
    for u in units:
        u.pop("_sha")
    doc = {
        "schema": SCHEMA,
        "input": {"path": inp.path, "kind": inp.kind, "rows": inp.rows,
                  **({"sheet": inp.sheet} if getattr(inp, "sheet", None) else {})},
        "ruleset": rulesets[0] if rulesets else None,
        "rulesets": rulesets,
        "overlay": overlay,
        "units": units,
        "errors": errors,
        "summary": summary,
        "compare": None,
    }
    if compare is not None:
        doc["compare"] = compare_with(compare["doc"], doc, compare["path"])
    return doc


def _first_label(labels: dict, scopes: list) -> dict:
    """key -> label from the first ruleset (in input order) that names it: the same whichever worker sent it."""
    out: dict = {}
    for sc in scopes:
        for (scope, k), v in labels.items():
            if scope == sc:
                out.setdefault(k, v)
    return out


def tier_order(units: list[dict]) -> list[str]:
    """Tiers in the order the rulesets list them (each unit's tiers come in its ruleset's order)."""
    order: list[str] = []
    for u in units:
        for t in u["tiers"]:
            if t not in order:
                order.append(t)
    return order


def _avg_criteria(units: list[dict], bands: Bands) -> float | None:
    xs = [u["criteria"][t]["met"] for u in units
          if u["level"] == "commune" and (t := bands.tier(u)) is not None and t in u["criteria"]]
    return dec2(sum(xs), len(xs)) if xs else None


def summarise(units: list[dict], n_errors: int, labels: dict, bands: Bands | None = None) -> dict:
    bands = bands or Bands({}, [])
    order = tier_order(units)
    n = len(units)
    tiers = {}
    for t in order:
        c = Counter(u["tiers"].get(t) for u in units)
        tiers[t] = {"met": c["met"], "pct": dec2(100 * c["met"], n), "not_met": c["not_met"],
                    "indeterminate": c["indeterminate"]}
    counts = {b: 0 for b in bands.order}
    for u in units:
        b = bands.band(u)
        if b is not None:
            counts[b] += 1
    crit, ind = Counter(), Counter()
    for u in units:
        for t, c in u["criteria"].items():
            crit.update((t, num) for num in c["unmet"])
        for t, codes in u["failed_indicators"].items():
            ind.update((t, code) for code in codes)
    rank = {t: i for i, t in enumerate(order)}
    most_c = [{"tier": t, "number": num, "name": labels.get(f"c:{t}:{num}"), "count": k}
              for (t, num), k in sorted(crit.items(), key=lambda x: (-x[1], rank[x[0][0]], natural(x[0][1])))]
    most_i = [{"tier": t, "code": code, "label": labels.get(f"i:{t}:{code}"), "count": k}
              for (t, code), k in sorted(ind.items(), key=lambda x: (-x[1], rank[x[0][0]], natural(x[0][1])))]
    return {
        "units": n + n_errors, "evaluated": n, "errors": n_errors, "tiers": tiers, "bands": counts,
        "avg_criteria_met": _avg_criteria(units, bands), "most_failed_criteria": most_c,
        "most_failed_indicators": most_i, "priority": priority(units, rank), "districts": districts(units, order, bands),
        "tier_labels": {t: labels[f"t:{t}"] for t in order if f"t:{t}" in labels},
    }


def priority(units: list[dict], rank: dict) -> list[dict]:
    """Units one or two criteria short of their next tier: the lowest tier they have not met yet."""
    out = []
    for i, u in enumerate(units):
        nxt = next((t for t in sorted(u["tiers"], key=lambda t: rank[t]) if u["tiers"][t] != "met"), None)
        if nxt is None:
            continue
        c = u["criteria"][nxt]
        missing = sorted(c["unmet"] + c["undecided"], key=natural)
        if 1 <= len(missing) <= PRIORITY_DISTANCE:
            out.append((rank[nxt], len(missing), i, {"code": u["code"], "name": u["name"], "district": u["district"],
                                                     "tier": nxt, "missing_criteria": missing,
                                                     "distance": len(missing)}))
    return [x[3] for x in sorted(out, key=lambda x: x[:3])]


def districts(units: list[dict], order: list[str], bands: Bands) -> list[dict]:
    groups: dict[str, list[dict]] = {}
    for u in units:
        if u["district"]:
            groups.setdefault(u["district"], []).append(u)
    return [{"district": d, "units": len(us), "tiers": {t: sum(1 for u in us if u["tiers"].get(t) == "met")
                                                         for t in order},
             "avg_criteria_met": _avg_criteria(us, bands)} for d, us in sorted(groups.items())]


def _rank(tier: str | None, ladder: list[str]) -> int:
    """How high a unit stands: 0 for no tier, else 1 + the place of its highest tier in the ruleset's ladder
    (the unit's tiers, in the order its ruleset lists them)."""
    return 0 if tier is None else (ladder.index(tier) + 1 if tier in ladder else 0)


def compare_with(prev: dict, cur: dict, path: str) -> dict:
    """Change since an earlier batch: average criteria, tier counts, and who gained or lost a tier."""
    before = {u["code"]: u for u in prev["units"]}
    now = {u["code"]: u for u in cur["units"]}
    gained, lost = [], []
    for u in cur["units"]:
        p = before.get(u["code"])
        if p is None:
            continue
        ladder = list(u["tiers"]) + [t for t in p.get("tiers") or {} if t not in u["tiers"]]
        a, b = _rank(p["highest_tier"], ladder), _rank(u["highest_tier"], ladder)
        entry = {"code": u["code"], "name": u["name"], "tier": u["highest_tier"], "previous": p["highest_tier"]}
        if b > a:
            gained.append(entry)
        elif b < a:
            lost.append(entry)
    pa, ca = prev["summary"].get("avg_criteria_met"), cur["summary"]["avg_criteria_met"]
    delta = None if pa is None or ca is None else float(Decimal(str(ca)) - Decimal(str(pa)))
    ptiers, ctiers = prev["summary"].get("tiers", {}), cur["summary"]["tiers"]
    tids = list(ctiers) + [t for t in ptiers if t not in ctiers]
    return {
        "previous": path,
        "avg_criteria_delta": delta,
        "tiers_delta": {t: ctiers.get(t, {}).get("met", 0) - ptiers.get(t, {}).get("met", 0) for t in tids},
        "gained": gained,
        "lost": lost,
        "added": [c for c in now if c not in before],
        "removed": [c for c in before if c not in now],
    }
