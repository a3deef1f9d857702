"""Write a ruleset or a provincial overlay as an authoring workbook (openpyxl).

Every field of the schema lands in a cell: in its column when it has one, otherwise in the row's "YAML bổ sung"
cell. Before the file is written, the workbook is read back by the importer and compared by content hash, so an
export that would not round-trip exactly is refused instead of handed to a person.
"""

from __future__ import annotations

import os

import yaml
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ntm.authoring import layout as L
from ntm.authoring.content import _Dumper
from ntm.authoring.thresholds import SOURCE_FIELDS, Row, fingerprint, rows_of
from ntm.criteria.model import Ruleset

MISSING = object()
MAX_ROWS = 2000  # rows a validation list reaches on the id sheets

HEAD_FILL = PatternFill("solid", fgColor="1F5130")
HEAD_FONT = Font(bold=True, color="FFFFFF", size=10)
KEY_FILL = PatternFill("solid", fgColor="EEF3EC")
PROV_FILL = PatternFill("solid", fgColor="FFF7E0")
VALUE_FILL = PatternFill("solid", fgColor="E8F0FB")
BODY_FONT = Font(size=10)
SOFT_FONT = Font(size=10, color="7F7F7F")
TOP = Border(top=Side(style="thin", color="9FB7A5"))

# indicator sheet column key -> path in the criterion / indicator / condition model dump
CRIT_MAP = {"criterion": "number", "criterion.vi": "name.vi", "criterion.en": "name.en"}
IND_MAP = {"code": "code", "label.vi": "label.vi", "label.en": "label.en", "unit": "unit", "at_least": "at_least",
           "applies_if": "applies_if.fact", "effective.from": "effective.from", "effective.to": "effective.to",
           "citation.document": "citation.document", "citation.appendix": "citation.appendix",
           "citation.article": "citation.article", "citation.item": "citation.item", "ind_note": "note",
           "provincial_placeholder": "provincial_placeholder"}
COND_MAP = {"fact": "fact", "op": "op", "cond_label.vi": "label.vi", "cond_label.en": "label.en"}
OVR_MAP = {"level": "level", "tier": "tier", "code": "indicator", "citation.document": "citation.document",
           "citation.appendix": "citation.appendix", "citation.article": "citation.article",
           "citation.item": "citation.item"}
ADD_MAP = {"level": "level", "tier": "tier", "criterion": "criterion", "criterion.vi": "criterion_name.vi",
           "criterion.en": "criterion_name.en"}


# ---- splitting a model dump into cells and the rest -------------------------------------------------------

def _pop(d: dict, path: str):
    parts = path.split(".")
    cur = d
    for p in parts[:-1]:
        if not isinstance(cur, dict) or p not in cur:
            return MISSING
        cur = cur[p]
    if not isinstance(cur, dict) or parts[-1] not in cur:
        return MISSING
    return cur.pop(parts[-1])


def _prune(d):
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            v = _prune(v)
            if isinstance(v, dict) and not v:
                continue
            out[k] = v
        return out
    return d


def _attr(model, path: str):
    cur = model
    for p in path.split("."):
        cur = getattr(cur, {"from": "start", "to": "end"}.get(p, p), None)
        if cur is None:
            return None
    return cur


def dump(model) -> dict:
    return model.model_dump(mode="python", by_alias=True, exclude_defaults=True)


def split(model, mapping: dict[str, str], skip: tuple = ()) -> tuple[dict, dict]:
    """(cells by column key, the fields left over) of a model. A choice column shows the default when unset."""
    data = dump(model)
    for s in skip:
        data.pop(s, None)
    cells = {}
    for key, path in mapping.items():
        v = _pop(data, path)
        if v is MISSING:
            v = None
        cells[key] = v
    return cells, _prune(data)


def yaml_text(data) -> str | None:
    if not data:
        return None
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=80,
                     default_flow_style=False).rstrip("\n")


# ---- cell values ---------------------------------------------------------------------------------------------

