"""The province summary of a batch (schema "ntm-batch/1") as plain Markdown: the HTML report's content, no charts
(the bands and the criteria-met histogram become small tables)."""

from __future__ import annotations

from ntm.report.batch_html import (
    _d,
    _l,
    bw,
    lost_words,
    fmt,
    highest_by_district,
    histogram,
    input_text,
    label,
    made_date,
    pct,
    province_of,
    tier_name,
    tier_order,
)
from ntm.report.inert import md_code, md_safe
from ntm.report.words import row_error_text, w


def _c(x) -> str:
    """A Markdown table cell: user text cannot break the table or inject markup lines."""
    return "—" if x is None else md_safe(x)


def _table(head: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(_c(h) for h in head) + " |", "|" + "---|" * len(head)] + \
        ["| " + " | ".join(_c(x) for x in r) + " |" for r in rows] + [""]


def render(data: dict, lang: str = "vi") -> str:
    s = _d(data.get("summary"))
    rs = _d(data.get("ruleset"))
    ov = data.get("overlay")
    tiers = tier_order(data)
    out = [f"# {bw('batch_title', lang)}", ""]
    out.append(f"- {bw('input', lang)}: {_c(input_text(data.get('input'), lang))}")
    if rs:
        out.append(f"- {w('ruleset', lang)}: `{md_code(rs.get('id'))}` v{_c(rs.get('version'))}"
                   + (f" (sha256 `{_c(str(rs['sha256'])[:16])}`)" if rs.get("sha256") else ""))
    if isinstance(ov, dict):
        out.append(f"- {w('overlay', lang)}: `{md_code(ov.get('id'))}`"
                   + (f" — {_c(label(ov['title'], lang))}" if ov.get("title") else "")
                   + (f" — **{bw('illustrative', lang)}**" if ov.get("illustrative") else ""))
    if province_of(data):
        out.append(f"- {w('province', lang)}: {_c(province_of(data))}")
    out.append(f"- {bw('made', lang)}: {made_date()}")
    n_units = s.get("units", len(_l(data.get("units"))))
    n_err = s.get("errors", len(_l(data.get("errors"))))
    out += [f"- {bw('units', lang)}: {n_units}", f"- {bw('evaluated', lang)}: {_c(s.get('evaluated'))}",
            f"- {bw('errors', lang)}: {n_err}", f"- {bw('avg_met', lang)}: {fmt(s.get('avg_criteria_met'), lang)}", ""]
    if isinstance(ov, dict) and ov.get("illustrative"):
        out += [f"> ⚠ {bw('illustrative', lang)}", ""]
    prov = [str(_d(u).get("code", "")) for u in _l(data.get("units")) if _d(u).get("decided_by_provisional")]
    if prov:
        out += [f"> ⚠ {bw('provisional_units', lang).format(n=len(prov))} {_c(', '.join(prov))}", ""]
    lost = [str(x) for x in _l(s.get("lost"))]
    if lost:
        out += [f"> ⚠ {_c(lost_words(lang))}: {len(lost)} — {_c(', '.join(lost))}", ""]
    st = _d(s.get("tiers"))
    if st:
        out += [f"## {bw('tiers', lang)}", ""]
        out += _table([bw("tier", lang), w("met", lang), bw("pct", lang), w("not_met", lang), w("indeterminate", lang)],
                      [[tier_name(x, lang, s), _d(st[x]).get("met", 0), pct(_d(st[x]).get("pct"), lang),
                        _d(st[x]).get("not_met", 0), _d(st[x]).get("indeterminate", 0)] for x in tiers if x in st])
    bands = _d(s.get("bands"))
    if bands:
        out += [f"## {bw('bands', lang)}", ""]
        out += _table([w("criteria_met", lang), bw("count", lang)], [[b, v] for b, v in bands.items()])
    hist = histogram(data)
    if hist:
        out += [f"## {bw('histogram', lang)}", ""]
        out += _table([bw("n_criteria", lang), bw("count", lang)], [[k, v] for k, v in hist if v])
    ds = [_d(x) for x in _l(s.get("districts"))]
    if ds:
        out += [f"## {bw('by_district', lang)}", ""]
        out += _table([bw("district", lang), bw("units", lang)] + [tier_name(x, lang, s) for x in tiers] + [bw("avg_met", lang)],
                      [[d.get("district"), d.get("units")] + [_d(d.get("tiers")).get(x, 0) for x in tiers]
                       + [fmt(d.get("avg_criteria_met"), lang)] for d in ds])
    elif highest_by_district(data):
        out += [f"## {bw('by_district', lang)}", ""]
        keys = ["none"] + [x for x in tiers if x != "recognition"]
        out += _table([bw("district", lang)] + [tier_name(k, lang, s) for k in keys],
                      [[d] + [c.get(k, 0) for k in keys] for d, c in highest_by_district(data)])
    crit = [_d(x) for x in _l(s.get("most_failed_criteria"))]
    if crit:
        out += [f"## {bw('most_failed_criteria', lang)}", ""]
        out += _table([bw("tier", lang), bw("criterion", lang), bw("count", lang)],
                      [[tier_name(c.get("tier"), lang, s), f"{c.get('number', '')}. {label(c.get('name'), lang)}",
                        c.get("count", 0)] for c in crit])
    inds = [_d(x) for x in _l(s.get("most_failed_indicators"))]
    if inds:
        out += [f"## {bw('most_failed_indicators', lang)}", ""]
        out += _table([bw("tier", lang), bw("indicator", lang), bw("count", lang)],
                      [[tier_name(i.get("tier"), lang, s), f"{i.get('code', '')} {label(i.get('label'), lang)}",
                        i.get("count", 0)] for i in inds])
    pr = [_d(x) for x in _l(s.get("priority"))]
    if pr:
        out += [f"## {bw('priority', lang)}", ""]
        out += _table([bw("code", lang), bw("name", lang), bw("tier", lang), bw("missing_criteria", lang),
                       bw("distance", lang)],
                      [[p.get("code"), p.get("name"), tier_name(p.get("tier"), lang, s),
                        ", ".join(str(x) for x in _l(p.get("missing_criteria"))), fmt(p.get("distance"), lang)]
                       for p in pr])
    cmp = data.get("compare")
    if isinstance(cmp, dict):
        delta = cmp.get("avg_criteria_delta")
        sign = "+" if isinstance(delta, (int, float)) and delta > 0 else ""
        out += [f"## {bw('trend', lang)}", "", f"- {bw('previous', lang)}: {_c(cmp.get('previous'))}",
                f"- {bw('avg_delta', lang)}: {sign}{fmt(delta, lang)}"]
        td = _d(cmp.get("tiers_delta"))
        for x in [x for x in tiers if x in td] + sorted(x for x in td if x not in tiers):
            out.append(f"- {tier_name(x, lang, s)}: {'+' if (td[x] or 0) > 0 else ''}{td[x]}")
        for key in ("gained", "lost"):
            rows = [_d(r) for r in _l(cmp.get(key))]
            out.append(f"- {bw(key, lang)} ({len(rows)}): " + ", ".join(
                f"{_c(r.get('code'))} {_c(r.get('name'))} ({tier_name(r.get('tier'), lang, s)})" for r in rows))
        out.append("")
    units = [_d(x) for x in _l(data.get("units"))]
    if units:
        main = next((x for x in tiers if x != "recognition"), None)
        out += [f"## {bw('per_unit', lang)}", ""]
        rows = []
        for u in units:
            ts = _d(u.get("tiers"))
            cr = _d(_d(u.get("criteria")).get(main)) if main else {}
            rows.append([u.get("row", ""), u.get("code"), u.get("name"), u.get("district")]
                        + [w(ts[x], lang) if ts.get(x) in ("met", "not_met", "indeterminate") else "" for x in tiers]
                        + [tier_name(u["highest_tier"], lang, s) if u.get("highest_tier") else "—",
                           (f"{cr.get('met')}/{cr.get('total')}" if "met" in cr else "")
                           + (" — " + ", ".join(str(x) for x in _l(cr.get("unmet"))) if _l(cr.get("unmet")) else ""),
                           bw("yes", lang) if u.get("decided_by_provisional") else ""])
        out += _table([bw("row", lang), bw("code", lang), bw("name", lang), bw("district", lang)]
                      + [tier_name(x, lang, s) for x in tiers]
                      + [bw("highest", lang), bw("unmet", lang), bw("provisional", lang)], rows)
    errs = [_d(x) for x in _l(data.get("errors"))]
    if errs:
        out += [f"## {bw('error_list', lang)} ({len(errs)})", ""]
        out += _table([bw("row", lang), bw("code", lang), bw("file", lang), bw("reason", lang)],
                      [[x.get("row"), x.get("code"), x.get("file"), row_error_text(x.get("reason"), lang)] for x in errs])
    return "\n".join(out).rstrip("\n") + "\n"
