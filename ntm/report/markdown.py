"""The appraisal view as Markdown: every criterion and indicator with value, threshold, gap and legal basis."""

from __future__ import annotations

from ntm.engine.outcome import Outcome
from ntm.report.inert import md_code, md_safe
from ntm.report.words import LEVELS, citation_text, cond_gap, natural_key, observed_text, pick, reason_text, requirement, w

MARK = {"met": "✅", "not_met": "❌", "indeterminate": "❔", "pass": "✅", "fail": "❌", "missing": "⏳",
        "not_applicable": "➖"}


def _esc(s) -> str:
    """User-supplied text (names, codes, labels from rulesets and overlays) as literal Markdown."""
    return md_safe(s)


def render(o: Outcome, lang: str = "vi") -> str:
    L = (lambda lbl: lbl.en if lang == "en" else lbl.vi)
    u = o.unit
    out = [f"# {_esc(u.name)} ({_esc(u.code)})", ""]
    level = pick(LEVELS.get(u.level, (u.level, u.level)), lang)
    out.append(f"- {w('unit', lang)}: {level}, {_esc(u.province or '—')}, {w('region', lang).lower()} {_esc(u.region)}")
    out.append(f"- {w('assessment', lang)}: {o.assessment_year}")
    out.append(f"- {w('ruleset', lang)}: `{md_code(o.ruleset.id)}` v{_esc(o.ruleset.version)} — {_esc(L(o.ruleset.title))} "
               f"(sha256 `{o.ruleset.sha256[:16]}`)")
    if o.overlay:
        tag = f" — *{w('illustrative', lang)}*" if o.overlay.illustrative else ""
        out.append(f"- {w('overlay', lang)}: `{md_code(o.overlay.id)}` — {_esc(L(o.overlay.title))}{tag}")
    for warn in o.warnings:
        out += ["", f"> ⚠ **{w('warning', lang)}: {_esc(L(warn.text))}**"]
    from ntm.report.terminal import law26_lines

    for text, style in law26_lines(o, lang):
        out.append(("- **" + _esc(text) + "**") if "bold" in style else ("- " + _esc(text.strip())))
    out += ["", f"| {w('tier', lang)} | {w('result', lang)} | {w('criteria_met', lang)} | {w('region', lang)} |",
            "|---|---|---:|---|"]
    for t in o.tiers:
        out.append(f"| {_esc(L(t.label))} | {MARK[t.status]} {w(t.status, lang)} | {t.criteria_met}/{t.criteria_total} | "
                   f"{_esc(t.region)}{' *' if t.region_reason else ''} |")
    for t in o.tiers:
        out += ["", f"## {_esc(L(t.label))} — {w(t.status, lang)}", ""]
        if t.region_reason:
            out += [f"*{w('special_rule', lang)}: {_esc(t.region_reason)}*", ""]
        out += [f"| {w('indicator', lang)} | | {w('observed', lang)} | {w('threshold', lang)} | {w('gap', lang)} | "
                f"{w('citation', lang)} | {w('provenance', lang)} |", "|---|---|---|---|---|---|---|"]
        for cr in t.criteria:
            out.append(f"| **{_esc(cr.number)}. {_esc(L(cr.name))}** | {MARK[cr.status]} | | | | | |")
            for ind in cr.indicators:
                for k, c in enumerate(ind.conditions):
                    name = f"{_esc(ind.code)} {_esc(L(ind.label))}" if k == 0 else f"↳ {_esc(L(c.label)) if c.label else ''}"
                    st = MARK[ind.status] if k == 0 else MARK.get(c.status, "❔")
                    gap = cond_gap(c, lang)
                    thr = requirement(c.op, c.threshold, c.unit, lang)
                    if c.threshold is None:
                        thr = f"— ({_esc(reason_text(c.threshold_reason, lang))})"
                    out.append(f"| {name} | {st} | {observed_text(c.observed, c.unit, lang, c.threshold, c.op)} | {thr} | {gap} | "
                               f"{_esc(citation_text(c.citation, lang))} | {w(c.provenance.status, lang) if c.provenance.status != 'missing' else '—'} |")
        if t.missing_evidence:
            out += ["", f"{w('missing_evidence', lang)}: " + ", ".join(f"`{md_code(f)}`" for f in t.missing_evidence)]
        if t.missing_thresholds:
            out += ["", f"{w('missing_thresholds', lang)}: " + ", ".join(
                _esc(m.indicator) + (f" ({_esc(m.document)})" if m.document else "") for m in t.missing_thresholds)]
    if o.recognition is not None:
        r = o.recognition
        out += ["", f"## {_esc(L(r.label))} — {MARK[r.status]} {w(r.status, lang)}", ""]
        for cr in r.criteria:
            for ind in cr.indicators:
                c = ind.conditions[0]
                out.append(f"- {MARK.get(ind.status, '❔')} {_esc(ind.code)} {_esc(L(ind.label))}: "
                           f"{observed_text(c.observed, c.unit, lang, c.threshold, c.op)} / "
                           f"{requirement(c.op, c.threshold, c.unit, lang)} ({_esc(citation_text(ind.citation, lang))})")
    if o.communes is not None:
        from ntm.report.tierlabels import commune_tiers

        names = commune_tiers(o, lang)[1]
        out += ["", f"| # | {w('commune', lang)} | {w('highest', lang)} | {w('source', lang)} | |", "|---|---|---|---|---|"]
        for c in o.communes:
            src = c.dossier if c.source == "dossier" else f"{c.decision_number} ({c.decision_date})"
            why = "; ".join(L(r) for r in c.holding_back_reasons) or w("holding_back", lang)
            out.append(f"| {_esc(c.code)} | {_esc(c.name)} | {_esc(names.get(c.highest_tier, c.highest_tier or '—'))} | "
                       f"{_esc(src or '')} | "
                       f"{_esc(why) if c.holding_back else ''} |")
    if o.townships:
        out += ["", f"| # | {w('township', lang)} | |", "|---|---|---|"]
        for tw in o.townships:
            out.append(f"| {_esc(tw.code)} | {_esc(tw.name)} | "
                       f"{w('not_civilised', lang) if tw.holding_back else w('civilised', lang)} |")
    if o.districts is not None:
        out += ["", f"| # | {w('district_unit', lang)} | {w('status', lang)} | {w('source', lang)} | |",
                "|---|---|---|---|---|"]
        for x in o.districts:
            src = x.dossier if x.source == "dossier" else f"{x.decision_number or ''} ({x.decision_date or ''})"
            out.append(f"| {_esc(x.code)} | {_esc(x.name)} | {_esc(x.status)} | {_esc(src or '')} | "
                       f"{w('holds_province_back', lang) if x.holding_back else ''} |")
    if o.summary.decided_by_provisional:
        out += ["", "> ⚠ " + w("provisional_warning", lang) + "; ".join(
            f"{_esc(L(t.label))}: " + ", ".join(sorted({_esc(p.indicator) for p in t.provisional_thresholds}, key=natural_key))
            for t in o.tiers if t.decided_by_provisional)]
    return "\n".join(out) + "\n"
