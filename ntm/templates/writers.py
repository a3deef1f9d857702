"""Fillable templates in three forms: a dossier YAML (one unit), and a multi-unit sheet as CSV or XLSX.

The sheets follow the `ntm batch` input contract: row 1 = headers (unit columns, then one column per fact id and
its `<fact>__evidence` column); rows whose first cell starts with "#" are comments (label, unit, range,
thresholds); data from the first row after them. A filled template is read as is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from ntm.report.inert import inert, inert_workbook
from ntm.templates.spec import UNIT_COLUMNS, FactRow, Spec, needs_text, range_text

UNIT_LABELS = {
    "code": ("Mã đơn vị", "Unit code"), "name": ("Tên đơn vị", "Unit name"), "district": ("Huyện", "District"),
    "province": ("Tỉnh", "Province"), "region": ("Vùng", "Region"),
    "flags": ("Đặc điểm (cách nhau bởi dấu ;)", "Flags (separated by ;)"),
    "year": ("Năm đánh giá", "Assessment year"), "level": ("Cấp", "Level"),
}


def _l(pair, lang):
    return pair[1] if lang == "en" else pair[0]


def _one_line(s: str) -> str:
    return " ".join(s.split())


def fact_comment(row: FactRow, region: str | None, lang: str = "vi") -> str:
    """One line about a fact: label, unit, valid range, thresholds for the region (or every region)."""
    f = row.fact
    label = f.label.en if lang == "en" else f.label.vi
    unit = (f.unit_en or f.unit) if lang == "en" else f.unit
    text = f"{_one_line(label)} [{unit}; {range_text(f, lang)}]"
    if f.ratio_of is not None:
        text += (f" (hoặc cho hai số {f.ratio_of.numerator} và {f.ratio_of.denominator}, không cho cả hai cách)"
                 if lang == "vi" else
                 f" (or give {f.ratio_of.numerator} and {f.ratio_of.denominator}, not both ways)")
    if row.parts_of and not row.needs:
        return text + (f" — dùng để tính {row.parts_of}" if lang == "vi" else f" — used to compute {row.parts_of}")
    return text + _needs(row, region, lang)


def _needs(row: FactRow, region: str | None, lang: str) -> str:
    regions = [region] if region else list(dict.fromkeys(r for n in row.needs for r, _, _ in n.thresholds))
    parts = []
    for r in regions:
        t = needs_text(row, r, lang)
        if t:
            parts.append(t if region else f"{r}: {t}")
    word = "ngưỡng" if lang == "vi" else "thresholds"
    return f" — {word}: " + " | ".join(parts) if parts else ""


def sheet_columns(spec: Spec) -> list[str]:
    units = [c for c in UNIT_COLUMNS if c != "assessment_date"] + ["year"]
    if spec.level != "commune":
        units.append("level")
    cols = list(units)
    for row in spec.rows:
        cols += [row.fact.id, row.fact.id + "__evidence"]
    return cols


def comment_rows(spec: Spec, lang: str = "vi") -> list[list[str]]:
    """The "#" rows under the header: label, unit, valid range, and the thresholds per region."""
    cols = sheet_columns(spec)
    by_id = {r.fact.id: r for r in spec.rows}
    ev = "minh chứng (số văn bản, ngày)" if lang == "vi" else "evidence (document number, date)"
    heads = [("# nhãn", "# label"), ("# đơn vị", "# unit"), ("# khoảng hợp lệ", "# valid range")]
    rows = []
    for k, head in enumerate(heads):
        line = [_l(head, lang)]
        for c in cols[1:]:
            if c in by_id:
                f = by_id[c].fact
                line.append([_one_line(f.label.en if lang == "en" else f.label.vi),
                             (f.unit_en or f.unit) if lang == "en" else f.unit, range_text(f, lang)][k])
            elif c.endswith("__evidence"):
                line.append(ev if k == 0 else "")
            else:
                line.append(_l(UNIT_LABELS[c], lang) if k == 0 else "")
        rows.append(line)
    for r in spec.regions:
        line = [("# ngưỡng " if lang == "vi" else "# thresholds ") + r]
        for c in cols[1:]:
            line.append(needs_text(by_id[c], r, lang) if c in by_id else "")
        rows.append(line)
    return rows


def to_csv(spec: Spec, lang: str = "vi") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([inert(c) for c in sheet_columns(spec)])
    for line in comment_rows(spec, lang):
        w.writerow([inert(c) for c in line])  # labels come from rulesets and overlays: never a live formula
    return buf.getvalue()


def _y(value) -> str:
    """A YAML scalar: JSON is valid YAML, and quoting every string keeps hostile text inert."""
    return json.dumps(value, ensure_ascii=False)


def to_yaml(spec: Spec, lang: str = "vi") -> str:
    """A dossier for one unit, every fact null with a comment line above it; `ntm evaluate` reads it as is."""
    rs = spec.ruleset.ruleset
    region = spec.regions[0] if len(spec.regions) == 1 else None
    vi = lang != "en"
    out = [
        f"# {'Mẫu hồ sơ' if vi else 'Dossier template'} — {rs.id} v{rs.version}, "
        f"{'cấp' if vi else 'level'} {spec.level}, {'vùng' if vi else 'region'} {region or '?'}, "
        f"{'năm' if vi else 'year'} {spec.year}" + (f", flags {', '.join(spec.flags)}" if spec.flags else ""),
        "# " + ("Điền giá trị thay cho null (số dùng dấu chấm thập phân; có/không viết true/false). "
                "Để null = chưa có minh chứng." if vi else
                "Replace null with the value (dot for decimals; true/false for yes/no). null = no evidence yet."),
        "# " + ("Ghi số, ngày văn bản minh chứng vào evidence." if vi else "Put the evidence document in evidence."),
    ]
    if spec.overlay is not None:
        ov = spec.overlay.overlay.overlay
        tag = (" (MINH HỌA, không phải quy định thật)" if vi else " (ILLUSTRATIVE, not a real decision)") \
            if ov.illustrative else ""
        out.append(f"# {'Quy định của tỉnh' if vi else 'Provincial overlay'}: {ov.id}{tag}")
    out += [
        "unit:",
        f"  level: {spec.level}",
        f"  code: {_y('00000')}  # {'mã đơn vị hành chính' if vi else 'administrative code'}",
        f"  name: {_y('(tên xã)' if spec.level == 'commune' else '(tên đơn vị)')}",
        "  province: null",
        "  district: null",
    ]
    if region:
        out.append(f"  region: {_y(region)}")
    else:
        out.append("  region: null  # " + ", ".join(r.id for r in rs.regions))
    out.append(f"  flags: {_y(list(spec.flags))}")
    if rs.unit_flags:
        out.append("  # flags: " + ", ".join(f.id for f in rs.unit_flags))
    out += ["assessment:", f"  year: {spec.year}", f"ruleset: {_y(rs.id)}"]
    if spec.level == "district":
        out += ["# " + ("Các xã: hồ sơ (đánh giá cùng lúc) hoặc trạng thái đã công nhận kèm quyết định, ví dụ:"
                        if vi else "Communes: a dossier (evaluated in the same run) or a declared status with its "
                        "decision, e.g.:"),
                '#   - {code: "00001", name: "Xã A", dossier: xa-a.yaml}',
                ('#   - {code: "00002", name: "Xã B", status: standard, decision: {number: "1/QĐ-UBND", '
                 "date: 2024-01-31}}"),
                "communes: []"]
    out.append("facts:")
    group = object()
    for row in spec.rows:
        if (row.tier, row.criterion) != group:
            group = (row.tier, row.criterion)
            title = (f"{row.tier} — {'tiêu chí' if vi else 'criterion'} {row.criterion}. {row.criterion_name}"
                     if row.criterion else ("các dữ liệu khác" if vi else "other facts"))
            out.append(f"  # --- {_one_line(title)}")
        out.append("  # " + fact_comment(row, region, lang))
        out.append(f"  {row.fact.id}: {{value: null, evidence: {{document: null, date: null}}}}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------- xlsx

_FIXED = dt.datetime(2000, 1, 1)


def to_xlsx(spec: Spec, lang: str = "vi", rows: int = 200) -> bytes:
    """Sheet "Hồ sơ" (headers + "#" comment rows, data validation per column) and sheet "Hướng dẫn" (guide)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    rs = spec.ruleset.ruleset
    region = spec.regions[0] if len(spec.regions) == 1 else None
    wb = Workbook()
    wb.properties.creator = "ntm-rules"
    wb.properties.created = wb.properties.modified = _FIXED
    ws = wb.active
    ws.title = "Hồ sơ"
    cols = sheet_columns(spec)
    by_id = {r.fact.id: r for r in spec.rows}
    ws.append(cols)
    for line in comment_rows(spec, lang):
        ws.append(line)
    first = 2 + len(comment_rows(spec, lang))  # first data row
    last = first + max(rows, 1) - 1
    bold, grey = Font(bold=True), Font(italic=True, color="666666")
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    for c in ws[1]:
        c.font, c.fill = bold, head_fill
    for r in range(2, first):
        for c in ws[r]:
            c.font = grey
            c.alignment = Alignment(wrap_text=False)
    ws.freeze_panes = ws.cell(row=first, column=3)
    for i, col in enumerate(cols, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = 14 if col in by_id else (24 if col.endswith("__evidence") else 16)
        cell = ws.cell(row=1, column=i)
        row = by_id.get(col)
        span = f"{letter}{first}:{letter}{last}"
        if row is not None:
            text = fact_comment(row, region, lang)
            cell.comment = Comment(text, "ntm-rules", width=320, height=160)
            dv = _validation(row, text, DataValidation)
            if dv is not None:
                ws.add_data_validation(dv)
                dv.add(span)
        elif col == "region":
            dv = DataValidation(type="list", formula1='"' + ",".join(r.id for r in rs.regions) + '"',
                                allow_blank=True, showErrorMessage=True)
            ws.add_data_validation(dv)
            dv.add(span)
        elif col == "year":
            dv = DataValidation(type="whole", operator="between", formula1="1990", formula2="2100",
                                allow_blank=True, showErrorMessage=True)
            ws.add_data_validation(dv)
            dv.add(span)
    _guide(wb.create_sheet("Hướng dẫn"), spec, lang, bold, head_fill)
    inert_workbook(wb)  # labels come from rulesets and overlays: never a live formula
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """Same template → same bytes: openpyxl stamps the save time into docProps and every zip entry."""
    import re
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            body = src.read(name)
            if name == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", body)
            dst.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), body,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _validation(row: FactRow, text: str, DataValidation):
    f = row.fact
    title = f.id[:32]
    if f.type == "boolean":
        dv = DataValidation(type="list", formula1='"có,không,TRUE,FALSE"', allow_blank=True)
    else:
        kind = "whole" if f.type == "count" else "decimal"
        dv = DataValidation(type=kind, operator="between", formula1=str(f.range.min), formula2=str(f.range.max),
                            allow_blank=True)
    dv.showErrorMessage = True
    dv.errorTitle = title
    dv.error = f"{range_text(f)} {f.unit}"[:255]
    dv.showInputMessage = True
    dv.promptTitle = title
    dv.prompt = text[:255]
    return dv


