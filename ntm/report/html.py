"""The appraisal view as one self-contained HTML page (inline CSS, no scripts, no external assets).

It shows what the engine decided (the Outcome) and nothing else: every tier, criterion and indicator with the
observed value, threshold, gap, legal basis and the threshold's provenance. All user text is escaped; the page
has no timestamp, so the same outcome always gives the same bytes.
"""

from __future__ import annotations

from html import escape

from ntm.engine.outcome import ConditionOut, Outcome, TierOut
from ntm.report.words import (
    LEVELS,
    WORDS,
    citation_text,
    cond_gap,
    natural_key,
    observed_text,
    reason_text,
    requirement,
    set_by_word,
    w,
)
from ntm.report.words import HTML_WORDS as MORE


def t(key: str, lang: str) -> str:
    """A report word: this module's own, else the shared i18n table."""
    vi, en = MORE[key] if key in MORE else WORDS[key]
    return en if lang == "en" else vi


def e(x) -> str:
    return escape("" if x is None else str(x), quote=True)


CSS = """
*{box-sizing:border-box}
body{font-family:"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",Arial,sans-serif;margin:24px;color:#212121;
line-height:1.4;font-size:14px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f2f5f9}
td.num{text-align:right}
.meta td:first-child{width:200px;color:#555}
table.ind{font-size:13px}table.ind td{overflow-wrap:anywhere}
table.ind td.num,table.ind td.gap{overflow-wrap:normal;min-width:5.5em}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;font-weight:600;white-space:nowrap;
max-width:100%;overflow:hidden;text-overflow:ellipsis;vertical-align:baseline}
.s-met,.s-pass{background:#e8f5e9;color:#1b5e20}
.s-not_met,.s-fail{background:#ffebee;color:#b71c1c}
.s-indeterminate,.s-missing{background:#eeeeee;color:#424242}
.s-not_applicable{background:#f5f5f5;color:#757575}
.p-verified{background:#e3f2fd;color:#0d47a1}
.p-provisional{background:#fff3e0;color:#e65100}
.p-missing{background:#eeeeee;color:#616161}
tr.crit td{background:#fafafa;font-weight:600}
tr.crit.s-not_met td{background:#fff5f5}
.warn{border-left:5px solid #ef6c00;background:#fff3e0;padding:8px 12px;margin:10px 0}
.danger{border-left:5px solid #c62828;background:#ffebee;padding:8px 12px;margin:10px 0}
.note{color:#555;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{border:1px solid #ccc;border-radius:6px;padding:8px 14px;min-width:140px}
.card b{display:block;font-size:22px}
.scroll{overflow-x:auto}
code{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
footer{margin-top:30px;color:#777;font-size:12px}
@media (max-width:700px){body{margin:10px;font-size:15px}.meta td:first-child{width:32%}
table.ind,table.ind tbody,table.ind tr,table.ind td{display:block;width:auto!important;border:0}
table.ind colgroup,table.ind tr.head{display:none}
table.ind tr{border-top:1px solid #ccc;padding:4px 0}
table.ind td{padding:2px 4px;text-align:left}
table.ind td[data-label]:not(:empty)::before{content:attr(data-label) ": ";color:#555;font-weight:400}
table.ind td:empty{display:none}}
@page{size:A4;margin:12mm 10mm 14mm 10mm}
@media print{body{margin:0;font-size:8.5pt;line-height:1.25}h1{font-size:14pt}h2{font-size:11pt;margin:10px 0 4px;
break-after:avoid}h3{font-size:9.5pt;margin:6px 0 3px}
th,td{padding:1px 3px}table.ind{font-size:7.5pt}.badge{font-size:7pt;padding:0 4px}.note,code{font-size:7pt}
tr{break-inside:avoid}table.ind tr.pass td.prov .note{display:none}
.cards{display:block}.card{display:inline-block;margin:2px}footer{margin-top:8px}}
"""


