"""The council's view in a terminal: tiers first, then criteria, then exactly what is missing and why."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ntm.engine.outcome import Outcome
from ntm.report.i18n import observed_text, reason_text, requirement, set_by_word, w

MARK = {"met": ("✓", "green"), "not_met": ("✗", "red"), "indeterminate": ("?", "yellow")}
IMARK = {"pass": ("✓", "green"), "fail": ("✗", "red"), "missing": ("…", "yellow"),
         "not_applicable": ("–", "dim"), "indeterminate": ("?", "yellow")}


def render(o: Outcome, console: Console, lang: str = "vi") -> None:
    L = (lambda lbl: lbl.en if lang == "en" else lbl.vi)
    u = o.unit
    head = Text()
    head.append(f"{u.name} ({u.code})", style="bold")
    head.append(f" — {u.province or ''}{', ' if u.province else ''}{'region' if lang == 'en' else 'vùng'}: {u.region}"
                f" — {w('assessment', lang).lower()} {o.assessment_year}")
    console.print(head)
    console.print(f"{w('ruleset', lang)}: {o.ruleset.id} v{o.ruleset.version} ({L(o.ruleset.title)}), "
                  f"sha256 {o.ruleset.sha256[:12]}… — {w('version_in_force', lang)} {o.ruleset.version_in_force}"
                  f" ({w('as_of', lang)} {o.ruleset.as_of})")
    if o.overlay:
        tag = f" [{w('illustrative', lang)}]" if o.overlay.illustrative else ""
        console.print(f"{w('overlay', lang)}: {o.overlay.id} — {L(o.overlay.title)}{tag}, sha256 {o.overlay.sha256[:12]}…")
    for warn in o.warnings:
        console.print(Text(f"⚠ {w('warning', lang)}: {L(warn.text)}", style="bold red"))
    for line in law26_lines(o, lang):
        console.print(Text(line[0], style=line[1]))
    console.print()

    t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    t.add_column(w("tier", lang))
    t.add_column(w("result", lang))
    t.add_column(w("criteria_met", lang), justify="right")
    t.add_column(w("region", lang))
    for tier in o.tiers:
        mark, style = MARK[tier.status]
        t.add_row(L(tier.label), Text(f"{mark} {w(tier.status, lang)}", style=style),
                  f"{tier.criteria_met}/{tier.criteria_total}",
                  tier.region + (f" ({w('special_rule', lang).lower()})" if tier.region_reason else ""))
    console.print(t)
    console.print()

    c = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    c.add_column("#", justify="right")
    c.add_column(w("criterion", lang))
    for tier in o.tiers:
        c.add_column(tier.id, justify="center")
    numbers: list[tuple[str, str]] = []
    for tier in o.tiers:
        for cr in tier.criteria:
            if (cr.number, L(cr.name)) not in numbers:
                numbers.append((cr.number, L(cr.name)))
    # numbers mean different things in different tiers (318 App. I vs App. II): a row is a (number, name)
    by_tier = {tier.id: {(cr.number, L(cr.name)): cr for cr in tier.criteria} for tier in o.tiers}
    for num, name in numbers:
        cells = []
        for tier in o.tiers:
            cr = by_tier[tier.id].get((num, name))
            if cr is None:
                cells.append(Text("·", style="dim"))
            else:
                mark, style = MARK[cr.status]
                cells.append(Text(mark, style=style))
        c.add_row(num, name, *cells)
    console.print(c)

    for tier in o.tiers:
        if tier.status == "met":
            continue
        console.print()
        console.print(Text(f"{w('what_missing', lang)} — {L(tier.label)}:", style="bold"))
        if tier.requires and tier.requires_status != "met":
            console.print(f"  {w('requires', lang)}: {tier.requires} ({w(tier.requires_status or 'indeterminate', lang)})")
            if tier.requires_status == "not_met":
                # the lower tier decides; its own list above says what to do first (details: --format markdown)
                unmet = ", ".join(tier.unmet_criteria)
                if unmet:
                    console.print(f"  {w('also_unmet', lang)}: {unmet}")
                continue
        for cr in tier.criteria:
            if cr.status == "met":
                continue
            console.print(f"  {MARK[cr.status][0]} {w('criterion', lang)} {cr.number} — {L(cr.name)}")
            for ind in cr.indicators:
                if ind.status in ("pass", "not_applicable"):
                    continue
                mark, style = IMARK[ind.status]
                console.print(Text(f"      {mark} {ind.code} {L(ind.label)}", style=style))
                for cond in ind.conditions:
                    if cond.status == "pass":
                        continue
                    label = f"{L(cond.label)}: " if cond.label else ""
                    line = (f"          {label}{w('observed', lang).lower()} "
                            f"{observed_text(cond.observed, cond.unit, lang)} · {w('threshold', lang).lower()} "
                            f"{requirement(cond.op, cond.threshold, cond.unit, lang)}")
                    if cond.gap_text:
                        line += f" · {L(cond.gap_text)}"
                    if cond.status == "missing":
                        line += f" · {w('missing', lang).lower()} ({cond.fact})"
                    if cond.threshold is None:
                        line += f" · {reason_text(cond.threshold_reason, lang) or w('no_threshold', lang)}"
                    line += f" · {cond.citation.text}"
                    if cond.provenance.status == "provisional":
                        line += f" [{w('provisional', lang)}]"
                    console.print(Text(line))
        if tier.missing_evidence:
            console.print(f"  {w('missing_evidence', lang)}: {', '.join(tier.missing_evidence)}")
        if tier.missing_thresholds:
            items = ", ".join(f"{m.indicator} ({set_by_word(m.set_by, lang)}"
                              + (f"; {m.document}" if m.document else "") + ")" for m in tier.missing_thresholds)
            console.print(f"  {w('missing_thresholds', lang)}: {items}")
    if o.recognition is not None:
        r = o.recognition
        console.print()
        mark, style = MARK[r.status]
        console.print(Text(f"{L(r.label)}: {mark} {w(r.status, lang)}", style="bold " + style))
        for cr in r.criteria:
            for ind in cr.indicators:
                if ind.status in ("pass", "not_applicable"):
                    continue
                imark, istyle = IMARK[ind.status]
                detail = "; ".join(
                    f"{w('observed', lang).lower()} {observed_text(c.observed, c.unit, lang)}, "
                    f"{w('threshold', lang).lower()} {requirement(c.op, c.threshold, c.unit, lang)}"
                    + (f" ({reason_text(c.threshold_reason, lang)})" if c.threshold is None and c.threshold_reason else "")
                    for c in ind.conditions if c.status != "pass")
                console.print(Text(f"  {imark} {ind.code} {L(ind.label)} — {detail} · {ind.citation.text}", style=istyle))
        met_any = any(t.status == "met" for t in o.tiers)
        if met_any and r.status != "met":
            console.print(w("recognition_also", lang))
    if o.communes is not None:
        console.print()
        ct = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col in ("#", w("commune", lang), w("highest", lang), w("source", lang), ""):
            ct.add_column(col)
        for c in o.communes:
            src = (c.dossier or "") if c.source == "dossier" else f"{c.decision_number} ({c.decision_date})"
            why = "; ".join(L(r) for r in c.holding_back_reasons) or w("holding_back", lang)
            ct.add_row(c.code, c.name, c.highest_tier or "—", src, Text(why, style="red") if c.holding_back else "")
        console.print(ct)
    if o.townships:
        console.print()
        tt = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col in ("#", w("township", lang), ""):
            tt.add_column(col)
        for tw in o.townships:
            tt.add_row(tw.code, tw.name, Text(w("not_civilised", lang), style="red") if tw.holding_back
                       else w("civilised", lang))
        console.print(tt)
    if o.districts is not None:
        console.print()
        dt_ = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col in ("#", w("district_unit", lang), w("status", lang), w("source", lang), ""):
            dt_.add_column(col)
        for x in o.districts:
            src = (x.dossier or "") if x.source == "dossier" else f"{x.decision_number or ''} ({x.decision_date or ''})"
            dt_.add_row(x.code, x.name, x.status, src,
                        Text(w("holds_province_back", lang), style="red") if x.holding_back else "")
        console.print(dt_)
    for tier in o.tiers:
        if tier.region_reason:
            console.print()
            console.print(f"{w('special_rule', lang)} ({tier.id}): {tier.region_reason}")
            break
    if o.summary.decided_by_provisional:
        console.print()
        codes = []
        for tier in o.tiers:
            if tier.decided_by_provisional:
                codes.append(f"{tier.id}: " + ", ".join(sorted({p.indicator for p in tier.provisional_thresholds},
                                                               key=_code_key)))
        console.print(Text("⚠ " + w("provisional_warning", lang) + "; ".join(codes), style="yellow"))


def _code_key(code: str):
    return tuple(int(p) if p.isdigit() else p for p in code.replace("-", ".").split("."))


def law26_lines(o: Outcome, lang: str) -> list[tuple[str, str]]:
    """The commune group and why, what is not transcribed, a merged commune's status: (text, style)."""
    L = (lambda lbl: lbl.en if lang == "en" else lbl.vi)
    en = lang == "en"
    out = []
    for tr in o.transcription:
        if not tr.complete:
            out.append((("INCOMPLETE: " if en else "CHƯA ĐẦY ĐỦ: ") + L(tr.text), "bold yellow"))
        else:
            out.append((L(tr.text), ""))
    if o.commune_group:
        out.append((("Commune group: " if en else "Nhóm xã: ") + L(o.commune_group.reason), ""))
    if o.merged:
        m = o.merged
        out.append((("Merged commune: " if en else "Xã sau sắp xếp: ") + L(m.text), "bold"))
        for p in m.parts:
            st = (L(p.status_label) if p.status_label else p.status) or (
                "?" if p.source != "missing" else ("recognition missing" if en else "thiếu công nhận"))
            dec = f", {p.decision_number} ({p.decision_date})" if p.decision_number else ""
            flag = (" — MISSING RECOGNITION" if en else " — THIẾU CÔNG NHẬN") if p.missing_recognition else ""
            out.append((f"  {p.code} {p.name}: {st}{dec}{flag}" + (f" — {p.note}" if p.note else ""),
                        "yellow" if p.missing_recognition else ""))
    return out