def guide_rows(spec: Spec, lang: str = "vi") -> tuple[list[str], list[list]]:
    """The guide table: one row per (fact, condition that tests it), thresholds per region as numbers."""
    vi = lang != "en"
    head = (["fact", "nhãn" if vi else "label", "label (en)" if vi else "label (vi)", "đơn vị" if vi else "unit",
             "khoảng hợp lệ" if vi else "valid range", "tiêu chí" if vi else "criterion", "mức" if vi else "tier",
             "chỉ tiêu" if vi else "indicator", "phép so sánh" if vi else "op"]
            + [("ngưỡng " if vi else "threshold ") + r for r in spec.regions]
            + ["nguồn ngưỡng" if vi else "threshold provenance"])
    body = []
    for row in spec.rows:
        f = row.fact
        base = [f.id, _one_line(f.label.vi if vi else f.label.en), _one_line(f.label.en if vi else f.label.vi),
                f.unit, range_text(f, lang), row.criterion or ""]
        if not row.needs:
            note = needs_text(row, spec.regions[0], lang) if row.parts_of else ""
            body.append(base + ["", "", note] + [""] * len(spec.regions) + [""])
            continue
        for n in row.needs:
            cells = []
            for _, value, _status in n.thresholds:
                if value is None:
                    cells.append("—")
                elif isinstance(value, bool):
                    cells.append(value)
                else:
                    cells.append(int(value) if value == value.to_integral_value() else float(value))
            statuses = sorted({s for _, _, s in n.thresholds})
            body.append(base + [n.tier, n.indicator, n.op] + cells + [", ".join(statuses)])
    return head, body


