"""The province summary of a batch (schema "ntm-batch/1") as one self-contained HTML page with inline SVG charts.

It only arranges what `ntm batch` computed from engine outcomes; it decides nothing. Every key is optional
(`.get` with defaults), so a partial or older batch JSON still renders.
"""

from __future__ import annotations

from ntm.report import svg
from ntm.report.html import badge, e, page, t
from ntm.report.words import fmt_num, row_error_text
from ntm.report.words import BATCH_REPORT_WORDS as B, BATCH_INPUT_WORDS as INPUT_WORDS, BATCH_TIER_NAMES as TIER_NAMES


def lost_words(lang: str) -> str:
    """Units a batch could not evaluate because their engine worker died: said at the top of every report."""
    from ntm.report.words import BATCH_LOST_WORDS

    vi, en = BATCH_LOST_WORDS["lost"]
    return en if lang == "en" else vi


def bw(key: str, lang: str) -> str:
    vi, en = B[key]
    return en if lang == "en" else vi


def tier_name(tid, lang: str, summary: dict | None = None) -> str:
    """A tier's name from the ruleset's labels the batch carries (summary.tier_labels); batch JSON written
    before it carried them falls back to the names of the shipped rulesets."""
    lab = _d(_d(summary).get("tier_labels")).get(str(tid))
    if lab:
        return label(lab, lang)
    vi, en = TIER_NAMES.get(str(tid), (str(tid), str(tid)))
    return en if lang == "en" else vi


def tier_name_of(data: dict, tid, lang: str) -> str:
    return tier_name(tid, lang, _d(data.get("summary")))


def made_date() -> str:
    """The date a document is made: today, or SOURCE_DATE_EPOCH (reproducible builds) when it is set."""
    import datetime as dt
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date().isoformat()
    return dt.date.today().isoformat()


def province_of(data: dict) -> str | None:
    """The province a batch is about: the overlay's, else the one every unit names."""
    ov = _d(data.get("overlay"))
    if ov.get("province"):
        return str(ov["province"])
    names = {_d(u).get("province") for u in _l(data.get("units"))} - {None, ""}
    return names.pop() if len(names) == 1 else None


def label(obj, lang: str) -> str:
    """A {vi, en} label, or a plain string."""
    if isinstance(obj, dict):
        return str(obj.get("en" if lang == "en" else "vi") or obj.get("vi") or obj.get("en") or "")
    return "" if obj is None else str(obj)


def _d(x) -> dict:
    return x if isinstance(x, dict) else {}


def _l(x) -> list:
    return x if isinstance(x, list) else []


def tier_order(data: dict) -> list[str]:
    """Tier ids in the order the summary lists them (the rulesets' ladder), then any others as they appear."""
    seen: list[str] = list(_d(_d(data.get("summary")).get("tiers")))
    for u in _l(data.get("units")):
        for tid in _d(_d(u).get("tiers")):
            if tid not in seen:
                seen.append(tid)
    return seen


def histogram(data: dict, tier: str = "standard") -> list[tuple[str, int]]:
    """How many communes meet 0, 1, …, N criteria of a tier (from each unit's engine counts)."""
    counts: dict[int, int] = {}
    total = 0
    for u in _l(data.get("units")):
        c = _d(_d(_d(u).get("criteria")).get(tier))
        if isinstance(c.get("met"), int):
            counts[c["met"]] = counts.get(c["met"], 0) + 1
            if isinstance(c.get("total"), int):
                total = max(total, c["total"])
    if not counts:
        return []
    top = max(total, max(counts))
    return [(str(k), counts.get(k, 0)) for k in range(top + 1)]


def highest_by_district(data: dict) -> list[tuple[str, dict[str, int]]]:
    """Per district, how many units have each highest tier (none/standard/advanced/model)."""
    out: dict[str, dict[str, int]] = {}
    for u in _l(data.get("units")):
        u = _d(u)
        if u.get("status", "ok") != "ok":
            continue
        d = str(u.get("district") or "—")
        h = str(u.get("highest_tier") or "none")
        out.setdefault(d, {})
        out[d][h] = out[d].get(h, 0) + 1
    return sorted(out.items())


def input_text(x, lang: str = "vi") -> str:
    """The batch's input: a path, or {path, kind, rows[, sheet]} (the workbook sheet that was read)."""
    if isinstance(x, dict):
        extra = ", ".join(f"{INPUT_WORDS[k][lang == 'en']} {x[k]}" for k in ("kind", "rows", "sheet")
                          if x.get(k) is not None)
        return f"{x.get('path', '')}" + (f" ({extra})" if extra else "")
    return "—" if x is None else str(x)


