"""Tier names for views whose results carry only tier ids (what-if, compare, plan, a district's communes):
read from the ruleset's labels, never typed here. A ruleset that cannot be found by id (a file given by path)
leaves the id as it is."""

from __future__ import annotations


def tier_labels(ruleset_ids) -> dict:
    """{(level, tier id): {"vi": …, "en": …}} for every tier of the rulesets named (shipped ids or files)."""
    from ntm.criteria.loader import load_ruleset

    out: dict = {}
    for rid in ruleset_ids:
        if not rid:
            continue
        try:
            rs = load_ruleset(rid).ruleset
        except Exception:  # noqa: BLE001 - a name we cannot resolve only loses its label, never the view
            continue
        for lv in rs.levels:
            for t in lv.tiers:
                out.setdefault((lv.level, t.id), {"vi": t.label.vi, "en": t.label.en})
    return out


def name(labels: dict, level: str | None, tid: str | None, lang: str) -> str:
    if tid is None:
        return ""
    lab = labels.get((level, tid))
    if lab is None:
        lab = next((v for (lv, t), v in labels.items() if t == tid), None) if level is None else None
    return (lab["en"] if lang == "en" else lab["vi"]) if lab else tid


def commune_tiers(o, lang: str) -> tuple[list[str], dict]:
    """A district outcome's communes: their tier ids in ladder order, and each id's name (commune level)."""
    seen: list[str] = []
    for c in o.communes or []:
        for tid in c.tiers:
            if tid not in seen:
                seen.append(tid)
    labels = tier_labels([o.ruleset.id])
    order = [tid for (lv, tid) in labels if lv == "commune" and tid in seen]
    order += [tid for tid in seen if tid not in order]
    return order, {tid: name(labels, "commune", tid, lang) for tid in order}
