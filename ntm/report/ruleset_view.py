"""`ntm rulesets show`: a ruleset as a reader sees it — criteria, indicators, facts, values and provenance."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ntm.criteria.loader import LoadedRuleset
from ntm.criteria.model import Threshold
from ntm.criteria.resolve import pick
from ntm.report.i18n import OPS

STYLE = {"verified": "green", "provisional": "yellow", "missing": "red"}


def render_json(lr: LoadedRuleset) -> str:
    doc = {"sha256": lr.sha256, "path_name": lr.path.rsplit("/", 1)[-1],
           "ruleset": lr.ruleset.model_dump(mode="json", by_alias=True, exclude_none=True)}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _cell(th: Threshold) -> tuple[str, str]:
    if th.ref is not None:
        return f"{th.ref.factor} × {th.ref.tier} {th.ref.indicator}", "provisional"
    if th.value is None:
        return ("tỉnh quy định" if th.set_by == "province" else "chưa rõ"), "missing"
    v = th.value
    return ("Đạt" if v is True else str(v)), th.status or "missing"


def describe(th: Threshold, regions: list[str], region: str | None, year: int | None) -> Text:
    """One threshold as text: a single value, or a value per region (per year for income)."""
    if region is not None:
        years = sorted(th.by_year) if th.by_year and year is None else [year or 0]
        out = Text()
        for y in years:
            cell, reason = pick(th, region, y)
            label, status = (_cell(cell) if cell is not None else (reason or "—", "missing"))
            if len(years) > 1:
                out.append(f"{y}: ")
            out.append(label, style=STYLE[status])
            out.append("  ")
        return out
    if th.by_year is not None:
        out = Text()
        for y, sub in th.by_year.items():
            out.append(f"{y}: ")
            out.append_text(describe(sub, regions, None, None))
            out.append("\n")
        return out
    if th.by_region is not None:
        out = Text()
        for r in regions:
            sub = th.by_region.get(r)
            if sub is None:
                out.append(f"{r} —  ", style="red")
                continue
            label, status = _cell(sub) if sub.by_region is None and sub.by_year is None else ("…", "provisional")
            out.append(f"{r} ")
            out.append(label, style=STYLE[status])
            out.append("  ")
        return out
    label, status = _cell(th)
    return Text(label, style=STYLE[status])


def render_table(lr: LoadedRuleset, console: Console, region: str | None, year: int | None, lang: str) -> None:
    rs = lr.ruleset
    L = (lambda t: t.en if lang == "en" else t.vi)
    console.print(Text(f"{rs.id} v{rs.version} — {L(rs.title)}", style="bold"))
    console.print(f"in force {rs.effective.start} → {rs.effective.end or '…'}; sha256 {lr.sha256}")
    console.print("documents: " + "; ".join(f"{d.number} ({d.date})" for d in rs.documents))
    console.print(f"{len(rs.facts)} facts; regions: " + ", ".join(r.id for r in rs.regions))
    if rs.commune_groups is not None:  # 51/2025: the group is placed from the commune's facts
        cg = rs.commune_groups
        for r in cg.rules:
            conds = " and ".join(f"{c.fact} {c.op}" + ("" if c.op == "is_true" else f" {c.value}") for c in r.conditions)
            console.print(f"  {r.group} ← {r.id}: {conds} — {L(r.label)} ({r.citation.render()})")
        console.print(f"  {cg.default} ← otherwise: {L(cg.default_label)}")
        p = cg.precedence
        console.print(f"  precedence {' > '.join(p.order)} ({p.status}){': ' + p.note if p.note else ''}")
    for t in rs.transcription:
        count = f"{t.indicators_in_law} indicators in the law" if t.indicators_in_law else "set by the province"
        console.print(Text(f"  {L(t.part)}: {count}" + (f" — complete with `{t.complete_with}`" if t.complete_with
                                                          else ""), style="yellow"))
    console.print(Text("verified ", style=STYLE["verified"]) + Text("provisional ", style=STYLE["provisional"])
                  + Text("missing/province", style=STYLE["missing"]))
    regions = [r.id for r in rs.regions]
    for ls in rs.levels:
        for tier in ls.tiers:
            console.print()
            req = f" (requires {tier.requires})" if tier.requires else ""
            console.print(Text(f"{ls.level} / {tier.id}: {L(tier.label)}{req} — {tier.citation.render()}", style="bold"))
            t = Table(box=None, header_style="bold", pad_edge=False, show_lines=False)
            for col in ("code", "indicator", "fact", "op", "threshold" + (f" ({region})" if region else "")):
                t.add_column(col, overflow="fold")
            for cr in tier.criteria:
                t.add_row(Text(cr.number, style="bold"), Text(L(cr.name), style="bold"), "", "", "")
                for ind in cr.indicators:
                    for k, c in enumerate(ind.conditions):
                        name = L(ind.label) if k == 0 else "  ↳ " + (L(c.label) if c.label else "")
                        if ind.applies_if and k == 0:
                            name += f" [if {ind.applies_if.fact}]"
                        if ind.at_least and k == 0:
                            name += f" [at least {ind.at_least}]"
                        t.add_row(ind.code if k == 0 else "", name, c.fact, OPS[c.op] or "đạt",
                                  describe(c.threshold, regions, region, year))
            console.print(t)