def cell_value(col: L.Col, v):
    if v is None:
        return None
    if col.kind == "choice":
        return L.to_word(col.vocab, v)
    if col.kind == "list":
        return ", ".join(v) if v else "[]"
    if col.kind == "flags_any":
        return "; ".join(" + ".join(g) for g in v)
    if col.kind == "num":
        return L.write_number(v)
    if col.kind in ("text", "id"):
        return str(v)
    return v


def threshold_value(v):
    if v is None:
        return "—"
    if v is True:
        return "Đạt"
    if v is False:
        return "Không đạt"
    return L.write_number(v)


# ---- sheets --------------------------------------------------------------------------------------------------

def _header(ws, cols: list[L.Col]) -> None:
    for i, col in enumerate(cols, 1):
        c = ws.cell(row=1, column=i, value=col.header)
        c.font, c.fill = HEAD_FONT, HEAD_FILL
        c.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        if col.hint:
            cm = Comment(col.hint, "ntm")
            cm.width, cm.height = 260, 90
            c.comment = cm
        ws.column_dimensions[get_column_letter(i)].width = col.width
        if col.hidden:
            ws.column_dimensions[get_column_letter(i)].hidden = True
    ws.row_dimensions[1].height = 42
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}1"
    ws.sheet_view.zoomScale = 90
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:1"


def _validations(ws, cols: list[L.Col], refs: dict[str, str], last_row: int) -> None:
    """A drop-down on every closed list; whole numbers and dates checked where a column needs them."""
    end = max(last_row + 200, 300)
    for i, col in enumerate(cols, 1):
        letter = get_column_letter(i)
        rng = f"{letter}2:{letter}{end}"
        dv = None
        if col.kind == "choice":
            dv = DataValidation(type="list", formula1='"' + ",".join(L.vocab_words(col.vocab)) + '"', allow_blank=True)
            dv.error = "Chọn một giá trị trong danh sách: " + ", ".join(L.vocab_words(col.vocab))
        elif col.key in refs:
            dv = DataValidation(type="list", formula1=refs[col.key], allow_blank=True)
            dv.error = "Chọn một mã đã khai báo (" + refs[col.key].split("!")[0].strip("'") + ")"
        elif col.kind == "int":
            dv = DataValidation(type="whole", operator="between", formula1="0", formula2="100000", allow_blank=True)
            dv.error = "Nhập một số nguyên"
        elif col.kind == "date":
            dv = DataValidation(type="date", operator="between", formula1="DATE(1990,1,1)", formula2="DATE(2100,12,31)",
                                allow_blank=True)
            dv.error = "Nhập một ngày (YYYY-MM-DD)"
        if dv is not None:
            dv.errorTitle = col.header
            dv.showErrorMessage = True
            dv.add(rng)
            ws.add_data_validation(dv)