def fmt(x, lang: str) -> str:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return fmt_num(x, lang, 2)
    return "—" if x is None else str(x)


def pct(x, lang: str) -> str:
    return "—" if x is None else fmt(float(x), lang) + "%"


def render(data: dict, lang: str = "vi") -> str:
    s = _d(data.get("summary"))
    rs = _d(data.get("ruleset"))
    ov = data.get("overlay")
    tiers = tier_order(data)
    title = bw("batch_title", lang)
    body = [f"<header><h1>{e(title)}</h1>"]
    meta = [(bw("input", lang), input_text(data.get("input"), lang))]
    if rs:
        meta.append((t("ruleset", lang), f"{rs.get('id', '')} v{rs.get('version', '')}"
                     + (f" — sha256 {rs['sha256']}" if rs.get("sha256") else "")))
    if isinstance(ov, dict):
        tag = f" [{t('illustrative', lang)}]" if ov.get("illustrative") else ""
        meta.append((t("overlay", lang), f"{ov.get('id', '')}" + (f" — {label(ov['title'], lang)}" if ov.get("title") else "")
                     + tag + (f" — sha256 {ov['sha256']}" if ov.get("sha256") else "")))
    province = province_of(data)
    if province:
        meta.append((t("province", lang), province))
    meta.append((bw("made", lang), made_date()))
    body.append('<table class="meta">' + "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in meta)
                + "</table></header>")
    if isinstance(ov, dict) and ov.get("illustrative"):
        body.append(f'<div class="danger" id="illustrative"><b>⚠ {e(bw("illustrative", lang))}</b></div>')
    prov = [str(_d(u).get("code", "")) for u in _l(data.get("units")) if _d(u).get("decided_by_provisional")]
    if prov:
        body.append(f'<div class="warn" id="provisional-warning"><b>⚠ {e(bw("provisional_units", lang).format(n=len(prov)))}'
                    f"</b> {e(', '.join(prov))}</div>")
    lost = [str(x) for x in _l(s.get("lost"))]
    if lost:
        body.append(f'<div class="danger" id="lost-units"><b>⚠ {e(lost_words(lang))}: {len(lost)}</b> '
                    f"{e(', '.join(lost))}</div>")
    n_units = s.get("units", len(_l(data.get("units"))))
    n_err = s.get("errors", len(_l(data.get("errors"))))
    cards = [(bw("units", lang), n_units, "units"), (bw("evaluated", lang), s.get("evaluated", "—"), "evaluated"),
             (bw("errors", lang), n_err, "errors"), (bw("avg_met", lang), fmt(s.get("avg_criteria_met"), lang), "avg")]
    body.append('<section id="summary"><div class="cards">' + "".join(
        f'<div class="card" id="card-{k}"><b>{e(v)}</b>{e(name)}</div>' for name, v, k in cards) + "</div>")
    st = _d(s.get("tiers"))
    if st:
        body.append(f"<h2>{e(bw('tiers', lang))}</h2><table id=\"tiers\"><tr><th>{e(bw('tier', lang))}</th>"
                    f"<th>{e(t('met', lang))}</th><th>{e(bw('pct', lang))}</th><th>{e(t('not_met', lang))}</th>"
                    f"<th>{e(t('indeterminate', lang))}</th></tr>")
        for tid in tiers:
            x = _d(st.get(tid))
            if not x:
                continue
            body.append(f"<tr><td>{e(tier_name(tid, lang, s))}</td><td class=\"num\">{e(x.get('met', 0))}</td>"
                        f"<td class=\"num\">{e(pct(x.get('pct'), lang))}</td>"
                        f"<td class=\"num\">{e(x.get('not_met', 0))}</td>"
                        f"<td class=\"num\">{e(x.get('indeterminate', 0))}</td></tr>")
        body.append("</table>")
    body.append("</section>")
    bands = _d(s.get("bands"))
    if bands:
        items = [(str(b), int(v or 0)) for b, v in bands.items()]  # the ruleset's order, most criteria first
        body.append(f'<section id="bands"><h2>{e(bw("bands", lang))}</h2>'
                    + svg.hbars(items, bw("bands", lang)) + "</section>")
    hist = histogram(data)
    if hist:
        body.append(f'<section id="histogram"><h2>{e(bw("histogram", lang))}</h2>'
                    + svg.columns(hist, bw("histogram", lang))
                    + f'<p class="note">{e(bw("n_criteria", lang))} (0–{e(hist[-1][0])})</p></section>')
    body.append(_districts(data, s, tiers, lang))
    body.append(_most_failed(s, lang))
    body.append(_priority(s, lang))
    body.append(_trend(data.get("compare"), tiers, lang, s))
    body.append(_units(data, tiers, lang))
    body.append(_errors(data, lang))
    return page(title, [b for b in body if b], lang)