def _guide(ws, spec: Spec, lang: str, bold, fill) -> None:
    rs = spec.ruleset.ruleset
    vi = lang != "en"
    ws.append([f"{rs.title.vi if vi else rs.title.en} — {rs.id} v{rs.version}"])
    ws.append([("Cấp " if vi else "Level ") + spec.level + (", năm " if vi else ", year ") + str(spec.year)
               + ((", vùng " if vi else ", region ") + ", ".join(spec.regions))
               + ((", đặc điểm " if vi else ", flags ") + ", ".join(spec.flags) if spec.flags else "")])
    if spec.overlay is not None:
        ov = spec.overlay.overlay.overlay
        ws.append([("Quy định của tỉnh: " if vi else "Provincial overlay: ") + ov.id
                   + ((" — MINH HỌA, không phải quy định thật" if vi else " — ILLUSTRATIVE, not a real decision")
                      if ov.illustrative else "")])
    ws.append(["Điền sheet \"Hồ sơ\": mỗi dòng một đơn vị, từ dòng đầu tiên sau các dòng chú thích (#). "
               "Có/không: có, không (hoặc TRUE/FALSE). Để trống = chưa có minh chứng." if vi else
               "Fill sheet \"Hồ sơ\": one unit per row, after the comment rows (#). Yes/no: TRUE/FALSE "
               "(or có/không). Empty = no evidence yet."])
    ws.append([])
    head, body = guide_rows(spec, lang)
    ws.append(head)
    for c in ws[ws.max_row]:
        c.font, c.fill = bold, fill
    for line in body:
        ws.append(line)
    for letter, width in zip("ABCDEFGHI", (34, 60, 50, 16, 16, 9, 10, 10, 10)):
        ws.column_dimensions[letter].width = width