def _lines(text, width: float) -> int:
    """How many lines a wrapped cell needs (10 pt text: about 1.2 characters per unit of column width)."""
    per = max(int(width * 1.2), 4)
    return sum(max(1, -(-len(part) // per)) for part in str(text).split("\n"))


_ALIGN = {(w, centre): Alignment(wrap_text=w, vertical="top", horizontal="center" if centre else None)
          for w in (True, False) for centre in (True, False)}


def _wraps(col: L.Col) -> bool:
    return col.kind in ("text", "yaml", "flags_any", "list") or col.width >= 20


def _write_rows(ws, cols: list[L.Col], rows: list[dict], styles: list[dict] | None = None) -> None:
    for r, row in enumerate(rows, 2):
        style = (styles[r - 2] if styles else {}) or {}
        lines = max([_lines(row[c.key], c.width) for c in cols
                     if row.get(c.key) is not None and not c.hidden and _wraps(c)] or [1])
        if lines > 1:
            ws.row_dimensions[r].height = min(lines, 12) * 13 + 3
        for i, col in enumerate(cols, 1):
            v = row.get(col.key)
            c = ws.cell(row=r, column=i, value=v)
            if c.data_type == "f":
                c.data_type = "s"  # text that starts with "=" stays text, never a formula
            c.font = BODY_FONT
            c.alignment = _ALIGN[(_wraps(col), col.kind == "value")]
            if col.kind in ("text", "id", "list", "flags_any", "yaml", "ref", "value") or col.kind == "choice":
                c.number_format = "@"
            if col.kind == "date":
                c.number_format = "yyyy-mm-dd"
            fill = style.get(col.key)
            if fill is not None:
                c.fill = fill
            if col.key in style.get("_soft", ()):
                c.font = SOFT_FONT
            if style.get("_top"):
                c.border = TOP


def _ref(sheet: str, col: int) -> str:
    letter = get_column_letter(col)
    return f"'{sheet}'!${letter}$2:${letter}${MAX_ROWS}"


def _list_sheet(wb, name: str, cols: list[L.Col], models, refs: dict, skip=()) -> None:
    ws = wb.create_sheet(name)
    _header(ws, cols)
    rows = []
    for m in models:
        cells, rest = split(m, {c.key: c.key for c in cols if c.key != "extra"}, skip)
        for c in cols:
            if c.kind == "choice" and cells.get(c.key) is None:
                cells[c.key] = _attr(m, c.key)
        row = {c.key: cell_value(c, cells.get(c.key)) for c in cols if c.key != "extra"}
        row["extra"] = yaml_text(rest)
        rows.append(row)
    _write_rows(ws, cols, rows)
    _validations(ws, cols, refs, len(rows))


def _info_sheet(wb, spec, values: dict, rest: dict) -> None:
    ws = wb.create_sheet(L.SHEET_INFO)
    heads = [L.Col("key", "Mã trường", 16), L.Col("label", "Trường", 28), L.Col("value", "Giá trị", 90)]
    _header(ws, heads)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = None
    for r, (key, label, kind) in enumerate(spec, 2):
        ws.cell(row=r, column=1, value=key).font = SOFT_FONT
        ws.cell(row=r, column=2, value=label).font = Font(bold=True, size=10)
        v = values.get(key)
        if key == "extra":
            v = yaml_text(rest)
        elif kind == "yaml":
            v = yaml_text(v)
        elif kind.startswith("choice:") and v is not None:
            v = L.to_word(kind.split(":", 1)[1], v)
        c = ws.cell(row=r, column=3, value=v)
        if c.data_type == "f":
            c.data_type = "s"
        c.font = BODY_FONT
        c.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
        if isinstance(v, str) and len(v) > 80 or isinstance(v, str) and "\n" in v:
            ws.row_dimensions[r].height = min(409, 13 * _lines(v, 90) + 4)
        c.number_format = "yyyy-mm-dd" if kind == "date" else "@"
        if kind.startswith("choice:"):
            vocab = kind.split(":", 1)[1]
            dv = DataValidation(type="list", formula1='"' + ",".join(L.vocab_words(vocab)) + '"', allow_blank=True)
            dv.showErrorMessage = True
            dv.add(f"C{r}")
            ws.add_data_validation(dv)
    ws.column_dimensions["A"].hidden = False


GUIDE_LINES = [
    ("Sổ soạn thảo bộ tiêu chí", "title"),
    ("Sổ này chứa một bộ tiêu chí (hoặc lớp bổ sung của tỉnh) dưới dạng bảng. Sửa trong Excel hoặc LibreOffice, "
     "rồi chuyển lại thành YAML bằng lệnh: ntm rulesets import SO.xlsx -o ruleset.yaml", None),
    ("Mỗi lỗi được báo theo ô (ví dụ Chỉ tiêu!T14: \"≥ 80\" is not a number); không có tệp nào được ghi khi còn lỗi.",
     None),
    ("Các trang", "head"),
    ("Thông tin: mã, phiên bản, tên, thời gian hiệu lực.", None),
    ("Văn bản: các văn bản được dẫn chiếu (mã văn bản dùng ở cột Căn cứ và Nguồn).", None),
    ("Phiên bản: các lần sửa đổi có ngày áp dụng.", None),
    ("Vùng / Nhóm xã: các vùng (hoặc nhóm xã) có ngưỡng riêng; mỗi vùng là một cột ở trang Chỉ tiêu.", None),
    ("Cờ đơn vị và Quy tắc vùng: đặc điểm của xã và quy tắc áp dụng ngưỡng của vùng khác (318 Điều 1).", None),
    ("Chỉ số: các số liệu hồ sơ xã phải khai (mã, kiểu, đơn vị, khoảng giá trị).", None),
    ("Mức: các mức công nhận (đạt chuẩn, nâng cao, kiểu mẫu, điều kiện công nhận).", None),
    ("Chỉ tiêu: mỗi dòng là một điều kiện của một chỉ tiêu; mỗi vùng một cột giá trị.", None),
    ("Phần khác (YAML): các phần không phải dạng bảng (ví dụ quy tắc nhóm xã, ghi chú về phần chưa chép), "
     "mỗi phần một dòng.", None),
    ("Ghi giá trị ngưỡng", "head"),
    ("Số: 80 hoặc 13.9 (không ghi dấu ≥ — phép so sánh ở cột So sánh). Đạt: chỉ tiêu đạt/không. "
     "— : văn bản không cho số (tỉnh quy định hoặc chưa biết).", None),
    ("Cột Mọi vùng: một giá trị cho mọi vùng. Nếu các vùng khác nhau, để trống Mọi vùng và ghi từng cột vùng.", None),
    ("Cột Năm: chỉ dùng khi ngưỡng thay đổi theo năm đánh giá (mỗi năm một dòng).", None),
    ("Các vùng có nguồn khác nhau (tình trạng, ghi chú, người đối chiếu) nằm ở các dòng khác nhau "
     "của cùng một điều kiện (cùng Mức, Mã chỉ tiêu, Điều kiện số).", None),
    ("Đánh dấu một giá trị đã đối chiếu", "head"),
    ("Tình trạng = đã đối chiếu, và ghi đủ: Nguồn: văn bản, Nguồn: mục, Nguồn: trang hoặc Nguồn: URL, "
     "Người đối chiếu, Ngày đối chiếu. Thiếu một ô là lỗi.", None),
    ("Tạm tính hoặc thiếu: cột Ghi chú nguồn phải nói vì sao và cần đối chiếu với văn bản nào.", None),
    ("Các cột ẩn và YAML bổ sung", "head"),
    ("YAML bổ sung: các trường không có cột riêng (dạng YAML). Cột _dấu (ẩn) ghi lại dòng như lúc xuất, "
     "để biết dòng nào đã được sửa; đừng sửa cột này.", None),
]


def _guide(wb, title: str) -> None:
    ws = wb.active
    ws.title = L.SHEET_GUIDE
    ws.column_dimensions["A"].width = 100
    c = ws.cell(row=1, column=1, value=title)
    c.font = Font(bold=True, size=14, color="1F5130")
    c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[1].height = 22 * _lines(title, 100 / 1.5)
    r = 2
    for text, kind in GUIDE_LINES:
        r += 1 if kind == "head" else 0
        c = ws.cell(row=r, column=1, value=text)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        c.font = (Font(bold=True, size=12, color="1F5130") if kind == "title" else
                  Font(bold=True, size=11) if kind == "head" else Font(size=10))
        ws.row_dimensions[r].height = (18 if kind else 14) * _lines(text, 100 if not kind else 80)
        r += 1
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def _ind_cols(regions: list[str], region_kind: str, overlay: bool) -> list[L.Col]:
    reg = [L.Col("all", L.ALL_REGIONS[region_kind], 10, "value", hint=L.VALUE_HINT)]
    reg += [L.Col("r:" + r, r, 9, "value", hint=L.VALUE_HINT) for r in regions]
    return ([L.OVERLAY_KIND] if overlay else []) + L.IND_HEAD + reg + L.IND_TAIL


def _row_cells(row: Row, level, tier, code, k, fact, op, regions) -> dict:
    out = {"year": row.year, "cond": k + 1}
    if row.has_all:
        out["all"] = threshold_value(row.all)
    for r, v in row.regions.items():
        out["r:" + r] = threshold_value(v)
    if row.ref is not None:
        out["ref"] = L.write_ref(row.ref)
    p = row.prov
    if row.ref is None:
        out["status"] = L.to_word("status", p.status) if p.status else None
        out["note"] = p.note
        out["set_by"] = L.to_word("set_by", p.set_by) if p.set_by != "national" else None
        for f in SOURCE_FIELDS:
            out["source." + f] = (p.source or {}).get(f)
        out["verified_by"] = p.verified_by
        out["verified_on"] = p.verified_on
    out["fp"] = fingerprint(level, tier, code, k + 1, fact, op, row, regions)
    return out


def _condition_rows(level, tier, code, k, cond, regions, head: dict, extra: dict) -> list[dict]:
    """The rows of one condition; `head` holds the cells only its first row carries."""
    ccells, crest = split(cond, COND_MAP, skip=("threshold",))
    rows = rows_of(cond.threshold)
    if rows is None:  # not table-shaped: the whole threshold as YAML
        rows = [None]
        extra = {**extra, "threshold": cond.threshold.model_dump(mode="python", by_alias=True, exclude_defaults=True)}
    if crest:
        extra = {**extra, "condition": crest}
    out = []
    for i, row in enumerate(rows):
        cells = {"level": level, "tier": tier, "code": code, "cond": k + 1}
        if row is not None:
            cells.update(_row_cells(row, level, tier, code, k, cond.fact, cond.op, regions))
        if i == 0:
            cells.update(head)
            cells["fact"] = ccells["fact"]
            cells["op"] = L.to_word("op", ccells["op"])
            cells["cond_label.vi"], cells["cond_label.en"] = ccells["cond_label.vi"], ccells["cond_label.en"]
            cells["extra"] = yaml_text(extra)
            if row is None:
                cells["fp"] = None
        out.append(cells)
    return out


def _ind_head(ind) -> tuple[dict, dict]:
    icells, irest = split(ind, IND_MAP, skip=("conditions",))
    head = {k: v for k, v in icells.items() if k != "code"}
    return head, ({"indicator": irest} if irest else {})


def _styles(rows: list[dict], cols: list[L.Col]) -> list[dict]:
    prov = {"status", "note", "set_by", "source.document", "source.item", "source.page", "source.url",
            "verified_by", "verified_on"}
    out = []
    for row in rows:
        st = {}
        for c in cols:
            if c.key in ("level", "tier", "criterion", "code", "cond", "kind"):
                st[c.key] = KEY_FILL
            elif c.key == "all" or c.key.startswith("r:"):
                st[c.key] = VALUE_FILL
            elif c.key in prov:
                st[c.key] = PROV_FILL
        st["_top"] = row.pop("_top", False)
        if row.get("kind") == L.to_word("row_kind", "threshold"):
            st["_soft"] = REFERENCE_KEYS
        out.append(st)
    return out


def _indicator_sheet(wb, cols, rows, refs) -> None:
    ws = wb.create_sheet(L.SHEET_INDICATORS)
    _header(ws, cols)
    keys = [c.key for c in cols]
    ws.freeze_panes = ws.cell(row=2, column=keys.index("code") + 2).coordinate
    ws.page_setup.fitToWidth = 3
    ws.print_title_cols = f"A:{get_column_letter(keys.index('code') + 1)}"
    styles = _styles(rows, cols)
    table = []
    for row in rows:
        out = {}
        for c in cols:
            v = row.get(c.key)
            out[c.key] = v if c.kind in ("value", "ref", "yaml") or c.key in ("fp", "op", "status", "set_by", "kind") \
                else cell_value(c, v)
        table.append(out)
    _write_rows(ws, cols, table, styles)
    _validations(ws, cols, refs, len(rows))


def _refs(cols: list[L.Col], sheets: dict[str, tuple[str, int]]) -> dict[str, str]:
    return {key: _ref(sheet, col) for key, (sheet, col) in sheets.items()}


def ruleset_workbook(rs: Ruleset) -> Workbook:
    wb = Workbook()
    _guide(wb, f"{rs.title.vi} ({rs.id} v{rs.version})")
    info, rest = split(rs, {k: k for k, _, _ in L.RULESET_INFO if k not in ("kind", "extra")},
                       skip=("documents", "versions", "regions", "unit_flags", "region_rules", "facts", "levels"))
    info["kind"] = L.KIND_RULESET
    info["region_kind"] = rs.region_kind
    _info_sheet(wb, L.RULESET_INFO, info, {})
    parts = list(rest.items())
    for ls in rs.levels:  # a level's own fields (criteria_bands, ...)
        _, lrest = split(ls, {}, skip=("level", "tiers"))
        if lrest:
            parts.append((L.LEVEL_KEY + ls.level, lrest))
    region_sheet = L.SHEET_GROUPS if rs.region_kind == "commune_group" else L.SHEET_REGIONS
    docs = _ref(L.SHEET_DOCS, 1)
    facts = _ref(L.SHEET_FACTS, 1)
    tiers = _ref(L.SHEET_TIERS, 2)
    regions = _ref(region_sheet, 1)
    _list_sheet(wb, L.SHEET_DOCS, L.DOCS, rs.documents, {})
    _list_sheet(wb, L.SHEET_VERSIONS, L.VERSIONS, rs.versions, {})
    _list_sheet(wb, region_sheet, L.REGIONS, rs.regions, {})
    _list_sheet(wb, L.SHEET_FLAGS, L.FLAGS, rs.unit_flags, {})
    _list_sheet(wb, L.SHEET_RULES, L.RULES, rs.region_rules, {"use_region": regions, "citation.document": docs})
    _list_sheet(wb, L.SHEET_FACTS, L.FACTS, rs.facts, {"ratio_of.numerator": facts, "ratio_of.denominator": facts,
                                                       "merge.base": facts})
    wb[L.SHEET_FACTS].page_setup.fitToWidth = 2
    tier_models = [(ls, t) for ls in rs.levels for t in ls.tiers]
    _tier_sheet(wb, tier_models, {"requires": tiers, "citation.document": docs})
    cols = _ind_cols([r.id for r in rs.regions], rs.region_kind, overlay=False)
    region_ids = [r.id for r in rs.regions]
    rows: list[dict] = []
    for ls in rs.levels:
        for t in ls.tiers:
            for c in t.criteria:
                ccells, crest = split(c, CRIT_MAP, skip=("indicators",))
                for ii, ind in enumerate(c.indicators):
                    head, extra = _ind_head(ind)
                    if ii == 0:
                        head.update({"criterion.vi": ccells["criterion.vi"], "criterion.en": ccells["criterion.en"]})
                        if crest:
                            extra = {"criterion": crest, **extra}
                    first = True
                    for k, cond in enumerate(ind.conditions):
                        for row in _condition_rows(ls.level, t.id, ind.code, k, cond, region_ids,
                                                   head if k == 0 else {}, extra if k == 0 else {}):
                            row["criterion"] = c.number
                            row["_top"] = first
                            first = False
                            rows.append(row)
    _indicator_sheet(wb, cols, rows, {"fact": facts, "tier": tiers, "applies_if": facts, "citation.document": docs,
                                      "source.document": docs})
    _parts_sheet(wb, parts)
    return wb


def _parts_sheet(wb, parts: list[tuple[str, object]]) -> None:
    """The parts that are not tables, one row each: the field's name and its value as YAML."""
    ws = wb.create_sheet(L.SHEET_YAML)
    _header(ws, L.PARTS)
    rows = []
    for key, value in parts:
        text = yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=110,
                         default_flow_style=False).rstrip("\n")
        rows.append({"part": key, "yaml": text})
    _write_rows(ws, L.PARTS, rows)
    for r, row in enumerate(rows, 2):
        ws.row_dimensions[r].height = min(409, 13 * _lines(row["yaml"], 120) + 4)


def _tier_sheet(wb, tier_models, refs) -> None:
    ws = wb.create_sheet(L.SHEET_TIERS)
    cols = L.TIERS
    _header(ws, cols)
    ws.freeze_panes = "C2"
    rows = []
    for ls, t in tier_models:
        cells, rest = split(t, {c.key: c.key for c in cols if c.key not in ("extra", "level")}, skip=("criteria",))
        cells["level"] = ls.level
        cells["kind"] = t.kind
        row = {c.key: cell_value(c, cells.get(c.key)) for c in cols if c.key != "extra"}
        row["extra"] = yaml_text(rest)
        rows.append(row)
    _write_rows(ws, cols, rows)
    _validations(ws, cols, refs, len(rows))


def overlay_workbook(ov, base: Ruleset) -> Workbook:
    wb = Workbook()
    _guide(wb, f"{ov.overlay.title.vi} ({ov.overlay.id}, trên {base.id})")
    info, rest = split(ov.overlay, {k: k for k, _, _ in L.OVERLAY_INFO if k not in ("kind", "extra")},
                       skip=("documents",))
    info["kind"] = L.KIND_OVERLAY
    info["illustrative"] = ov.overlay.illustrative
    _, top = split(ov, {}, skip=("overlay", "thresholds", "facts", "indicators"))
    _info_sheet(wb, L.OVERLAY_INFO, info, rest)
    _list_sheet(wb, L.SHEET_DOCS, L.DOCS, ov.overlay.documents, {})
    facts = _ref(L.SHEET_FACTS, 1)
    _list_sheet(wb, L.SHEET_FACTS, L.FACTS, ov.facts, {"ratio_of.numerator": facts, "ratio_of.denominator": facts,
                                                       "merge.base": facts})
    region_ids = [r.id for r in base.regions]
    cols = _ind_cols(region_ids, base.region_kind, overlay=True)
    rows: list[dict] = []
    for o in ov.thresholds:
        cells, orest = split(o, OVR_MAP, skip=("threshold", "condition"))
        cells["level"] = o.level
        head = {k: v for k, v in cells.items() if k.startswith("citation.")}
        shown = national_reference(base, o)  # what the override changes, shown (not editable) beside it
        head.update({k: v for k, v in shown.items() if k not in ("fact", "op", "criterion")})
        rows_ = rows_of(o.threshold)
        extra = {"override": orest} if orest else {}
        if rows_ is None:
            rows_ = [None]
            extra["threshold"] = o.threshold.model_dump(mode="python", by_alias=True, exclude_defaults=True)
        for i, row in enumerate(rows_):
            r = {"kind": "threshold", "level": o.level, "tier": o.tier, "code": o.indicator, "cond": o.condition + 1,
                 "criterion": shown.get("criterion")}
            if i == 0 and shown:
                r["fact"], r["op"] = shown["fact"], L.to_word("op", shown["op"])
            if row is not None:
                r.update(_row_cells(row, o.level, o.tier, o.indicator, o.condition, None, None, region_ids))
            if i == 0:
                r.update(head)
                r["extra"] = yaml_text(extra)
            r["_top"] = i == 0
            rows.append(r)
    for a in ov.indicators:
        acells, arest = split(a, ADD_MAP, skip=("indicator",))
        acells["level"] = a.level
        ind = a.indicator
        head, extra = _ind_head(ind)
        head.update({"criterion.vi": acells["criterion.vi"], "criterion.en": acells["criterion.en"]})
        if arest:
            extra = {"addition": arest, **extra}
        first = True
        for k, cond in enumerate(ind.conditions):
            for row in _condition_rows(a.level, a.tier, ind.code, k, cond, region_ids,
                                       head if k == 0 else {}, extra if k == 0 else {}):
                row.update({"kind": "indicator", "criterion": a.criterion, "_top": first})
                first = False
                rows.append(row)
    for row in rows:
        row["kind"] = L.to_word("row_kind", row["kind"])
    docs = _ref(L.SHEET_DOCS, 1)
    # no drop-down for facts here: a provincial indicator may test national facts, which are not on this workbook
    refs = {"citation.document": docs, "source.document": docs}
    tier_ids = ",".join(dict.fromkeys(t.id for ls in base.levels for t in ls.tiers))
    if len(tier_ids) < 250:  # the base's tiers are not in this workbook: an inline list (Excel's limit is 255)
        refs["tier"] = f'"{tier_ids}"'
    _indicator_sheet(wb, cols, rows, refs)
    _parts_sheet(wb, list(top.items()))
    return wb


REFERENCE_KEYS = ("criterion", "criterion.vi", "criterion.en", "label.vi", "label.en", "unit", "fact", "op")


def national_reference(base: Ruleset, o) -> dict:
    """The national indicator a threshold override changes: criterion, wording, unit, fact and comparison."""
    ls = base.level(o.level)
    for t in (ls.tiers if ls else []):
        if t.id != o.tier:
            continue
        for c in t.criteria:
            for ind in c.indicators:
                if ind.code == o.indicator and o.condition < len(ind.conditions):
                    cond = ind.conditions[o.condition]
                    return {"criterion": c.number, "criterion.vi": c.name.vi, "criterion.en": c.name.en,
                            "label.vi": ind.label.vi, "label.en": ind.label.en, "unit": ind.unit,
                            "fact": cond.fact, "op": cond.op}
    return {}


# ---- the library API the CLI calls -------------------------------------------------------------------------

def _is_overlay_file(path: str) -> bool:
    from ntm.criteria.yamlsrc import load

    if not os.path.isfile(path):
        return False
    data = load(path).data
    return isinstance(data, dict) and "overlay" in data


def load_for_export(ruleset: str | None, overlay: str | None):
    """(kind, model, base ruleset) for `ntm rulesets export`: a ruleset, or an overlay on its base."""
    from ntm.criteria.loader import load_ruleset
    from ntm.criteria.overlay import Overlay, load_overlay
    from ntm.criteria.validation import validate
    from ntm.criteria.yamlsrc import load
    from ntm.errors import NtmInputError

    if overlay is None and ruleset is not None and _is_overlay_file(ruleset):
        ruleset, overlay = None, ruleset
    if overlay is None:
        if ruleset is None:
            raise NtmInputError.single("name a ruleset (id or file) or give --overlay FILE", field="RULESET")
        rs = load_ruleset(ruleset).ruleset
        return "ruleset", rs, rs
    base_ref = ruleset or validate(Overlay, load(overlay)).overlay.ruleset
    base = load_ruleset(base_ref).ruleset
    lo = load_overlay(overlay, base)
    return "overlay", lo.overlay, base


def export(ruleset: str | None, out: str, overlay: str | None = None, force: bool = False) -> dict:
    """Write the authoring workbook, after reading it back and comparing content hashes (refuse if they differ)."""
    from ntm.authoring.content import content_hash
    from ntm.authoring.workbook_import import read_workbook
    from ntm.errors import NtmInputError
    from ntm.fileout import check_target, stage

    check_target(out, force)
    kind, model, base = load_for_export(ruleset, overlay)
    wb = ruleset_workbook(model) if kind == "ruleset" else overlay_workbook(model, base)

    def save() -> bytes:
        import io

        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()

    from ntm.report.inert import inert_workbook

    inert_workbook(wb)  # every sheet, not only the rows: no text from the model becomes a formula
    staged = stage(save, out, force)
    try:
        if staged.tmp is not None:  # a device (-o /dev/stdout) is written as it is
            try:
                back = read_workbook(staged.tmp).model
            except NtmInputError as e:
                raise NtmInputError.single("the workbook would not read back exactly (a bug): "
                                           + "; ".join(p.render() for p in e.problems[:5]), file=out) from None
            want, got = content_hash(model), content_hash(back)
            if want != got:
                raise NtmInputError.single(f"the workbook would not read back exactly (content {got[:12]} ≠ "
                                           f"{want[:12]}); nothing written", file=out, hint="please report this ruleset")
        else:
            want = content_hash(model)
        staged.commit()
    finally:
        staged.discard()
    return {"kind": kind, "id": model.id if kind == "ruleset" else model.overlay.id, "content_sha256": want,
            "path": out}
