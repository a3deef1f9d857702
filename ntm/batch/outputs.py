"""Batch outputs: canonical JSON, a per-commune CSV, an XLSX workbook and a terminal summary.

All are pure functions of the batch document, so the same batch always gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

from ntm.report.inert import FORMULA_START, inert as _inert, inert_workbook  # noqa: F401 (one neutraliser)
from ntm.report.words import OPS, fmt_num, row_error_text, unit_text
from ntm.report.words import BATCH_WORDS as L


def _t(lang: str, tier: str | None, doc: dict | None = None) -> str:
    """A tier's name from the ruleset's labels the batch carries; older batch JSON falls back to short names."""
    if tier is None:
        return L[lang]["none"]
    lab = ((doc or {}).get("summary") or {}).get("tier_labels", {}).get(tier)
    if lab:
        return lab.get(lang) or lab.get("vi") or tier
    return L[lang]["tiers"].get(tier, tier)


def to_json(doc: dict) -> str:
    """Same text as json.dumps(indent=2), encoded chunk by chunk into one buffer: dumps first lists every chunk
    (millions for a national batch, ~2.5x the text's size in memory)."""
    buf = io.StringIO()
    for chunk in json.JSONEncoder(ensure_ascii=False, indent=2).iterencode(doc):
        buf.write(chunk)
    buf.write("\n")
    return buf.getvalue()


def _tiers(doc: dict) -> list[str]:
    return list(doc["summary"]["tiers"])


def commune_rows(doc: dict, lang: str = "vi") -> list[list]:
    """Header + one row per input row (evaluated units and errors, in input order: nothing dropped)."""
    lab = L[lang]
    tiers = _tiers(doc)
    header = [lab["row"], lab["file"], lab["code"], lab["name"], lab["district"], lab["region"], lab["status"],
              lab["highest"], *[_t(lang, t, doc) for t in tiers], lab["criteria_met"], lab["unmet"], lab["undecided"],
              lab["failed"], lab["provisional"], lab["reason"]]
    items = [(u["row"], u["file"], 0, u) for u in doc["units"]] + [(e["row"], e["file"], 1, e) for e in doc["errors"]]
    items.sort(key=lambda x: (x[0] if x[0] is not None else 0, x[1] or "", x[2]))
    rows = [header]
    for row, file, is_err, x in items:
        if is_err:
            rows.append([row, file, x["code"], "", "", "", lab["error"], "", *["" for _ in tiers], "", "", "", "",
                         "", row_error_text(x["reason"], lang)])
            continue
        st = x["criteria"].get("standard")
        rows.append([row, file, x["code"], x["name"], x["district"] or "", x["region"], lab["ok"],
                     _t(lang, x["highest_tier"], doc), *[lab["status_v"].get(x["tiers"].get(t), "") for t in tiers],
                     f"{st['met']}/{st['total']}" if st else "", ";".join(st["unmet"]) if st else "",
                     ";".join(st["undecided"]) if st else "",
                     ";".join(x["failed_indicators"].get("standard", [])),
                     lab["yes"] if x["decided_by_provisional"] else lab["no"],
                     ""])
    return rows




def xml_safe(x):
    """The document with every control character XML cannot hold (a CSV cell may carry U+0007) written out as
    backslash-x-07: openpyxl refuses such text, and nothing the user gave is dropped."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(x, str):
        return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", x)
    if isinstance(x, dict):
        return {xml_safe(k): xml_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [xml_safe(v) for v in x]
    return x


def to_csv(doc: dict, lang: str = "vi", bom: bool = True) -> str:
    """The per-commune table for Excel: a UTF-8 byte-order mark first, so Excel reads the Vietnamese as UTF-8."""
    buf = io.StringIO()
    if bom:
        buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\n")
    for r in commune_rows(doc, lang):
        w.writerow(["" if c is None else _inert(c) for c in r])
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ XLSX

GREEN, RED, GREY = "C6EFCE", "FFC7CE", "D9D9D9"
FIXED = (1980, 1, 1, 0, 0, 0)


def to_xlsx(doc: dict, lang: str = "vi") -> bytes:
    """Sheets Tổng hợp (summary), Theo xã (per commune, criteria coloured), Khoảng cách (gaps), Lỗi (bad rows).
    Byte-stable: fixed document dates and fixed zip entry times."""
    import datetime as dt

    import openpyxl
    from openpyxl.styles import Font, PatternFill

    doc = xml_safe(doc)
    lab = L[lang]
    bold = Font(bold=True)
    fills = {k: PatternFill("solid", start_color=c, end_color=c) for k, c in
             (("met", GREEN), ("not_met", RED), ("indeterminate", GREY))}
    wb = openpyxl.Workbook()
    s = doc["summary"]

    ws = wb.active
    ws.title = "Tổng hợp" if lang == "vi" else "Summary"
    ws.append([lab["summary"]])
    ws["A1"].font = bold
    for row in provenance_rows(doc, lang):
        ws.append(row)
        if row and row[0] in (lab["overlay"], lab["prov_warn"]) and len(row) > 2:
            ws.cell(ws.max_row, 3).font = Font(bold=True, color="B71C1C")
    ws.append([])
    for k in ("units", "evaluated", "errors"):
        ws.append([lab[k], s[k]])
    if s.get("lost"):
        ws.append([lost_label(lang), len(s["lost"]), ", ".join(str(x) for x in s["lost"])])
        ws.cell(ws.max_row, 1).font = Font(bold=True, color="B71C1C")
    ws.append([lab["avg"], s["avg_criteria_met"]])
    ws.append([])
    ws.append([lab["tier"], lab["met"], lab["pct"], lab["not_met"], lab["ind"]])
    for t, v in s["tiers"].items():
        ws.append([_t(lang, t, doc), v["met"], v["pct"], v["not_met"], v["indeterminate"]])
    ws.append([])
    ws.append([lab["band"], lab["count"]])
    for b, n in s["bands"].items():
        ws.append([b, n])
    ws.append([])
    ws.append([lab["most_c"]])
    ws.append([lab["tier"], lab["criterion"], "", lab["count"]])
    for c in s["most_failed_criteria"]:
        ws.append([_t(lang, c["tier"], doc), c["number"], (c["name"] or {}).get(lang, ""), c["count"]])
    ws.append([])
    ws.append([lab["priority"]])
    ws.append([lab["code"], lab["name"], lab["district"], lab["tier"], lab["missing"]])
    for p in s["priority"]:
        ws.append([p["code"], p["name"], p["district"] or "", _t(lang, p["tier"], doc), ", ".join(p["missing_criteria"])])
    if s["districts"]:
        ws.append([])
        ws.append([lab["districts"]])
        ws.append([lab["district"], lab["units"], *[_t(lang, t, doc) for t in s["tiers"]], lab["avg"]])
        for d in s["districts"]:
            ws.append([d["district"], d["units"], *[d["tiers"].get(t, 0) for t in s["tiers"]], d["avg_criteria_met"]])
    cmp_ = doc.get("compare")
    if cmp_:
        ws.append([])
        ws.append([lab["delta"], cmp_["previous"]])
        ws.append([lab["avg"], cmp_["avg_criteria_delta"]])
        for t, n in cmp_["tiers_delta"].items():
            ws.append([_t(lang, t, doc), n])
        for key in ("gained", "lost"):
            for g in cmp_[key]:
                ws.append([lab[key], g["code"], g["name"], _t(lang, g["previous"], doc), _t(lang, g["tier"], doc)])

    ws = wb.create_sheet("Theo xã" if lang == "vi" else "Communes")
    tiers = list(s["tiers"])
    numbers: list[str] = []
    for u in doc["units"]:
        std = u["criteria"].get("standard")
        if std:
            from ntm.batch.summary import natural

            numbers = sorted(set(numbers) | set(_std_numbers(u)), key=natural)
    ws.append([lab["row"], lab["code"], lab["name"], lab["district"], *[_t(lang, t, doc) for t in tiers],
               lab["criteria_met"], *[f"{lab['criterion']} {n}" for n in numbers]])
    for c in ws[1]:
        c.font = bold
    for u in doc["units"]:
        std = u["criteria"].get("standard")
        status = {n: "met" for n in numbers}
        if std:
            status.update({n: "not_met" for n in std["unmet"]})
            status.update({n: "indeterminate" for n in std["undecided"]})
        known = set(_std_numbers(u))
        ws.append([u["row"] if u["row"] is not None else u["file"], u["code"], u["name"], u["district"] or "",
                   *[lab["status_v"].get(u["tiers"].get(t), "") for t in tiers],
                   f"{std['met']}/{std['total']}" if std else "",
                   *[lab["status_v"][status[n]] if n in known else "" for n in numbers]])
        r = ws.max_row
        for j, n in enumerate(numbers):
            if n in known:
                ws.cell(r, 6 + len(tiers) + j).fill = fills[status[n]]
        for j, t in enumerate(tiers):
            st = u["tiers"].get(t)
            if st:
                ws.cell(r, 5 + j).fill = fills[st]

    ws = wb.create_sheet("Khoảng cách" if lang == "vi" else "Gaps")
    ws.append([lab["code"], lab["name"], lab["tier"], lab["criterion"], lab["indicator"], lab["fact"],
               lab["observed"], lab["threshold"], lab["gap"], lab["unit"]])
    for c in ws[1]:
        c.font = bold
    for u in doc["units"]:
        for g in u["gaps"]:
            ws.append([u["code"], u["name"], _t(lang, g["tier"], doc), g["criterion"], g["indicator"], g["fact"],
                       _cell(g["observed"], lang), f"{OPS.get(g['op'], g['op'])} {fmt_num(g['threshold'], lang)}",
                       _cell(g["gap"], lang), unit_text(g["unit"], lang)])

    ws = wb.create_sheet("Lỗi" if lang == "vi" else "Errors")
    ws.append([lab["row"], lab["file"], lab["code"], lab["reason"]])
    for c in ws[1]:
        c.font = bold
    for e in doc["errors"]:
        ws.append([e["row"], e["file"], e["code"], row_error_text(e["reason"], lang)])
    _lay_out(wb)

    fixed = dt.datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "ntm-rules"
    buf = io.BytesIO()
    inert_workbook(wb)  # user text never becomes a formula (openpyxl treats "=…" strings as formulas)
    wb.save(buf)
    return _stable_zip(buf.getvalue(), fixed)


def lost_label(lang: str) -> str:
    """Units whose engine worker died or timed out: said in the summary of every output, not only per row."""
    from ntm.report.batch_html import lost_words

    return lost_words(lang)


def _std_numbers(u: dict) -> list[str]:
    """Standard-tier criterion numbers a unit has (met ones are not listed by number in the record)."""
    std = u["criteria"].get("standard")
    if not std:
        return []
    return [str(i) for i in range(1, std["total"] + 1)] if std["total"] == 19 else std["unmet"] + std["undecided"]


def _cell(v, lang: str = "vi"):
    if isinstance(v, bool):
        return L[lang]["yes"] if v else L[lang]["no"]
    return v


def provenance_rows(doc: dict, lang: str) -> list[list]:
    """What a batch was run on, for the top of every document made from it: input, ruleset, overlay (with the
    illustrative warning), province, date made, and the units whose decision rests on provisional thresholds."""
    from ntm.report.batch_html import made_date, province_of
    from ntm.report.words import label

    lab = L[lang]
    rows: list[list] = []
    inp = doc.get("input") or {}
    rows.append([lab["input"], inp.get("path", "") if isinstance(inp, dict) else str(inp)])
    rs = doc.get("ruleset")
    if rs:
        rows.append([lab["ruleset"], f"{rs.get('id')} v{rs.get('version')}", f"sha256 {rs.get('sha256', '')}"])
    ov = doc.get("overlay")
    if ov:
        title = label(ov.get("title"), lang) if ov.get("title") else ""
        rows.append([lab["overlay"], f"{ov.get('id')}" + (f" — {title}" if title else "")]
                    + ([lab["illustrative"]] if ov.get("illustrative") else []))
    prov = province_of(doc)
    if prov:
        rows.append([lab["province"], prov])
    rows.append([lab["made"], made_date()])
    codes = [u["code"] for u in doc.get("units", []) if u.get("decided_by_provisional")]
    if codes:
        rows.append([lab["prov_warn"], len(codes), ", ".join(codes)])
    return rows


def _lay_out(wb) -> None:
    """Column widths from the content, header row frozen and filtered on the table sheets, A4 landscape print
    fitted to the page width with the header repeated."""
    from openpyxl.utils import get_column_letter

    for k, ws in enumerate(wb.worksheets):
        widths: dict[int, int] = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    n = max(len(x) for x in str(cell.value).split("\n"))
                    widths[cell.column] = max(widths.get(cell.column, 0), n)
        for col, n in widths.items():
            ws.column_dimensions[get_column_letter(col)].width = min(max(8, n + 2), 60 if k else 48)
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = True
        if k and ws.max_row >= 1 and ws.max_column >= 1:  # the table sheets: one header row
            ws.freeze_panes = "A2"
            ws.auto_filter.ref = f"A1:{get_column_letter(ws.max_column)}{max(ws.max_row, 1)}"
            ws.print_title_rows = "1:1"


def _stable_zip(data: bytes, fixed) -> bytes:
    """Rewrite the package with fixed entry times and the fixed modified date (openpyxl stamps 'now')."""
    import re

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\2", body)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, body)
    return out.getvalue()


# --------------------------------------------------------------------------------------------- terminal


def render_table(doc: dict, console, lang: str = "vi", top: int = 10) -> None:
    from rich.table import Table

    lab = L[lang]
    s = doc["summary"]
    console.print(f"{lab['summary']}: {doc['input']['path']} — {lab['units']} {s['units']}, "
                  f"{lab['evaluated']} {s['evaluated']}, {lab['errors']} {s['errors']}")
    if s.get("lost"):
        console.print(f"{lost_label(lang)}: {len(s['lost'])} — " + ", ".join(str(x) for x in s["lost"]),
                      style="bold red")
    for row in provenance_rows(doc, lang)[1:]:
        if row[0] == lab["ruleset"]:
            row = row[:2]  # the sha256 is in the JSON and the workbook; the terminal keeps to one line
        console.print(f"{row[0]}: " + " — ".join(str(x) for x in row[1:]), style="bold red" if len(row) > 2 else None)
    t = Table(title=lab["tier"])
    for h in (lab["tier"], lab["met"], lab["pct"], lab["not_met"], lab["ind"]):
        t.add_column(h)
    for k, v in s["tiers"].items():
        t.add_row(_t(lang, k, doc), str(v["met"]), fmt_num(v["pct"], lang, 2), str(v["not_met"]), str(v["indeterminate"]))
    console.print(t)
    t = Table(title=lab["band"])
    t.add_column(lab["band"])
    t.add_column(lab["count"])
    for b, n in s["bands"].items():
        t.add_row(b, str(n))
    console.print(t)
    if s["avg_criteria_met"] is not None:
        console.print(f"{lab['avg']}: {fmt_num(s['avg_criteria_met'], lang, 2)}")
    if s["most_failed_criteria"]:
        t = Table(title=lab["most_c"])
        for h in (lab["tier"], lab["criterion"], lab["count"]):
            t.add_column(h)
        for c in s["most_failed_criteria"][:top]:
            t.add_row(_t(lang, c["tier"], doc), f"{c['number']} {(c['name'] or {}).get(lang, '')}", str(c["count"]))
        console.print(t)
    if s["priority"]:
        t = Table(title=lab["priority"])
        for h in (lab["code"], lab["name"], lab["district"], lab["tier"], lab["missing"]):
            t.add_column(h)
        for p in s["priority"]:
            t.add_row(p["code"], p["name"], p["district"] or "", _t(lang, p["tier"], doc), ", ".join(p["missing_criteria"]))
        console.print(t)
    if s["districts"]:
        t = Table(title=lab["districts"])
        for h in (lab["district"], lab["units"], *[_t(lang, x, doc) for x in s["tiers"]], lab["avg"]):
            t.add_column(h)
        for d in s["districts"]:
            avg = "" if d["avg_criteria_met"] is None else fmt_num(d["avg_criteria_met"], lang, 2)
            t.add_row(d["district"], str(d["units"]), *[str(d["tiers"].get(x, 0)) for x in s["tiers"]], avg)
        console.print(t)
    c = doc.get("compare")
    if c:
        console.print(f"{lab['delta']} ({c['previous']}): {lab['avg']} "
                      f"{'' if c['avg_criteria_delta'] is None else fmt_num(c['avg_criteria_delta'], lang, 2, sign=True)}; "
                      + ", ".join(f"{_t(lang, k, doc)} {v:+d}" for k, v in c["tiers_delta"].items()))
        for key in ("gained", "lost"):
            for g in c[key]:
                console.print(f"  {lab[key]}: {g['code']} {g['name']} ({_t(lang, g['previous'], doc)} → {_t(lang, g['tier'], doc)})")
    if doc["errors"]:
        t = Table(title=lab["errors"])
        for h in (lab["row"], lab["code"], lab["reason"]):
            t.add_column(h)
        for e in doc["errors"]:
            t.add_row(str(e["row"] if e["row"] is not None else e["file"]), e["code"] or "", row_error_text(e["reason"], lang))
        console.print(t)
