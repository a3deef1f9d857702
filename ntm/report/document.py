"""The appraisal report (and the batch report) as a list of blocks that both the PDF and the Word writer lay out.

One arrangement, two writers: the PDF and the .docx always say the same thing in the same order. The blocks
only arrange what the engine decided (an Outcome, or the batch document `ntm batch` made); nothing here decides.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from ntm.report.words import (
    LEVELS,
    citation_text,
    cond_gap,
    fmt_num,
    fmt_pct,
    label,
    natural_key,
    observed_text,
    pick,
    reason_text,
    requirement,
    row_error_text,
    set_by_word,
    w,
)
from ntm.report.words import DOC_WORDS


def dw(key: str, lang: str) -> str:
    return pick(DOC_WORDS[key], lang)


@dataclass
class Block:
    """kind: h1 | h2 | h3 | p | note | warn | danger | kv | table | signature."""

    kind: str
    text: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)  # relative column widths
    status: list[str] = field(default_factory=list)    # per row: a status that colours the row, or ""


@dataclass
class Document:
    title: str
    header_left: str
    header_right: str
    footer: str
    lang: str
    blocks: list[Block]


def nfc(s) -> str:
    return unicodedata.normalize("NFC", "" if s is None else str(s))


def _status(status: str, lang: str) -> str:
    return w(status, lang)


def appraisal(o, lang: str = "vi", made: str | None = None) -> Document:
    """The appraisal view of one Outcome: unit, rules applied, tiers, every criterion and indicator with observed
    value, threshold, gap and legal basis, then the signature block for the council."""
    L = (lambda lbl: label(lbl, lang))
    u, r = o.unit, o.ruleset
    names = {t.id: L(t.label) for t in o.tiers}
    b: list[Block] = [Block("h1", f"{dw('title', lang)}: {u.name} ({u.code})")]
    kv = [[dw("level", lang), pick(LEVELS.get(u.level, (u.level, u.level)), lang)],
          [w("province", lang), u.province or "—"], [dw("district", lang), u.district or "—"],
          [w("region", lang), u.region], [dw("flags", lang), ", ".join(u.flags) or "—"],
          [w("assessment", lang), str(o.assessment_year)],
          [dw("assessment_date", lang), str(o.assessment_date or "—")],
          [w("ruleset", lang), f"{r.id} v{r.version} — {L(r.title)} ({w('version_in_force', lang)} "
                               f"{r.version_in_force}{', ' + w('as_of', lang) + ' ' + str(r.as_of) if r.as_of else ''})"
                               f"; sha256 {r.sha256[:16]}…"]]
    if o.overlay is not None:
        ov = o.overlay
        tag = f" [{w('illustrative', lang)}]" if ov.illustrative else ""
        kv.append([w("overlay", lang), f"{ov.id} — {L(ov.title)}{tag}; sha256 {ov.sha256[:16]}…"])
    kv.append([dw("engine", lang), f"{o.engine.name} {o.engine.version}"])
    if made:
        kv.append([w("date_made", lang), made])
    b.append(Block("kv", rows=kv, widths=[28, 72]))
    for warn in getattr(o, "warnings", None) or []:  # rules applied outside their period, and the like
        b.append(Block("danger", f"⚠ {w('warning', lang)}: {L(warn.text)}"))
    if o.overlay is not None and o.overlay.illustrative:
        b.append(Block("danger", "⚠ " + dw("illustrative_banner", lang)))
    b.append(Block("h2", dw("summary", lang)))
    rows, st = [], []
    for t in o.tiers:
        rows.append([L(t.label), _status(t.status, lang), f"{t.criteria_met}/{t.criteria_total}",
                     ", ".join(t.unmet_criteria), ", ".join(t.undecided_criteria)])
        st.append(t.status)
    b.append(Block("table", headers=[w("tier", lang), w("result", lang), w("criteria_met", lang),
                                     dw("unmet", lang), dw("undecided", lang)],
                   rows=rows, widths=[30, 12, 11, 20, 27], status=st))
    highest = names.get(o.summary.highest_tier) if o.summary.highest_tier else None
    b.append(Block("p", f"{w('highest', lang)}: {highest or dw('no_tier_met', lang)}"))
    rec = o.recognition
    if rec is not None:
        b.append(Block("p", f"{L(rec.label)}: {_status(rec.status, lang)}"))
        if o.summary.tiers_met and rec.status != "met":
            needs = [f"{ind.code} {L(ind.label)}" for cr in rec.criteria for ind in cr.indicators
                     if ind.status not in ("pass", "not_applicable")]
            b.append(Block("warn", dw("recognition_blocked", lang) + "; ".join(needs)))
    if o.summary.decided_by_provisional:
        parts = [f"{L(x.label)}: " + ", ".join(sorted({p.indicator for p in x.provisional_thresholds},
                                                      key=natural_key))
                 for x in o.tiers if x.decided_by_provisional]
        b.append(Block("warn", "⚠ " + w("provisional_warning", lang) + "; ".join(parts)))
    for t in list(o.tiers) + ([rec] if rec is not None else []):
        b += _tier_blocks(t, lang, L, names)
    if o.communes is not None:
        b += _commune_blocks(o, lang, L, names)
    b.append(Block("signature"))
    return Document(title=f"{dw('title', lang)} — {u.name}", header_left=f"{u.name} ({u.code})",
                    header_right=f"{r.id} v{r.version}" + (f" + {o.overlay.id}" if o.overlay else ""),
                    footer=dw("generated_by", lang), lang=lang, blocks=b)


def _tier_blocks(t, lang: str, L, names: dict) -> list[Block]:
    out = [Block("h2", f"{L(t.label)} — {_status(t.status, lang)} ({t.criteria_met}/{t.criteria_total})")]
    notes = []
    if t.requires:
        notes.append(f"{w('requires', lang)}: {names.get(t.requires, t.requires)}"
                     + (f" ({_status(t.requires_status, lang)})" if t.requires_status else ""))
    if t.region_reason:
        notes.append(f"{w('special_rule', lang)}: {t.region_reason}")
    notes.append(f"{w('citation', lang)}: {citation_text(t.citation, lang)}")
    out.append(Block("note", " · ".join(notes)))
    rows, st = [], []
    for cr in t.criteria:
        rows.append([f"{w('criterion', lang)} {cr.number}. {L(cr.name)}", "", "", "", _status(cr.status, lang), ""])
        st.append("crit-" + cr.status)
        for ind in cr.indicators:
            extra = f" ({dw('k_of_n', lang).format(k=ind.required, n=len(ind.conditions))})" \
                if len(ind.conditions) > 1 else ""
            for k, c in enumerate(ind.conditions):
                name = (f"{ind.code} {L(ind.label)}{extra}" if k == 0 else "") + \
                       (f"\n↳ {L(c.label)}" if c.label and len(ind.conditions) > 1 else "")
                thr = requirement(c.op, c.threshold, c.unit, lang)
                if c.threshold is None:
                    thr = f"— ({reason_text(c.threshold_reason, lang)})" if c.threshold_reason else "—"
                prov = w(c.provenance.status, lang) if c.provenance.status != "missing" else ""
                cite = citation_text(c.citation, lang) + (f" [{prov}]" if prov else "")
                res = _status(ind.status if k == 0 else c.status, lang)
                rows.append([name, observed_text(c.observed, c.unit, lang, c.threshold, c.op), thr,
                             cond_gap(c, lang), res, cite])
                st.append(c.status)
            if not ind.conditions:
                rows.append([f"{ind.code} {L(ind.label)}", "", "", "", _status(ind.status, lang), ""])
                st.append(ind.status)
    out.append(Block("table", headers=[w("indicator", lang), w("observed", lang), w("threshold", lang),
                                       w("gap", lang), w("result", lang), w("citation", lang)],
                     rows=rows, widths=[38, 12, 12, 14, 9, 15], status=st))
    if t.missing_evidence:
        out.append(Block("p", f"{w('missing_evidence', lang)}: {', '.join(t.missing_evidence)}"))
    if t.missing_thresholds:
        out.append(Block("p", f"{w('missing_thresholds', lang)}: " + "; ".join(
            f"{m.indicator} ({set_by_word(m.set_by, lang)})" for m in t.missing_thresholds)))
    return out


def _commune_blocks(o, lang: str, L, names: dict) -> list[Block]:
    from ntm.report.tierlabels import commune_tiers

    tiers, names = commune_tiers(o, lang)
    rows, st = [], []
    for c in o.communes or []:
        src = (f"{dw('from_dossier', lang)}: {c.dossier}" if c.source == "dossier"
               else f"{dw('declared', lang)}: {c.decision_number or ''} ({c.decision_date or ''})")
        rows.append([c.code, c.name, *[_status(c.tiers[x], lang) if x in c.tiers else "" for x in tiers],
                     names.get(c.highest_tier, c.highest_tier) if c.highest_tier else "—", src,
                     ("; ".join(L(r) for r in getattr(c, "holding_back_reasons", None) or [])
                      or w("holding_back", lang)) if c.holding_back else ""])
        st.append("not_met" if c.holding_back else "")
    n = len(tiers)
    return [Block("h2", dw("communes", lang)),
            Block("table", headers=["#", w("commune", lang), *[names[x] for x in tiers], w("highest", lang),
                                    w("source", lang), ""],
                  rows=rows, widths=[8, 16, *[10] * n, 14, 22, 16], status=st)]


# --------------------------------------------------------------------------------------------------- batch


def batch(doc: dict, lang: str = "vi") -> Document:
    """The province summary of a batch document: what it was run on (ruleset, overlay, warnings), the tiers,
    bands, most failed criteria, priority communes, districts, every unit, and the rows not evaluated."""
    from ntm.report.batch_html import made_date, province_of, tier_name_of

    s = doc.get("summary") or {}
    rs = doc.get("ruleset") or {}
    ov = doc.get("overlay") or None
    tiers = list(s.get("tiers") or {})
    tn = (lambda tid: tier_name_of(doc, tid, lang))
    b: list[Block] = [Block("h1", dw("batch_title", lang))]
    inp = doc.get("input") or {}
    kv = [[dw("input", lang), str(inp.get("path", "—") if isinstance(inp, dict) else inp)]]
    if rs:
        kv.append([w("ruleset", lang), f"{rs.get('id')} v{rs.get('version')}"
                   + (f" — {label(rs.get('title'), lang)}" if rs.get("title") else "")])
    if ov:
        tag = f" [{w('illustrative', lang)}]" if ov.get("illustrative") else ""
        kv.append([w("overlay", lang), f"{ov.get('id')}{' — ' + label(ov.get('title'), lang) if ov.get('title') else ''}{tag}"])
    if province_of(doc):
        kv.append([w("province", lang), province_of(doc)])
    kv.append([w("date_made", lang), made_date()])
    kv += [[dw("units", lang), str(s.get("units", "—"))], [dw("evaluated", lang), str(s.get("evaluated", "—"))],
           [dw("errors", lang), str(s.get("errors", "—"))],
           [dw("avg_met", lang), fmt_num(s.get("avg_criteria_met"), lang, 2)]]
    b.append(Block("kv", rows=kv, widths=[28, 72]))
    if ov and ov.get("illustrative"):
        b.append(Block("danger", "⚠ " + dw("illustrative_banner", lang)))
    prov = [u.get("code") for u in doc.get("units") or [] if u.get("decided_by_provisional")]
    if prov:
        b.append(Block("warn", "⚠ " + dw("provisional_units_text", lang).format(n=len(prov), codes=", ".join(prov))))
    b.append(Block("h2", w("tier", lang)))
    b.append(Block("table", headers=[w("tier", lang), w("met", lang), dw("share", lang), w("not_met", lang),
                                     w("indeterminate", lang)],
                   rows=[[tn(t), str(v.get("met", 0)), fmt_pct(v.get("pct"), lang), str(v.get("not_met", 0)),
                          str(v.get("indeterminate", 0))] for t, v in (s.get("tiers") or {}).items()],
                   widths=[40, 15, 15, 15, 15]))
    if s.get("bands"):
        b.append(Block("h2", dw("bands", lang)))
        b.append(Block("table", headers=[w("criteria_met", lang), dw("count", lang)],
                       rows=[[k, str(v)] for k, v in s["bands"].items()], widths=[50, 50]))
    if s.get("most_failed_criteria"):
        b.append(Block("h2", dw("most_failed", lang)))
        b.append(Block("table", headers=[w("tier", lang), w("criterion", lang), dw("count", lang)],
                       rows=[[tn(c["tier"]), f"{c['number']} {label(c.get('name'), lang)}", str(c["count"])]
                             for c in s["most_failed_criteria"][:15]], widths=[30, 55, 15]))
    if s.get("priority"):
        b.append(Block("h2", dw("priority", lang)))
        b.append(Block("table", headers=[dw("code", lang), dw("name", lang), dw("district", lang), w("tier", lang),
                                         dw("missing_criteria", lang)],
                       rows=[[p["code"], p["name"], p.get("district") or "", tn(p["tier"]),
                              ", ".join(p["missing_criteria"])] for p in s["priority"]],
                       widths=[12, 28, 20, 22, 18]))
    if s.get("districts"):
        b.append(Block("h2", dw("by_district", lang)))
        b.append(Block("table", headers=[dw("district", lang), dw("units", lang), *[tn(t) for t in tiers],
                                         dw("avg_met", lang)],
                       rows=[[d["district"], str(d["units"]), *[str(d["tiers"].get(t, 0)) for t in tiers],
                              fmt_num(d.get("avg_criteria_met"), lang, 2)] for d in s["districts"]],
                       widths=[30, 10, *[max(8, 45 // max(1, len(tiers)))] * len(tiers), 15]))
    units = doc.get("units") or []
    if units:
        b.append(Block("h2", dw("per_unit", lang)))
        rows, st = [], []
        for u in units:
            std = (u.get("criteria") or {}).get(tiers[0]) if tiers else None
            rows.append([str(u.get("row") if u.get("row") is not None else u.get("file") or ""), u.get("code", ""),
                         u.get("name", ""), u.get("district") or "",
                         tn(u["highest_tier"]) if u.get("highest_tier") else dw("no_tier_met", lang),
                         f"{std['met']}/{std['total']}" if std else "",
                         ", ".join(std["unmet"]) if std else "",
                         w("provisional", lang) if u.get("decided_by_provisional") else ""])
            st.append("met" if u.get("highest_tier") else "not_met")
        b.append(Block("table", headers=[dw("row", lang), dw("code", lang), dw("name", lang), dw("district", lang),
                                         w("highest", lang), w("criteria_met", lang), dw("unmet", lang), ""],
                       rows=rows, widths=[6, 10, 20, 16, 18, 9, 12, 9], status=st))
    if doc.get("errors"):
        b.append(Block("h2", dw("error_list", lang)))
        b.append(Block("table", headers=[dw("row", lang), dw("code", lang), dw("reason", lang)],
                       rows=[[str(e.get("row") if e.get("row") is not None else e.get("file") or ""),
                              e.get("code") or "", row_error_text(e.get("reason"), lang)] for e in doc["errors"]],
                       widths=[10, 15, 75]))
    right = f"{rs.get('id')} v{rs.get('version')}" if rs else ""
    if ov:
        right += f" + {ov.get('id')}"
    return Document(title=dw("batch_title", lang),
                    header_left=province_of(doc) or (str(inp.get("path", "")) if isinstance(inp, dict) else ""),
                    header_right=right, footer=dw("generated_by", lang), lang=lang, blocks=b)