def page(title: str, body: list[str], lang: str) -> str:
    return ("<!DOCTYPE html>\n"
            f'<html lang="{e(lang)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + f"\n<footer>{e(t('generated_by', lang))}</footer>\n</body></html>\n")


def badge(status: str, lang: str) -> str:
    return f'<span class="badge s-{e(status)}">{e(t(status, lang))}</span>'


def prov_badge(status: str, lang: str) -> str:
    word = t(status, lang) if status != "missing" else t("no_threshold_short", lang)
    return f'<span class="badge p-{e(status)}">{e(word)}</span>'


def render(o: Outcome, lang: str = "vi") -> str:
    L = (lambda lbl: lbl.en if lang == "en" else lbl.vi)
    u = o.unit
    body = [f"<header><h1>{e(t('title', lang))}: {e(u.name)} ({e(u.code)})</h1></header>"]
    body.append(_meta(o, lang, L))
    for warn in o.warnings:
        body.append(f'<div class="danger" id="{e(warn.code.replace("_", "-"))}"><b>⚠ {e(w("warning", lang))}: '
                    f'{e(L(warn.text))}</b></div>')
    if o.overlay is not None and o.overlay.illustrative:
        body.append(f'<div class="danger" id="illustrative"><b>⚠ {e(t("illustrative_banner", lang))}</b></div>')
    body.append(_law26(o, lang))
    body.append(_summary(o, lang, L))
    names = {x.id: L(x.label) for x in o.tiers}
    for tier in o.tiers:
        body.append(_tier(tier, lang, L, names=names))
    if o.recognition is not None:
        body.append(_tier(o.recognition, lang, L, recognition=True, names=names))
    if o.communes is not None:
        body.append(_communes(o, lang, L))
    if o.townships or o.districts is not None:
        body.append(_members(o, lang))
    return page(f"{t('title', lang)} — {u.name}", body, lang)


def _law26(o: Outcome, lang: str) -> str:
    """What is not transcribed (a warning box), the commune group and why, a merged commune's status."""
    from ntm.report.terminal import law26_lines

    html = []
    for text, style in law26_lines(o, lang):
        if "yellow" in style and "bold" in style:
            html.append(f'<div class="danger transcription"><b>⚠ {e(text)}</b></div>')
        elif text.startswith("  "):
            html.append(f'<p class="note merged-part">{e(text.strip())}</p>')
        else:
            html.append(f'<p class="law26">{e(text)}</p>')
    return "\n".join(html)


def _meta(o: Outcome, lang: str, L) -> str:
    u, r = o.unit, o.ruleset
    rows = [
        (t("level", lang), LEVELS.get(u.level, (u.level, u.level))[lang == "en"]),
        (t("province", lang), u.province or "—"),
        (t("district", lang), u.district or "—"), (t("region", lang), u.region),
        (t("flags", lang), ", ".join(u.flags) or "—"),
        (t("assessment", lang), o.assessment_year),
        (t("assessment_date", lang), o.assessment_date or "—"),
    ]
    html = ["<table class=\"meta\">"]
    for k, v in rows:
        html.append(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>")
    as_of = f", {t('as_of', lang)} {r.as_of}" if r.as_of else ""
    html.append(f"<tr><td>{e(t('ruleset', lang))}</td><td><code>{e(r.id)}</code> v{e(r.version)} — {e(L(r.title))}"
                f" ({e(t('version_in_force', lang))} {e(r.version_in_force)}{e(as_of)})<br>"
                f"<span class=\"note\">sha256 <code>{e(r.sha256)}</code></span></td></tr>")
    if o.overlay is not None:
        ov = o.overlay
        tag = f' <span class="badge s-not_met">{e(t("illustrative", lang))}</span>' if ov.illustrative else ""
        html.append(f"<tr><td>{e(t('overlay', lang))}</td><td><code>{e(ov.id)}</code> — {e(L(ov.title))}{tag}<br>"
                    f"<span class=\"note\">sha256 <code>{e(ov.sha256)}</code></span></td></tr>")
    html.append(f"<tr><td>{e(t('engine', lang))}</td><td>{e(o.engine.name)} {e(o.engine.version)}</td></tr>")
    html.append("</table>")
    return "\n".join(html)


def _summary(o: Outcome, lang: str, L) -> str:
    html = [f'<section id="summary"><h2>{e(t("summary", lang))}</h2>', "<table>",
            (f"<tr><th>{e(t('tier', lang))}</th><th>{e(t('result', lang))}</th>"
             f"<th>{e(t('criteria_met', lang))}</th><th>{e(t('unmet', lang))}</th>"
             f"<th>{e(t('undecided', lang))}</th><th>{e(t('region', lang))}</th></tr>")]
    for tier in o.tiers:
        html.append(f"<tr><td>{e(L(tier.label))}</td><td>{badge(tier.status, lang)}</td>"
                    f"<td class=\"num\">{tier.criteria_met}/{tier.criteria_total}</td>"
                    f"<td>{e(', '.join(tier.unmet_criteria))}</td><td>{e(', '.join(tier.undecided_criteria))}</td>"
                    f"<td>{e(tier.region)}{' *' if tier.region_reason else ''}</td></tr>")
    html.append("</table>")
    highest = next((L(x.label) for x in o.tiers if x.id == o.summary.highest_tier), None)
    html.append(f"<p><b>{e(t('highest', lang))}:</b> {e(highest or t('no_tier_met', lang))}</p>")
    rec = o.recognition
    if rec is not None:
        html.append(f"<p><b>{e(t('recognition', lang))}:</b> {badge(rec.status, lang)}</p>")
        if o.summary.tiers_met and rec.status != "met":
            needs = [f"{ind.code} {L(ind.label)}" for cr in rec.criteria for ind in cr.indicators
                     if ind.status not in ("pass", "not_applicable")]
            html.append(f'<div class="warn" id="recognition-needed">{e(t("recognition_blocked", lang))}'
                        f"{e('; '.join(needs))}</div>")
    if o.summary.decided_by_provisional:
        parts = [f"{L(x.label)}: " + ", ".join(sorted({p.indicator for p in x.provisional_thresholds}, key=natural_key))
                 for x in o.tiers if x.decided_by_provisional]
        html.append(f'<div class="warn" id="provisional-warning"><b>⚠ {e(t("provisional_warning", lang))}</b>'
                    f"{e('; '.join(parts))}</div>")
    html.append("</section>")
    return "\n".join(html)


def _cond_cells(c: ConditionOut, lang: str, L) -> str:
    thr = requirement(c.op, c.threshold, c.unit, lang)
    if c.threshold is None:
        thr = f"— ({reason_text(c.threshold_reason, lang)})" if c.threshold_reason else "—"
    gap = cond_gap(c, lang)
    ev = ""
    if c.evidence is not None:
        ev = " ".join(str(x) for x in (c.evidence.document, c.evidence.date, c.evidence.note) if x)
    prov_note = c.provenance.note or ""
    # provenance notes are written in English in the rulesets: only the English page shows them
    src = c.provenance.source
    src = (f"{t('overlay', lang)} {src.removeprefix('overlay ')}" if src.startswith("overlay ")
           else "" if src == "national" else src)
    title = set_by_word(c.provenance.set_by, lang) + (f"; {src}" if src else "") + (
        f"; {prov_note}" if prov_note and lang == "en" else "")
    return (f"<td class=\"fact\">{e(L(c.label) if c.label else L(c.fact_label))}<br><code>{e(c.fact)}</code></td>"
            f"<td class=\"num obs\" data-label=\"{e(t('observed', lang))}\">"
            f"{e(observed_text(c.observed, c.unit, lang, c.threshold, c.op))}</td>"
            f"<td class=\"num thr\" data-label=\"{e(t('threshold', lang))}\">{e(thr)}</td>"
            f"<td class=\"gap\" data-label=\"{e(t('gap', lang))}\">{e(gap)}</td>"
            f"<td class=\"res\">{badge(c.status, lang)}</td>"
            f"<td class=\"cit\" data-label=\"{e(t('citation', lang))}\">{e(citation_text(c.citation, lang))}</td>"
            f"<td class=\"prov\" title=\"{e(title)}\">{prov_badge(c.provenance.status, lang)}"
            + (f"<div class=\"note\">{e(prov_note)}</div>"
               if c.provenance.status == "provisional" and prov_note and lang == "en" else "")
            + f"</td><td class=\"ev\" data-label=\"{e(t('evidence', lang))}\">{e(ev)}</td>")


def _tier(tier: TierOut, lang: str, L, recognition: bool = False, names: dict | None = None) -> str:
    names = names or {}
    sid = "recognition" if recognition else f"tier-{tier.id}"
    html = [(f'<section id="{e(sid)}"><h2>{e(L(tier.label))} — {badge(tier.status, lang)} '
             f"<span class=\"note\">{tier.criteria_met}/{tier.criteria_total}</span></h2>")]
    if tier.requires:
        html.append(f"<p class=\"note\">{e(t('requires', lang))}: {e(names.get(tier.requires, tier.requires))}"
                    + (f" ({e(t(tier.requires_status, lang))})" if tier.requires_status else "") + "</p>")
    if tier.region_reason:
        html.append(f"<p class=\"note\">{e(t('special_rule', lang))}: {e(tier.region_reason)}</p>")
    html.append(f"<p class=\"note\">{e(t('citation', lang))}: {e(citation_text(tier.citation, lang))}</p>")
    if tier.decided_by_provisional:
        inds = ", ".join(sorted({p.indicator for p in tier.provisional_thresholds}, key=natural_key))
        html.append(f'<div class="warn">⚠ {e(t("provisional_decision", lang))}: {e(inds)}</div>')
    html.append('<table class="ind"><colgroup>'
                + "".join(f'<col style="width:{w}%">' for w in (19, 18, 9, 9, 10, 8, 10, 10, 7))
                + "</colgroup><tr class=\"head\">"
                + "".join(f"<th>{e(h)}</th>" for h in (
                    t("indicator", lang), t("fact", lang), t("observed", lang), t("threshold", lang),
                    t("gap", lang), t("result", lang), t("citation", lang), t("provenance", lang),
                    t("evidence", lang)))
                + "</tr>")
    for cr in tier.criteria:
        html.append(f'<tr class="crit s-{e(cr.status)}" id="{e(sid)}-c{e(cr.number)}">'
                    f'<td colspan="5">{e(t("criterion", lang))} {e(cr.number)}. {e(L(cr.name))}</td>'
                    f'<td>{badge(cr.status, lang)}</td><td colspan="3"></td></tr>')
        for ind in cr.indicators:
            n = len(ind.conditions)
            extra = []
            if n > 1:
                extra.append(t("k_of_n", lang).format(k=ind.required, n=n))
            if ind.applies_if:
                extra.append(f"{t('applies_if', lang)} {ind.applies_if}")
            head = (f"<td rowspan=\"{max(n, 1)}\"><b>{e(ind.code)}</b> {e(L(ind.label))} {badge(ind.status, lang)}"
                    + (f"<div class=\"note\">{e('; '.join(extra))}</div>" if extra else "") + "</td>")
            if not ind.conditions:
                html.append(f"<tr>{head}<td colspan=\"8\"></td></tr>")
            for k, c in enumerate(ind.conditions):
                html.append(f"<tr class=\"{e(c.status)}\">" + (head if k == 0 else "") + _cond_cells(c, lang, L) + "</tr>")
    html.append("</table>")
    if tier.missing_evidence:
        html.append(f"<h3>{e(t('missing_evidence_n', lang))} ({len(tier.missing_evidence)})</h3><p>"
                    + ", ".join(f"<code>{e(f)}</code>" for f in tier.missing_evidence) + "</p>")
    if tier.missing_thresholds:
        html.append(f"<h3>{e(t('missing_thresholds_n', lang))} ({len(tier.missing_thresholds)})</h3><ul>"
                    + "".join(f"<li>{e(m.indicator)} — {e(set_by_word(m.set_by, lang))}"
                              + (f": {e(reason_text(m.reason, lang))}" if m.reason else "")
                              + (f" ({e(m.document)})" if m.document else "") + "</li>"
                              for m in tier.missing_thresholds) + "</ul>")
    html.append("</section>")
    return "\n".join(html)


def _members(o: Outcome, lang: str) -> str:
    """A district's townships and a province's districts, towns and cities: who holds the unit back."""
    html = []
    if o.townships:
        html.append(f'<section id="townships"><h2>{e(w("township", lang))}</h2><table>')
        for tw in o.townships:
            html.append(f"<tr><td>{e(tw.code)}</td><td>{e(tw.name)}</td><td>"
                        + (f"<b>{e(w('not_civilised', lang))}</b>" if tw.holding_back else e(w("civilised", lang)))
                        + "</td></tr>")
        html.append("</table></section>")
    if o.districts is not None:
        html.append(f'<section id="districts"><h2>{e(w("district_unit", lang))}</h2><table><tr><th>#</th>'
                    f"<th>{e(w('district_unit', lang))}</th><th>{e(w('status', lang))}</th>"
                    f"<th>{e(w('source', lang))}</th><th></th></tr>")
        for x in o.districts:
            src = x.dossier if x.source == "dossier" else f"{x.decision_number or ''} ({x.decision_date or ''})"
            html.append(f"<tr><td>{e(x.code)}</td><td>{e(x.name)}</td><td>{e(x.status)}</td><td>{e(src or '')}</td>"
                        f"<td>{('<b>' + e(w('holds_province_back', lang)) + '</b>') if x.holding_back else ''}</td></tr>")
        html.append("</table></section>")
    return "\n".join(html)


def _communes(o: Outcome, lang: str, L) -> str:
    from ntm.report.tierlabels import commune_tiers

    tiers, names = commune_tiers(o, lang)
    html = [f'<section id="communes"><h2>{e(t("communes", lang))}</h2>', '<div class="scroll"><table><tr>'
            f"<th>#</th><th>{e(t('commune', lang))}</th>" + "".join(f"<th>{e(names[x])}</th>" for x in tiers)
            + f"<th>{e(t('highest', lang))}</th><th>{e(t('source', lang))}</th><th></th></tr>"]
    for c in o.communes or []:
        src = (f"{t('from_dossier', lang)}: {c.dossier}" if c.source == "dossier"
               else f"{t('declared', lang)}: {c.decision_number or ''} ({c.decision_date or ''})")
        html.append(f"<tr><td>{e(c.code)}</td><td>{e(c.name)}</td>"
                    + "".join(f"<td>{badge(c.tiers[x], lang) if x in c.tiers else ''}</td>" for x in tiers)
                    + f"<td>{e(names.get(c.highest_tier, c.highest_tier) if c.highest_tier else '—')}</td><td>{e(src)}</td>"
                    f"<td>{('<b>' + e('; '.join(L(r) for r in c.holding_back_reasons) or t('holding_back', lang)) + '</b>') if c.holding_back else ''}</td></tr>")
    html.append("</table></div>")
    back = [c for c in o.communes or [] if c.holding_back]
    if back:
        html.append(f'<div class="warn" id="holding-back"><b>{e(t("holding_back_title", lang))}:</b> '
                    + e(", ".join(f"{c.name} ({c.code})" for c in back)) + "</div>")
    html.append("</section>")
    return "\n".join(html)
