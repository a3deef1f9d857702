"""`ntm rulesets diff A B`: what changed between two rulesets, two dated versions, or a ruleset and an overlay.

Both sides are *resolved* (`ntm.criteria.resolve.resolve`, the same resolution the engine compiles) for every
level, tier and region, in one assessment year each, so the comparison is about the numbers a commune is
judged by — not about how the YAML is written. Direction is op-aware: for `>=`/`>` a higher value is stricter,
for `<=`/`<` a lower one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from decimal import Decimal

from ntm.criteria.model import Ruleset, _walk_thresholds, iter_indicators
from ntm.criteria.overlay import LoadedOverlay
from ntm.criteria.resolve import resolve, version_on
from ntm.errors import NtmInputError, did_you_mean

CELL_KINDS = ("stricter", "looser", "changed", "set", "unset", "unchanged")


@dataclass(frozen=True)
class Side:
    label: str
    ruleset: Ruleset
    overlay: LoadedOverlay | None
    as_of: dt.date
    year: int
    version: str


def _is_overlay(path: str) -> bool:
    from ntm.criteria.yamlsrc import load

    if not os.path.isfile(path):
        return False
    data = load(path).data
    return isinstance(data, dict) and "overlay" in data


def _years(rs: Ruleset) -> list[int]:
    return sorted({y for loc, _, _, _, ind in iter_indicators(rs) for c in ind.conditions
                   for _, th in _walk_thresholds(c.threshold, ()) for y in (th.by_year or {})})


def load_side(ref: str, overlay: str | None = None, year: int | None = None) -> Side:
    """`ID`, `PATH`, `ID@VERSION` (a dated version inside one ruleset) or an overlay file (on its base ruleset).

    Without --year a side is judged in its own reference year: the version's start year for `@VERSION`, else the
    last year its year tables cover (else its last effective year)."""
    from ntm.criteria.loader import load_ruleset
    from ntm.criteria.overlay import load_overlay, merge

    name, _, version = ref.partition("@") if not os.path.exists(ref) else (ref, "", "")
    if _is_overlay(name):
        if overlay:
            raise NtmInputError.single("give one overlay per side", field="--overlay", hint=f"{name} is an overlay")
        from ntm.criteria.overlay import Overlay
        from ntm.criteria.validation import validate
        from ntm.criteria.yamlsrc import load

        base = validate(Overlay, load(name)).overlay.ruleset
        overlay, name = ref.partition("@")[0], base
    lr = load_ruleset(name)
    rs = lr.ruleset
    lo = load_overlay(overlay, rs) if overlay else None
    if lo is not None:
        rs = merge(rs, lo.overlay)
    eff = rs.effective
    years = _years(rs)
    if version:
        v = next((x for x in rs.versions if x.id == version), None)
        if v is None:
            ids = [x.id for x in rs.versions]
            raise NtmInputError.single(f"ruleset {rs.id} has no version '{version}'", field="A/B",
                                       expected="one of " + (", ".join(ids) or "(no dated versions)"),
                                       hint=did_you_mean(version, ids))
        as_of = v.start
        y = year or max([k for k in years if k <= as_of.year] or [as_of.year])
    else:
        y = year or (max([k for k in years if k <= (eff.end or dt.date.max).year] or [eff.start.year]) if years
                     else (eff.end or eff.start).year)
        as_of = min(dt.date(y, 12, 31), eff.end) if eff.end else dt.date(y, 12, 31)
        as_of = max(as_of, eff.start)
    label = f"{rs.id}@{version_on(rs, as_of)}" + (f" + {lo.overlay.overlay.id}" if lo else "")
    return Side(label, rs, lo, as_of, y, version_on(rs, as_of))


def _num(v):
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def _flat(side: Side) -> tuple[dict, dict, dict]:
    """tiers {(level, tier): label}, indicators {(level, tier, code): (label, criterion)},
    conditions {(level, tier, code, fact, n): {region: RCondition}}."""
    rs = side.ruleset
    tiers, inds, conds = {}, {}, {}
    for ls in rs.levels:
        flag_sets = sorted({()} | {tuple(sorted(t.when_flags)) for t in ls.tiers})
        for region in (r.id for r in rs.regions):
            for flags in flag_sets:
                res = resolve(rs, ls.level, region, side.year, flags, side.overlay, side.as_of)
                for t in res.tiers:
                    src = next(x for x in ls.tiers if x.id == t.id)
                    if tuple(sorted(src.when_flags)) != flags:
                        continue  # each tier is read from the unit kind it is meant for
                    tiers[(ls.level, t.id)] = t.label
                    for c in t.criteria:
                        for ind in c.indicators:
                            inds[(ls.level, t.id, ind.code)] = (ind.label, c.number)
                            seen: dict[str, int] = {}
                            for rc in ind.conditions:
                                n = seen.get(rc.fact, 0)
                                seen[rc.fact] = n + 1
                                conds.setdefault((ls.level, t.id, ind.code, rc.fact, n), {})[region] = rc
    return tiers, inds, conds


def direction(op: str, a, b) -> str:
    if a is None and b is None:
        return "unchanged"
    if a is None:
        return "set"
    if b is None:
        return "unset"
    if a == b and type(a) is type(b):
        return "unchanged"
    if isinstance(a, bool) or isinstance(b, bool) or op == "==":
        return "changed"
    if op in (">=", ">"):
        return "stricter" if b > a else "looser"
    if op in ("<=", "<"):
        return "stricter" if b < a else "looser"
    return "changed"


def diff(a: Side, b: Side, show_all: bool = False) -> dict:
    """Every change from A to B. Rows whose only change is the citation (every row, when the documents change)
    are counted in the summary and listed only with show_all; unchanged values are only counted."""
    ta, ia, ca = _flat(a)
    tb, ib, cb = _flat(b)
    changes: list[dict] = []
    for key in sorted(ta.keys() | tb.keys()):
        if key not in tb:
            changes.append({"kind": "tier_removed", "level": key[0], "tier": key[1], "label": ta[key].vi,
                            "label_en": ta[key].en})
        elif key not in ta:
            changes.append({"kind": "tier_added", "level": key[0], "tier": key[1], "label": tb[key].vi,
                            "label_en": tb[key].en})
    for key in sorted(ia.keys() | ib.keys(), key=_code_key):
        lvl, tier, code = key
        if (lvl, tier) not in ta or (lvl, tier) not in tb:
            continue  # reported with its tier
        if key not in ib:
            changes.append({"kind": "indicator_removed", "level": lvl, "tier": tier, "indicator": code,
                            "label": ia[key][0].vi, "label_en": ia[key][0].en})
        elif key not in ia:
            changes.append({"kind": "indicator_added", "level": lvl, "tier": tier, "indicator": code,
                            "label": ib[key][0].vi, "label_en": ib[key][0].en})
    cells = {k: 0 for k in CELL_KINDS}
    prov_changes = cit_changes = 0
    regions_a = [r.id for r in a.ruleset.regions]
    regions_b = [r.id for r in b.ruleset.regions]
    common = [r for r in regions_b if r in regions_a]
    for key in sorted(ca.keys() | cb.keys(), key=_code_key):
        lvl, tier, code, fact, _ = key
        if (lvl, tier, code) not in ia or (lvl, tier, code) not in ib:
            continue
        base = {"level": lvl, "tier": tier, "indicator": code, "fact": fact}
        if key not in cb or key not in ca:
            gone, new = _unpaired(ca, cb, (lvl, tier, code)), _unpaired(cb, ca, (lvl, tier, code))
            if len(gone) == 1 and len(new) == 1:  # one fact replaced by another: one row, not two
                if key in ca:
                    changes.append({"kind": "condition_replaced", **base, "fact_b": new[0]})
                continue
            changes.append({"kind": "condition_removed" if key not in cb else "condition_added", **base})
            continue
        groups: dict[tuple, list[str]] = {}
        for region in common:
            x, y = ca[key].get(region), cb[key].get(region)
            if x is None or y is None:
                continue
            if x.op != y.op:
                d = "changed"
            else:
                d = direction(y.op, x.threshold.value, y.threshold.value)
            cells[d] += 1
            pa, pb = x.threshold.provenance, y.threshold.provenance
            prov = (pa.status, pb.status, pa.source, pb.source, _checked(pa), _checked(pb))
            cit = (x.citation.render(), y.citation.render())
            g = (d, _num(x.threshold.value), _num(y.threshold.value), x.op, y.op, prov, cit)
            groups.setdefault(g, []).append(region)
        for (d, va, vb, opa, opb, prov, cit), regs in groups.items():
            prov_changed = prov[0] != prov[1] or prov[2] != prov[3] or prov[4] != prov[5]
            cit_changed = cit[0] != cit[1]
            prov_changes += len(regs) if prov_changed else 0
            cit_changes += len(regs) if cit_changed else 0
            if d == "unchanged" and not prov_changed and (not cit_changed or not show_all):
                continue
            row = {"kind": "threshold", **base, "regions": regs, "op": opb, "a": va, "b": vb, "direction": d}
            if opa != opb:
                row["op_a"] = opa
            if prov_changed:
                row["provenance"] = {"a": prov[0], "b": prov[1], "source_a": prov[2], "source_b": prov[3]}
                for side, checked in (("a", prov[4]), ("b", prov[5])):
                    if checked is not None:
                        row["provenance"][f"checked_{side}"] = dict(zip(("by", "on", "read_in"), checked))
            if cit_changed:
                row["citation"] = {"a": cit[0], "b": cit[1]}
            changes.append(row)
    summary = {
        "tiers_added": sum(c["kind"] == "tier_added" for c in changes),
        "tiers_removed": sum(c["kind"] == "tier_removed" for c in changes),
        "indicators_added": sum(c["kind"] == "indicator_added" for c in changes),
        "indicators_removed": sum(c["kind"] == "indicator_removed" for c in changes),
        "thresholds": cells, "provenance_changes": prov_changes, "citation_changes": cit_changes,
    }
    return {"a": _side_doc(a), "b": _side_doc(b), "summary": summary, "changes": changes,
            "regions": {"common": common, "only_a": [r for r in regions_a if r not in regions_b],
                        "only_b": [r for r in regions_b if r not in regions_a]}}


def _checked(p) -> tuple | None:
    """Who verified a value, when, and where they read it (None when the ruleset does not say)."""
    if p.verified_by is None and p.verified_on is None and p.read_in is None:
        return None
    return (p.verified_by, p.verified_on.isoformat() if p.verified_on else None, p.read_in)


def _unpaired(x: dict, y: dict, ind: tuple) -> list[str]:
    return [k[3] for k in x if k[:3] == ind and k not in y]


def _side_doc(s: Side) -> dict:
    return {"label": s.label, "ruleset": s.ruleset.id, "version": s.version, "as_of": s.as_of.isoformat(),
            "year": s.year, "overlay": s.overlay.overlay.overlay.id if s.overlay else None,
            "region_kind": s.ruleset.region_kind}


def _code_key(key: tuple):
    def part(p):
        if isinstance(p, str):
            return tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in p.replace(".", " ").split())
        return ((0, p, ""),)
    return tuple(part(p) for p in key)


def to_json(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


WORDS = {
    "stricter": ("chặt hơn", "stricter"), "looser": ("lỏng hơn", "looser"), "changed": ("thay đổi", "changed"),
    "set": ("nay có giá trị", "now set"), "unset": ("không còn giá trị", "no longer set"),
    "unchanged": ("không đổi", "unchanged"),
    "verified": ("đã đối chiếu", "verified"), "provisional": ("tạm tính", "provisional"), "missing": ("thiếu", "missing"),
    "tier_added": ("Mức mới", "Tier added"), "tier_removed": ("Mức bị bỏ", "Tier removed"),
    "indicator_added": ("Chỉ tiêu mới", "Indicator added"), "indicator_removed": ("Chỉ tiêu bị bỏ", "Indicator removed"),
    "condition_added": ("Điều kiện mới", "Condition added"), "condition_removed": ("Điều kiện bị bỏ", "Condition removed"),
    "condition_replaced": ("Đổi chỉ số đo", "Measured fact changed"),
    "thresholds": ("Ngưỡng (theo vùng)", "Thresholds (per region)"), "provenance": ("nguồn", "provenance"),
    "citation": ("căn cứ", "citation"), "year": ("năm đánh giá", "assessment year"), "as_of": ("tại ngày", "as of"),
    "summary": ("Tóm tắt", "Summary"), "checked": ("đối chiếu bởi", "checked by"), "no_changes": ("Không có thay đổi.", "No changes."),
}


def w(key: str, lang: str) -> str:
    vi, en = WORDS[key]
    return en if lang == "en" else vi


def render_text(doc: dict, lang: str = "vi") -> str:
    from ntm.report.i18n import OPS

    out = []
    for s in ("a", "b"):
        d = doc[s]
        out.append(f"{s.upper()}: {d['label']} ({w('year', lang)} {d['year']}, {w('as_of', lang)} {d['as_of']})")
    sm = doc["summary"]
    th = sm["thresholds"]
    out.append("")
    out.append(f"{w('summary', lang)}: " + "; ".join([
        f"{w('tier_added', lang)} {sm['tiers_added']}", f"{w('tier_removed', lang)} {sm['tiers_removed']}",
        f"{w('indicator_added', lang)} {sm['indicators_added']}",
        f"{w('indicator_removed', lang)} {sm['indicators_removed']}"]))
    out.append(f"{w('thresholds', lang)}: " + ", ".join(f"{w(k, lang)} {th[k]}" for k in CELL_KINDS)
               + f"; {w('provenance', lang)} {sm['provenance_changes']}; {w('citation', lang)} {sm['citation_changes']}")
    if doc["regions"]["only_a"] or doc["regions"]["only_b"]:
        out.append(f"regions only in A: {', '.join(doc['regions']['only_a']) or '—'}; "
                   f"only in B: {', '.join(doc['regions']['only_b']) or '—'}")
    if not doc["changes"]:
        out.append(w("no_changes", lang))
    out.append("")
    for c in doc["changes"]:
        where = f"{c['level']}/{c['tier']}"
        if c["kind"] in ("tier_added", "tier_removed"):
            out.append(f"{w(c['kind'], lang)}: {where} — {c['label_en'] if lang == 'en' else c['label']}")
        elif c["kind"] in ("indicator_added", "indicator_removed"):
            label = c["label_en"] if lang == "en" else c["label"]
            out.append(f"{w(c['kind'], lang)}: {where} {c['indicator']} — {label}")
        elif c["kind"] in ("condition_added", "condition_removed"):
            out.append(f"{w(c['kind'], lang)}: {where} {c['indicator']} ({c['fact']})")
        elif c["kind"] == "condition_replaced":
            out.append(f"{w(c['kind'], lang)}: {where} {c['indicator']} ({c['fact']} → {c['fact_b']})")
        else:
            op = OPS.get(c["op"], c["op"])
            val = (lambda v: "—" if v is None else (("Đạt" if lang == "vi" else "met") if v is True else str(v)))
            line = (f"{where} {c['indicator']} ({c['fact']}) [{', '.join(c['regions'])}]: "
                    f"{op} {val(c['a'])} → {op} {val(c['b'])}".replace("  ", " ").replace(": ", ": ", 1).strip()
                    + f"  {w(c['direction'], lang)}")
            line = line.replace("]:  ", "]: ").replace("→  ", "→ ")
            if "provenance" in c:
                p = c["provenance"]
                src = f" ({p['source_a']} → {p['source_b']})" if p["source_a"] != p["source_b"] else ""
                line += f"; {w('provenance', lang)} {w(p['a'], lang)} → {w(p['b'], lang)}{src}"
                if "checked_b" in p and p.get("checked_b") != p.get("checked_a"):
                    ch = p["checked_b"]
                    who = ", ".join(x for x in (ch["by"], ch["on"]) if x)
                    line += f" ({w('checked', lang)} {who}" + (f"; {ch['read_in']}" if ch["read_in"] else "") + ")"
            if "citation" in c:
                line += f"; {w('citation', lang)} {c['citation']['a']} → {c['citation']['b']}"
            out.append(line)
    return "\n".join(out) + "\n"