def _districts(data: dict, s: dict, tiers: list[str], lang: str) -> str:
    ds = [_d(x) for x in _l(s.get("districts"))]
    stack = highest_by_district(data)
    if not ds and not stack:
        return ""
    html = [f'<section id="districts"><h2>{e(bw("by_district", lang))}</h2>']
    if ds:
        html.append(f"<table><tr><th>{e(bw('district', lang))}</th><th>{e(bw('units', lang))}</th>"
                    + "".join(f"<th>{e(tier_name(x, lang, s))}</th>" for x in tiers)
                    + f"<th>{e(bw('avg_met', lang))}</th></tr>")
        for d in ds:
            dt_ = _d(d.get("tiers"))
            html.append(f"<tr><td>{e(d.get('district') or '—')}</td><td class=\"num\">{e(d.get('units', ''))}</td>"
                        + "".join(f"<td class=\"num\">{e(dt_.get(x, 0))}</td>" for x in tiers)
                        + f"<td class=\"num\">{e(fmt(d.get('avg_criteria_met'), lang))}</td></tr>")
        html.append("</table>")
    if stack:
        seen = {h for _, counts in stack for h in counts}
        segs = [("none", tier_name("none", lang))] + [(k, tier_name(k, lang, s)) for k in tiers if k in seen]
        html.append(svg.stacked(stack, segs, bw("by_district", lang)))
    html.append("</section>")
    return "\n".join(html)


def _most_failed(s: dict, lang: str) -> str:
    crit = [_d(x) for x in _l(s.get("most_failed_criteria"))]
    inds = [_d(x) for x in _l(s.get("most_failed_indicators"))]
    if not crit and not inds:
        return ""
    html = ['<section id="most-failed">']
    if crit:
        html.append(f"<h2>{e(bw('most_failed_criteria', lang))}</h2>")
        html.append(svg.hbars([(f"{tier_name(c.get('tier'), lang, s)[:14]} {c.get('number', '')}", int(c.get("count", 0)))
                               for c in crit[:10]], bw("most_failed_criteria", lang), color="#c62828"))
        html.append(f"<table><tr><th>{e(bw('tier', lang))}</th><th>{e(bw('criterion', lang))}</th>"
                    f"<th>{e(bw('count', lang))}</th></tr>" + "".join(
                        f"<tr><td>{e(tier_name(c.get('tier'), lang, s))}</td><td>{e(c.get('number', ''))}. "
                        f"{e(label(c.get('name'), lang))}</td><td class=\"num\">{e(c.get('count', 0))}</td></tr>"
                        for c in crit) + "</table>")
    if inds:
        html.append(f"<h2>{e(bw('most_failed_indicators', lang))}</h2>")
        html.append(f"<table><tr><th>{e(bw('tier', lang))}</th><th>{e(bw('indicator', lang))}</th>"
                    f"<th>{e(bw('count', lang))}</th></tr>" + "".join(
                        f"<tr><td>{e(tier_name(i.get('tier'), lang, s))}</td><td>{e(i.get('code', ''))} "
                        f"{e(label(i.get('label'), lang))}</td><td class=\"num\">{e(i.get('count', 0))}</td></tr>"
                        for i in inds) + "</table>")
    html.append("</section>")
    return "\n".join(html)


def _priority(s: dict, lang: str) -> str:
    pr = [_d(x) for x in _l(s.get("priority"))]
    if not pr:
        return ""
    return (f'<section id="priority"><h2>{e(bw("priority", lang))}</h2><table><tr><th>{e(bw("code", lang))}</th>'
            f"<th>{e(bw('name', lang))}</th><th>{e(bw('tier', lang))}</th><th>{e(bw('missing_criteria', lang))}</th>"
            f"<th>{e(bw('distance', lang))}</th></tr>" + "".join(
                f"<tr><td>{e(p.get('code', ''))}</td><td>{e(p.get('name', ''))}</td>"
                f"<td>{e(tier_name(p.get('tier'), lang, s))}</td>"
                f"<td>{e(', '.join(str(x) for x in _l(p.get('missing_criteria'))))}</td>"
                f"<td class=\"num\">{e(fmt(p.get('distance'), lang))}</td></tr>" for p in pr)
            + "</table></section>")


def _trend(cmp, tiers: list[str], lang: str, s: dict | None = None) -> str:
    if not isinstance(cmp, dict):
        return ""
    delta = cmp.get("avg_criteria_delta")
    sign = "+" if isinstance(delta, (int, float)) and delta > 0 else ""
    html = [f'<section id="trend"><h2>{e(bw("trend", lang))}</h2><table class="meta">',
            f"<tr><td>{e(bw('previous', lang))}</td><td>{e(cmp.get('previous') or '—')}</td></tr>",
            f"<tr><td>{e(bw('avg_delta', lang))}</td><td>{e(sign + fmt(delta, lang))}</td></tr></table>"]
    td = _d(cmp.get("tiers_delta"))
    if td:
        order = [x for x in tiers if x in td] + sorted(x for x in td if x not in tiers)
        html.append(f"<h3>{e(bw('tiers_delta', lang))}</h3>")
        html.append("<table><tr>" + "".join(f"<th>{e(tier_name(x, lang, s))}</th>" for x in order) + "</tr><tr>"
                    + "".join(f"<td class=\"num\">{e(('+' if (td[x] or 0) > 0 else '') + str(td[x]))}</td>"
                              for x in order) + "</tr></table>")
    for key in ("gained", "lost"):
        rows = [_d(x) for x in _l(cmp.get(key))]
        html.append(f"<h3>{e(bw(key, lang))} ({len(rows)})</h3>")
        if rows:
            html.append("<ul>" + "".join(f"<li>{e(r.get('code', ''))} {e(r.get('name', ''))} — "
                                         f"{e(tier_name(r.get('tier'), lang, s))}</li>" for r in rows) + "</ul>")
    html.append("</section>")
    return "\n".join(html)


def _units(data: dict, tiers: list[str], lang: str) -> str:
    units = [_d(x) for x in _l(data.get("units"))]
    if not units:
        return ""
    main = [x for x in tiers if x != "recognition"]
    s = _d(data.get("summary"))
    html = [f'<section id="units"><h2>{e(bw("per_unit", lang))}</h2><table><tr><th>{e(bw("row", lang))}</th>'
            f"<th>{e(bw('code', lang))}</th><th>{e(bw('name', lang))}</th><th>{e(bw('district', lang))}</th>"
            + "".join(f"<th>{e(tier_name(x, lang, s))}</th>" for x in tiers)
            + f"<th>{e(bw('highest', lang))}</th><th>{e(bw('unmet', lang))} ({e(tier_name(main[0] if main else '', lang, s))})</th>"
            f"<th>{e(bw('provisional', lang))}</th></tr>"]
    for u in units:
        ts = _d(u.get("tiers"))
        cr = _d(_d(u.get("criteria")).get(main[0])) if main else {}
        met = f"{cr.get('met')}/{cr.get('total')}" if "met" in cr else ""
        unmet = ", ".join(str(x) for x in _l(cr.get("unmet")))
        html.append(f"<tr><td class=\"num\">{e(u.get('row', ''))}</td><td>{e(u.get('code', ''))}</td>"
                    f"<td>{e(u.get('name', ''))}</td><td>{e(u.get('district') or '—')}</td>"
                    + "".join(f"<td>{badge(ts[x], lang) if ts.get(x) in ('met', 'not_met', 'indeterminate') else ''}</td>"
                              for x in tiers)
                    + f"<td>{e(tier_name(u['highest_tier'], lang, s) if u.get('highest_tier') else '—')}</td>"
                    f"<td>{e(met)}{' — ' if unmet else ''}{e(unmet)}</td>"
                    f"<td>{e(bw('yes', lang)) if u.get('decided_by_provisional') else ''}</td></tr>")
    html.append("</table></section>")
    return "\n".join(html)


def _errors(data: dict, lang: str) -> str:
    errs = [_d(x) for x in _l(data.get("errors"))]
    if not errs:
        return ""
    return (f'<section id="errors"><h2>{e(bw("error_list", lang))} ({len(errs)})</h2><table><tr>'
            f"<th>{e(bw('row', lang))}</th><th>{e(bw('code', lang))}</th><th>{e(bw('file', lang))}</th>"
            f"<th>{e(bw('reason', lang))}</th></tr>" + "".join(
                f"<tr><td class=\"num\">{e(x.get('row', ''))}</td><td>{e(x.get('code', ''))}</td>"
                f"<td>{e(x.get('file', ''))}</td><td>{e(row_error_text(x.get('reason', ''), lang))}</td></tr>" for x in errs)
            + "</table></section>")
