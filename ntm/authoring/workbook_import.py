"""Read an authoring workbook (as exported, then corrected in Excel or LibreOffice) back into a ruleset or overlay.

Every mistake is collected, each at its cell (`Chỉ tiêu!T14: "≥ 80" is not a number (expected ...)`), and the
whole list is raised at once; nothing is written while there is one. The result is checked twice: by the
schema (pydantic, cross-references) and by `ntm rulesets check` on the YAML it would write.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

from pydantic import ValidationError

from ntm.authoring import layout as L
from ntm.authoring.content import to_yaml
from ntm.authoring.thresholds import SOURCE_FIELDS, Prov, Row, fingerprint, leaf_data
from ntm.criteria.model import Ruleset, consistency_errors
from ntm.criteria.validation import _EXPECT, _clean_loc
from ntm.errors import NtmInputError, Problem, did_you_mean

ERR = object()  # a cell that could not be read (its problem is recorded)
VALUE_EXPECTED = "a number such as 80 or 13.9, Đạt (met / not met), or — (the text gives no number)"

SHEET_OF = {"documents": L.SHEET_DOCS, "versions": L.SHEET_VERSIONS, "regions": L.SHEET_REGIONS,
            "unit_flags": L.SHEET_FLAGS, "region_rules": L.SHEET_RULES, "facts": L.SHEET_FACTS,
            "levels": L.SHEET_INDICATORS, "thresholds": L.SHEET_INDICATORS, "indicators": L.SHEET_INDICATORS,
            "overlay": L.SHEET_INFO}


@dataclass
class TRow:
    number: int
    values: dict
    addr: dict  # column key -> "Sheet!C12"


@dataclass
class Ctx:
    problems: list[Problem] = field(default_factory=list)
    cells: dict = field(default_factory=dict)  # data location -> "Sheet!C12"
    reported: set = field(default_factory=set)  # data locations with a problem already
    bad_cells: set = field(default_factory=set)
    base: object = None  # an overlay's base ruleset
    structural: bool = False  # a sheet or column is missing: cross-references would only repeat it
    today: dt.date = field(default_factory=dt.date.today)

    def err(self, where: str, msg: str, expected: str | None = None, hint: str | None = None,
            loc: tuple | None = None) -> None:
        if (where, msg) in self.bad_cells:
            return
        self.bad_cells.add((where, msg))
        self.bad_cells.add(where)
        if loc is not None:
            self.reported.add(loc)
        self.problems.append(Problem(msg, field=where, expected=expected, hint=hint))

    def cell_of(self, loc: tuple) -> str | None:
        loc = tuple(loc)
        while loc:
            if loc in self.cells:
                return self.cells[loc]
            loc = loc[:-1]
        return None

    def at(self, loc: tuple, msg: str, expected: str | None = None, hint: str | None = None) -> None:
        """A problem the schema found at a data location, put on its cell."""
        loc = tuple(loc)
        if any(loc[:i] in self.reported for i in range(1, len(loc) + 1)):
            return
        where = self.cell_of(loc) or (SHEET_OF.get(loc[0], "?") if loc else "?")
        self.reported.add(loc)
        if where in self.bad_cells:
            return  # the cell's own problem says it better
        self.problems.append(Problem(msg, field=where, expected=expected, hint=hint))


def _norm(text) -> str:
    return " ".join(str(text).split()).casefold()


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i)


# ---- reading sheets ------------------------------------------------------------------------------------------

# what openpyxl raises on a damaged part (bad XML, a cell reference past ZZZ, a truncated stream)
_BROKEN = (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, ValueError, TypeError, EOFError, ParseError,
           SyntaxError, IndexError, AttributeError, zlib.error)


def _iter_rows(ws, **kw):
    """ws.iter_rows(values_only=True): a sheet's XML is parsed as it is read, so a damaged part shows up here,
    not when the workbook is opened; it becomes a clear error naming the sheet."""
    rows = ws.iter_rows(values_only=True, **kw)
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except _BROKEN as e:
            raise NtmInputError.single(f"this sheet cannot be read ({type(e).__name__}: {str(e)[:200]})",
                                       field=ws.title, expected="an .xlsx workbook written by "
                                       "`ntm rulesets export`") from None
        yield values


def read_table(ctx: Ctx, wb, sheet: str, cols: list[L.Col], dynamic=None, optional=("fp",)) -> list[TRow] | None:
    """The rows of a sheet, by header (columns may be moved). Unknown and missing headers are problems."""
    if sheet not in wb.sheetnames:
        ctx.err(f"{sheet}!A1", f"the sheet '{sheet}' is missing from the workbook",
                expected=f"a sheet named '{sheet}', as the export writes it",
                hint="copy it back from the exported workbook (a renamed sheet is not recognised)")
        ctx.structural = True
        return None
    ws = wb[sheet]
    known = {_norm(c.header): c for c in cols}
    found: dict[str, int] = {}
    colmap: dict[int, L.Col] = {}
    header = next(_iter_rows(ws, min_row=1, max_row=1), ())
    for i, h in enumerate(header, 1):
        if _blank(h):
            continue
        col = known.get(_norm(h)) or (dynamic(str(h).strip()) if dynamic else None)
        where = f"{sheet}!{_letter(i)}1"
        if col is None:
            names = [c.header for c in cols]
            ctx.err(where, f"unknown column \"{h}\"", expected="a column the export writes",
                    hint=did_you_mean(str(h), names) or ("known columns: " + ", ".join(names)))
            continue
        if col.key in found:
            ctx.err(where, f"column \"{h}\" appears twice", expected="each column once",
                    hint=f"the first is column {_letter(found[col.key])}")
            continue
        found[col.key] = i
        colmap[i] = col
    lost = [c for c in cols if c.key not in found and c.key not in optional]
    for c in lost:
        ctx.err(f"{sheet}!A1", f"column \"{c.header}\" is missing", expected="every column the export writes",
                hint="a renamed header is not recognised: restore its name (the sheet's rows are read once "
                     "its columns are all there)")
    if lost:
        ctx.structural = True
        return None
    rows = []
    for r, values in enumerate(_iter_rows(ws, min_row=2), 2):
        vals, addr = {}, {}
        for i, col in colmap.items():
            v = values[i - 1] if i - 1 < len(values) else None
            vals[col.key] = v
            addr[col.key] = f"{sheet}!{_letter(i)}{r}"
        if all(_blank(v) for v in vals.values()):
            continue
        for c in cols:  # a missing column still has an address for its problems
            addr.setdefault(c.key, f"{sheet}!A{r}")
        rows.append(TRow(r, vals, addr))
    return rows


def read_cell(ctx: Ctx, row: TRow, col: L.Col):
    """The schema value of one cell: None when blank, ERR (problem recorded) when unreadable."""
    v = row.values.get(col.key)
    where = row.addr.get(col.key, "?")
    if _blank(v):
        return None
    k = col.kind
    if k == "text":
        return v if isinstance(v, str) else _as_text(v)
    if k == "id":
        return v.strip() if isinstance(v, str) else _as_text(v)
    if k == "int":
        if isinstance(v, bool):
            pass
        elif isinstance(v, int):
            return v
        elif isinstance(v, float) and v.is_integer():
            return int(v)
        elif isinstance(v, str) and re.fullmatch(r"\s*[+-]?\d+\s*", v):
            return int(v)
        ctx.err(where, f"\"{v}\" is not a whole number", expected="a whole number such as 1, 2 or 2024")
        return ERR
    if k == "num":
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
        n = L.parse_number(v) if isinstance(v, str) else None
        if n is None:
            ctx.err(where, f"\"{v}\" is not a number", expected="a number such as 80 or 13.9")
            return ERR
        return n
    if k == "date":
        d = L.parse_date(v)
        if d is None:
            ctx.err(where, f"\"{v}\" is not a date", expected="a date YYYY-MM-DD or DD/MM/YYYY")
            return ERR
        return d
    if k == "list":
        text = _as_text(v).strip()
        if text == "[]":
            return []
        return [p.strip() for p in text.split(",") if p.strip()]
    if k == "flags_any":
        groups = [[f.strip() for f in g.split("+") if f.strip()] for g in _as_text(v).split(";")]
        return [g for g in groups if g]
    if k == "choice":
        try:
            return L.from_words(col.vocab, _as_text(v))
        except KeyError:
            words = L.vocab_words(col.vocab)
            ctx.err(where, f"\"{v}\" is not allowed here", expected="one of " + ", ".join(words),
                    hint=did_you_mean(_as_text(v), words))
            return ERR
    if k in ("yaml", "yaml_any"):
        from ntm.criteria.yamlsrc import parse

        try:
            data = parse(_as_text(v), where).data
        except NtmInputError as e:
            ctx.err(where, "is not valid YAML: " + "; ".join(p.message for p in e.problems),
                    expected="YAML fields, such as `group: {vi: ..., en: ...}`")
            return ERR
        if k == "yaml" and not isinstance(data, dict):
            ctx.err(where, "is not a YAML mapping", expected="fields written as `name: value`")
            return ERR
        return data
    if k == "value":
        return read_value(ctx, where, v)
    if k == "ref":
        m = L.REF_RE.match(_as_text(v))
        if not m:
            ctx.err(where, f"\"{v}\" is not a reference", expected="FACTOR × TIER CODE, e.g. 1.1 × standard 10")
            return ERR
        ref = {"tier": m.group("tier"), "indicator": m.group("code"), "factor": L.parse_number(m.group("factor"))}
        if m.group("cond"):
            ref["condition"] = int(m.group("cond")) - 1
        return ref
    return v


def _as_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dt.datetime, dt.date)):
        return (v.date() if isinstance(v, dt.datetime) else v).isoformat()
    return str(v)


def read_value(ctx: Ctx, where: str, v):
    """A threshold value cell: a number, Đạt (true), or — (the text gives no number)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, (dt.date, dt.datetime)):
        ctx.err(where, f"\"{_as_text(v)}\" is a date, not a number", expected=VALUE_EXPECTED)
        return ERR
    t = str(v).strip()
    low = t.casefold()
    if low in L.NULL_WORDS:
        return None
    if low in L.TRUE_WORDS:
        return True
    if low in ("không đạt", "false"):
        return False
    n = L.parse_number(t)
    if n is not None:
        return n
    hint = None
    if t[:1] in "≥≤<>=":
        hint = "write only the number; the comparison goes in column So sánh"
    elif "%" in t:
        hint = "write the number without %"
    ctx.err(where, f"\"{t}\" is not a number", expected=VALUE_EXPECTED, hint=hint)
    return ERR


# ---- building plain objects from rows -------------------------------------------------------------------------

def _set(d: dict, path: str, v) -> None:
    parts = path.split(".")
    cur = d
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = v


def _merge_extra(ctx: Ctx, where: str, d: dict, extra: dict, prefix: str = "") -> None:
    for k, v in extra.items():
        if k in d and isinstance(d[k], dict) and isinstance(v, dict):
            _merge_extra(ctx, where, d[k], v, f"{prefix}{k}.")
        elif k in d:
            ctx.err(where, f"field '{prefix}{k}' is given both in its column and in YAML bổ sung",
                    expected="each field once", hint="remove it from YAML bổ sung")
        else:
            d[k] = v


def build(ctx: Ctx, row: TRow, cols: list[L.Col], loc: tuple, mapping: dict[str, str] | None = None,
          extra: dict | None = None) -> dict:
    """An object from the cells of `cols` (by `mapping`, column key -> field path); cells remembered for errors."""
    d: dict = {}
    for c in cols:
        path = (mapping or {}).get(c.key, c.key if mapping is None else None)
        if path is None or c.key in ("extra", "fp"):
            continue
        ctx.cells[loc + tuple(path.split("."))] = row.addr[c.key]
        v = read_cell(ctx, row, c)
        if v is ERR:
            v = stand_in(c, path)
            if path.startswith("range.") and d.get("type") == "percent":
                v = 0 if path == "range.min" else 100
        if v is not None:
            _set(d, path, v)
    ctx.cells.setdefault(loc, row.addr[cols[0].key])
    if extra:
        _merge_extra(ctx, row.addr.get("extra", "?"), d, extra)
    return d


def stand_in(col: L.Col, path: str):
    """A valid value put in place of an unreadable cell (its problem is already recorded, and problems found at
    that cell later are not reported), so the rest of the workbook can still be checked in the same run."""
    if col.kind == "choice":
        return next(iter(L.VOCAB[col.vocab]))
    if path == "range.min":
        return -10**15
    if path == "range.max":
        return 10**15
    return None


def _extra(ctx: Ctx, row: TRow) -> dict:
    v = read_cell(ctx, row, L.EXTRA) if "extra" in row.values else None
    return v if isinstance(v, dict) else {}


def list_sheet(ctx: Ctx, wb, sheet: str, cols: list[L.Col], top: str) -> list[dict] | None:
    rows = read_table(ctx, wb, sheet, cols)
    if rows is None:
        ctx.reported.add((top,))
        return None
    return [build(ctx, r, cols, (top, i), extra=_extra(ctx, r)) for i, r in enumerate(rows)]


def info_sheet(ctx: Ctx, wb, spec) -> dict | None:
    if L.SHEET_INFO not in wb.sheetnames:
        ctx.err(f"{L.SHEET_INFO}!A1", f"the sheet '{L.SHEET_INFO}' is missing from the workbook",
                expected="the sheets the export writes", hint="copy it back from the exported workbook")
        return None
    ws = wb[L.SHEET_INFO]
    kinds = {k: kind for k, _, kind in spec}
    out, seen = {}, set()
    for r, values in enumerate(_iter_rows(ws, min_row=2), 2):
        key = values[0] if values else None
        v = values[2] if len(values) > 2 else None
        if _blank(key):
            if not _blank(v):
                ctx.err(f"{L.SHEET_INFO}!C{r}", "a value without a field name in column A",
                        expected="the field's code in column A (Mã trường)")
            continue
        key = str(key).strip()
        where = f"{L.SHEET_INFO}!C{r}"
        if key not in kinds:
            ctx.err(f"{L.SHEET_INFO}!A{r}", f"unknown field \"{key}\"", expected="one of " + ", ".join(kinds),
                    hint=did_you_mean(key, kinds))
            continue
        seen.add(key)
        kind = kinds[key]
        col = L.Col(key, key, kind=kind.split(":")[0], vocab=kind.split(":", 1)[1] if ":" in kind else None)
        tr = TRow(r, {key: v}, {key: where})
        val = read_cell(ctx, tr, col)
        ctx.cells[("info", key)] = where
        if val is not None and val is not ERR:
            out[key] = val
    return out


def parts_sheet(ctx: Ctx, wb) -> list[tuple[str, object, str]]:
    """(name, value, cell) of each row of the YAML sheet (the parts that are not tables)."""
    rows = read_table(ctx, wb, L.SHEET_YAML, L.PARTS)
    out = []
    for tr in rows or []:
        key = read_cell(ctx, tr, L.PARTS[0])
        if key is None:
            ctx.err(tr.addr["part"], "a YAML part without a name", expected="the field's name, e.g. commune_groups")
            continue
        value = read_cell(ctx, tr, L.PARTS[1])
        if value is ERR:
            continue
        out.append((key, value, tr.addr["yaml"]))
    return out


def _put_part(ctx: Ctx, data: dict, key: str, value, where: str) -> None:
    if key in data:
        ctx.err(where, f"part '{key}' is given twice (or also on another sheet)", expected="each part once")
        return
    data[key] = value
    ctx.cells[(key,)] = where


# ---- the indicators sheet ------------------------------------------------------------------------------------

def _ind_columns(regions: list[str], region_kind: str, overlay: bool):
    from ntm.authoring.workbook_export import _ind_cols

    cols = _ind_cols(regions, region_kind, overlay)
    by_header = {c.header: c for c in cols}

    def dynamic(h: str):
        if h in L.ALL_REGIONS.values():
            return by_header.get(L.ALL_REGIONS[region_kind])
        return None
    return cols, dynamic


@dataclass
class CondRows:
    number: int
    first: TRow
    rows: list = field(default_factory=list)  # (TRow, Row)


def read_threshold_row(ctx: Ctx, tr: TRow, cols_by_key: dict, regions: list[str]) -> tuple[Row, dict]:
    """One row's values and provenance; also the cells it read (for the 'verified' rule)."""
    row = Row()
    y = read_cell(ctx, tr, cols_by_key["year"])
    row.year = y if isinstance(y, int) else None
    if y is ERR:
        row.year = ERR
    a = read_cell(ctx, tr, cols_by_key["all"]) if "all" in tr.values else None
    if not _blank(tr.values.get("all")):
        row.has_all, row.all = True, a
    for r in regions:
        key = "r:" + r
        if key in tr.values and not _blank(tr.values.get(key)):
            row.regions[r] = read_cell(ctx, tr, cols_by_key[key])
    ref = read_cell(ctx, tr, cols_by_key["ref"])
    if isinstance(ref, dict):
        from ntm.criteria.model import ThresholdRef

        try:
            row.ref = ThresholdRef.model_validate(ref)
        except ValidationError as e:
            ctx.err(tr.addr["ref"], e.errors()[0]["msg"].removeprefix("Value error, "),
                    expected="FACTOR × TIER CODE with a positive factor")
    elif ref is ERR:
        row.ref = ERR
    status = read_cell(ctx, tr, cols_by_key["status"])
    set_by = read_cell(ctx, tr, cols_by_key["set_by"])
    src = {}
    for f in SOURCE_FIELDS:
        v = read_cell(ctx, tr, cols_by_key["source." + f])
        if v is not None and v is not ERR:
            src[f] = v
    vby = read_cell(ctx, tr, cols_by_key["verified_by"])
    von = read_cell(ctx, tr, cols_by_key["verified_on"])
    note = read_cell(ctx, tr, cols_by_key["note"])
    row.prov = Prov(status if status is not ERR else None, note if note is not ERR else None,
                    set_by if set_by not in (None, ERR) else "national", src or None,
                    vby if vby is not ERR else None, von if von is not ERR else None)
    return row, {"status": status}


def _check_row(ctx: Ctx, tr: TRow, row: Row, fp_now: str | None) -> bool:
    """Rules a person can break on one threshold row. True when the row can be used."""
    ok = True
    values = ([row.all] if row.has_all else []) + list(row.regions.values())
    if any(v is ERR for v in values) or row.ref is ERR or row.year is ERR:
        return False
    if row.ref is not None:
        if values:
            ctx.err(tr.addr["ref"], "a reference and a value on the same row",
                    expected="either a value (Mọi vùng or region columns) or a reference (Theo ngưỡng khác)")
            return False
        if row.year is not None:
            ctx.err(tr.addr["year"], "a reference cannot be given per year", expected="a blank year")
            return False
        if row.prov.status is not None:
            ctx.err(tr.addr["status"], "a reference takes its status from the threshold it follows",
                    expected="a blank status on a reference row")
            return False
        return True
    if not values:
        ctx.err(tr.addr["all"], "no value on this row",
                expected="a number, Đạt or — in Mọi vùng or in the region columns")
        return False
    if row.has_all and row.regions:
        first = next(iter(row.regions))
        ctx.err(tr.addr["r:" + first], "a value for every region (Mọi vùng) and a value for one region on the same row",
                expected="either Mọi vùng or the region columns")
        return False
    p = row.prov
    if p.status is None:
        ctx.err(tr.addr["status"], "a value needs a status", expected="đã đối chiếu, tạm tính or thiếu")
        ok = False
    elif p.status in ("provisional", "missing") and not p.note:
        ctx.err(tr.addr["note"], f"a {L.to_word('status', p.status)} value needs a note",
                expected="why it is not verified, and the document to check it against")
        ok = False
    if p.status == "verified" and (fp_now is None or fp_now != tr.values.get("fp")):
        src = p.source or {}
        needs = [("source.document", "document" in src, "the document it was read in (as on sheet Văn bản)"),
                 ("source.item", "item" in src, "the item (mục) of that document"),
                 ("source.page", "page" in src or "url" in src, "the page, or a URL in Nguồn: URL"),
                 ("verified_by", bool(p.verified_by), "the name of the person who checked it"),
                 ("verified_on", p.verified_on is not None, "the date it was checked")]
        for key, present, what in needs:
            if not present:
                ctx.err(tr.addr[key], "a value marked verified must name its source and who verified it and when",
                        expected=what)
                ok = False
    if p.verified_on is not None and p.verified_on > ctx.today:
        ctx.err(tr.addr["verified_on"], f"{p.verified_on} is in the future", expected="the date it was checked")
        ok = False
    return ok


def build_threshold(ctx: Ctx, cr: CondRows, loc: tuple) -> dict | None:
    rows = cr.rows
    ctx.cells[loc] = cr.first.addr["all"]
    refs = [(tr, r) for tr, r in rows if r.ref is not None]
    if refs:
        if len(rows) > 1:
            tr = rows[1][0]
            ctx.err(tr.addr["ref"] if rows[1][1].ref is not None else tr.addr["all"],
                    f"condition {cr.number} is a reference (row {rows[0][0].number}); it takes one row",
                    expected="a single row for a reference")
            return None
        ctx.cells[loc + ("ref",)] = refs[0][0].addr["ref"]
        return {"ref": refs[0][1].ref.model_dump(exclude_defaults=True)}
    years = [r.year for _, r in rows]
    if any(y is None for y in years) and any(y is not None for y in years):
        tr = next(tr for tr, r in rows if r.year is None)
        ctx.err(tr.addr["year"], "a year on some rows of this condition but not on this one",
                expected="a year on every row of the condition, or on none")
        return None
    if years[0] is None:
        return _regions(ctx, rows, loc)
    by_year: dict = {}
    for y in dict.fromkeys(years):
        sub = [(tr, r) for tr, r in rows if r.year == y]
        ctx.cells[loc + ("by_year", y)] = sub[0][0].addr["year"]
        t = _regions(ctx, sub, loc + ("by_year", y))
        if t is None:
            return None
        by_year[y] = t
    return {"by_year": by_year}


def _regions(ctx: Ctx, rows, loc) -> dict | None:
    alls = [(tr, r) for tr, r in rows if r.has_all]
    if alls:
        if len(rows) > 1:
            other = next((tr, r) for tr, r in rows if (tr, r) != alls[0])
            ctx.err(other[0].addr["all"] if other[1].has_all else other[0].addr["year"],
                    f"row {alls[0][0].number} already gives one value for every region",
                    expected="one row with Mọi vùng, or rows with region columns")
            return None
        tr, r = alls[0]
        _leaf_cells(ctx, tr, loc, "all")
        return leaf_data(r.all, r.prov)
    by_region: dict = {}
    for tr, r in rows:
        for region, v in r.regions.items():
            if region in by_region:
                ctx.err(tr.addr["r:" + region], f"region {region} is given twice for this condition",
                        expected="each region once per condition (and year)")
                return None
            _leaf_cells(ctx, tr, loc + ("by_region", region), "r:" + region)
            by_region[region] = leaf_data(v, r.prov)
    return {"by_region": by_region}


def _leaf_cells(ctx: Ctx, tr: TRow, loc: tuple, value_key: str) -> None:
    ctx.cells[loc] = tr.addr[value_key]
    ctx.cells[loc + ("value",)] = tr.addr[value_key]
    for key, path in (("status", "status"), ("note", "note"), ("set_by", "set_by"), ("verified_by", "verified_by"),
                      ("verified_on", "verified_on")):
        ctx.cells[loc + (path,)] = tr.addr[key]
    for f in SOURCE_FIELDS:
        ctx.cells[loc + ("source", f)] = tr.addr["source." + f]
    ctx.cells[loc + ("source",)] = tr.addr["source.document"]


IND_KEYS = ("label.vi", "label.en", "unit", "at_least", "applies_if", "effective.from", "effective.to",
            "citation.document", "citation.appendix", "citation.article", "citation.item", "ind_note",
            "provincial_placeholder")
COND_KEYS = ("fact", "op", "cond_label.vi", "cond_label.en")


def indicator_rows(ctx: Ctx, rows: list[TRow], cols: list[L.Col], regions: list[str], overlay: bool):
    """Group the sheet's rows: indicators (consecutive rows with the same level, tier, criterion and code),
    their conditions (by Điều kiện số) and each condition's threshold rows. Yields dicts describing each group."""
    from ntm.authoring.workbook_export import COND_MAP, IND_MAP

    by_key = {c.key: c for c in cols}
    groups: list[dict] = []
    cur = None
    dead = None  # the rows of a group that had a problem are skipped, not re-reported
    for tr in rows:
        keys = {}
        for k in ("kind", "level", "tier", "criterion", "code", "cond") if overlay else ("level", "tier", "criterion",
                                                                                         "code", "cond"):
            v = read_cell(ctx, tr, by_key[k])
            keys[k] = v
        kind = keys.get("kind", "indicator")
        if kind is None and overlay:
            ctx.err(tr.addr["kind"], "the row's kind is missing", expected="sửa ngưỡng or thêm chỉ tiêu")
            cur = None
            continue
        needed = ("level", "tier", "code", "cond") + (("criterion",) if kind == "indicator" else ())
        missing = [k for k in needed if keys[k] is None]
        for k in missing:
            ctx.err(tr.addr[k], f"{by_key[k].header} is missing", expected="a value on every row")
        if missing or any(keys[k] is ERR for k in keys):
            cur = None
            continue
        ident = (kind, keys["level"], keys["tier"], keys.get("criterion"), keys["code"])
        if cur is None and dead == ident:
            continue
        dead = None
        label = read_cell(ctx, tr, by_key["label.vi"])
        new = cur is None or cur["ident"] != ident or (
            label not in (None, ERR) and cur["ind"].get("label", {}).get("vi") not in (None, label))
        if new:
            mapping = {k: IND_MAP[k] for k in IND_MAP if k != "code"} if kind == "indicator" else {
                k: k for k in ("citation.document", "citation.appendix", "citation.article", "citation.item")}
            cur = {"ident": ident, "kind": kind, "first": tr, "keys": keys, "conds": [], "ind_cols": mapping,
                   "crit": {"vi": read_cell(ctx, tr, by_key["criterion.vi"]),
                            "en": read_cell(ctx, tr, by_key["criterion.en"])},
                   "extra": _extra(ctx, tr)}
            cur["ind"] = {}
            for ck, path in mapping.items():
                v = read_cell(ctx, tr, by_key[ck])
                if v is not None and v is not ERR:
                    _set(cur["ind"], path, v)
            groups.append(cur)
        else:
            for ck in IND_KEYS + ("criterion.vi", "criterion.en"):
                if not _blank(tr.values.get(ck)) and not _same_cell(tr.values.get(ck), cur["first"].values.get(ck)):
                    ctx.err(tr.addr[ck], f"differs from row {cur['first'].number}, the indicator's first row",
                            expected="the same value, or a blank cell (it is read from the first row)")
        n = keys["cond"]
        conds = cur["conds"]
        if not conds or conds[-1].number != n:
            expected_n = len(conds) + 1
            if n != expected_n:
                ctx.err(tr.addr["cond"], f"condition number {n} follows "
                        + (f"condition {conds[-1].number}" if conds else "the indicator's start"),
                        expected=f"{expected_n} (conditions are numbered 1, 2, ... in order)")
                groups.remove(cur)
                cur, dead = None, ident
                continue
            cr = CondRows(n, tr)
            cr.cells = {}
            if kind == "indicator":
                for ck, path in COND_MAP.items():
                    v = read_cell(ctx, tr, by_key[ck])
                    if v is ERR:
                        v = stand_in(by_key[ck], path)
                    if v is not None:
                        _set(cr.cells, path, v)
            conds.append(cr)
        else:
            cr = conds[-1]
            for ck in COND_KEYS:
                if not _blank(tr.values.get(ck)) and not _same_cell(tr.values.get(ck), cr.first.values.get(ck)):
                    ctx.err(tr.addr[ck], f"differs from row {cr.first.number}, the condition's first row",
                            expected="the same value, or a blank cell")
            if not _blank(tr.values.get("extra")):
                ctx.err(tr.addr["extra"], f"YAML bổ sung belongs on row {cr.first.number}, the condition's "
                        "first row", expected="a blank cell on the following rows")
        row, _ = read_threshold_row(ctx, tr, by_key, regions)
        cr.rows.append((tr, row))
    return groups


def _same_cell(a, b) -> bool:
    return _norm(_as_text(a)) == _norm(_as_text(b)) if not _blank(b) else False


def finish_indicator(ctx: Ctx, g: dict, loc: tuple, regions: list[str]) -> dict:
    """The indicator (or override) dict of a group, with its conditions and thresholds; cells remembered."""
    from ntm.authoring.workbook_export import COND_MAP

    first = g["first"]
    ind = dict(g["ind"])
    for ck, path in g["ind_cols"].items():
        ctx.cells[loc + tuple(path.split("."))] = first.addr[ck]
    ctx.cells[loc] = first.addr["code"]
    extra = g["extra"]
    if g["kind"] == "threshold":
        o = {"level": g["keys"]["level"], "tier": g["keys"]["tier"], "indicator": g["keys"]["code"],
             "condition": g["keys"]["cond"] - 1, **ind}
        for k, col in (("level", "level"), ("tier", "tier"), ("indicator", "code"), ("condition", "cond")):
            ctx.cells[loc + (k,)] = first.addr[col]
        if len(g["conds"]) != 1:
            tr = g["conds"][1].first
            ctx.err(tr.addr["cond"], "a threshold override changes one condition; this row names another",
                    expected=f"condition {g['keys']['cond']} on every row of the override, or a new override")
        cr = g["conds"][0]
        _same_as_national(ctx, g, cr)
        o["threshold"] = _threshold(ctx, cr, loc + ("threshold",), extra.get("threshold"), first, regions, g)
        _merge_extra(ctx, first.addr["extra"], o, extra.get("override", {}))
        _unknown_extra(ctx, first, extra, {"override", "threshold"})
        return o
    ind["code"] = g["keys"]["code"]
    ind["conditions"] = []
    for k, cr in enumerate(g["conds"]):
        cloc = loc + ("conditions", k)
        c = dict(cr.cells)
        for key, word in (("fact", "the fact it tests (an id on sheet Chỉ số)"),
                          ("op", "one of " + ", ".join(L.vocab_words("op")))):
            if key not in c and key not in (_extra(ctx, cr.first) if k else extra).get("condition", {}):
                where = cr.first.addr["fact" if key == "fact" else "op"]
                if where not in ctx.bad_cells:
                    ctx.err(where, f"condition {cr.number} of {g['keys']['code']} has no "
                            + ("fact" if key == "fact" else "comparison"), expected=word)
                c[key] = ">=" if key == "op" else "fact_not_given"  # stand-in: keeps the rest checkable
        for ck, path in COND_MAP.items():
            ctx.cells[cloc + tuple(path.split("."))] = cr.first.addr[ck]
        ctx.cells[cloc] = cr.first.addr["cond"]
        th_extra = extra.get("threshold") if k == 0 else None
        if k > 0 and not _blank(cr.first.values.get("extra")):
            yx = _extra(ctx, cr.first)
            th_extra = yx.get("threshold")
            _merge_extra(ctx, cr.first.addr["extra"], c, yx.get("condition", {}))
            _unknown_extra(ctx, cr.first, yx, {"condition", "threshold"})
        c["threshold"] = _threshold(ctx, cr, cloc + ("threshold",), th_extra, cr.first, regions, g, c)
        if k == 0:
            _merge_extra(ctx, first.addr["extra"], c, extra.get("condition", {}))
        ind["conditions"].append(c)
    _merge_extra(ctx, first.addr["extra"], ind, extra.get("indicator", {}))
    _unknown_extra(ctx, first, extra, {"criterion", "indicator", "condition", "threshold", "addition"})
    return ind


def _same_as_national(ctx: Ctx, g: dict, cr: CondRows) -> None:
    """On an override row the national wording, fact and comparison are shown for reference: they cannot change."""
    from ntm.authoring.workbook_export import REFERENCE_KEYS, national_reference
    from ntm.criteria.overlay import ThresholdOverride

    if ctx.base is None:
        return
    k = g["keys"]
    probe = ThresholdOverride.model_construct(level=k["level"], tier=k["tier"], indicator=k["code"],
                                              condition=k["cond"] - 1)
    shown = national_reference(ctx.base, probe)
    if not shown:
        return  # the check of the written overlay reports the unknown indicator
    for key in REFERENCE_KEYS:
        tr = cr.first if key in ("fact", "op") else g["first"]
        v = tr.values.get(key)
        if _blank(v):
            continue
        want = shown[key]
        if key == "op":
            try:
                same = L.from_words("op", _as_text(v)) == want
            except KeyError:
                same = False
            want = L.to_word("op", want)
        else:
            same = want is not None and _norm(_as_text(v)) == _norm(want)
        if not same:
            ctx.err(tr.addr[key], f"an overlay cannot change the national {key.split('.')[0]} of "
                    f"{k['tier']} {k['code']}; this cell only shows it", expected=f"\"{want}\" or a blank cell",
                    hint="to add a provincial indicator use a row of kind 'thêm chỉ tiêu'")


def _unknown_extra(ctx: Ctx, tr: TRow, extra: dict, allowed: set) -> None:
    for k in extra:
        if k not in allowed:
            ctx.err(tr.addr["extra"], f"unknown part '{k}' in YAML bổ sung",
                    expected="one of " + ", ".join(sorted(allowed)), hint=did_you_mean(k, allowed))


def _threshold(ctx: Ctx, cr: CondRows, loc: tuple, th_extra, first: TRow, regions, g, cond: dict | None = None):
    level, tier, code = g["keys"]["level"], g["keys"]["tier"], g["keys"]["code"]
    fact = cond.get("fact") if cond is not None else None
    op = cond.get("op") if cond is not None else None
    usable = True
    for tr, row in cr.rows:
        fp_now = None if th_extra is not None else fingerprint(level, tier, code, cr.number, fact, op, row, regions)
        if th_extra is None:
            usable &= _check_row(ctx, tr, row, fp_now)
    if th_extra is not None:
        if any(row.has_all or row.regions or row.ref is not None for _, row in cr.rows):
            ctx.err(first.addr["extra"], "the threshold is given both as YAML and in the value columns",
                    expected="one of the two")
        ctx.cells[loc] = first.addr["extra"]
        return th_extra
    if not usable:
        ctx.reported.add(loc)
        return {"value": None, "status": "missing", "note": "(unreadable)"}
    t = build_threshold(ctx, cr, loc)
    if t is None:
        ctx.reported.add(loc)
        return {"value": None, "status": "missing", "note": "(unreadable)"}
    return t


# ---- whole workbooks -----------------------------------------------------------------------------------------

@dataclass
class Imported:
    kind: str  # ruleset | overlay
    model: object
    base: Ruleset | None = None
    cells: dict = field(default_factory=dict)


def open_workbook(path: str):
    import openpyxl

    try:
        return openpyxl.load_workbook(path, data_only=True, read_only=True)
    except FileNotFoundError:
        raise NtmInputError.single("no such file", file=path) from None
    except _BROKEN as e:
        raise NtmInputError.single(f"cannot read the workbook: {e}", file=path,
                                   expected="an .xlsx workbook written by `ntm rulesets export`") from None


def workbook_kind(wb) -> str:
    if L.SHEET_INFO in wb.sheetnames:
        for values in _iter_rows(wb[L.SHEET_INFO], min_row=2):
            if values and values[0] == "kind" and len(values) > 2 and not _blank(values[2]):
                try:
                    return L.from_words("ruleset_kind", str(values[2]))
                except KeyError:
                    pass
    return L.KIND_OVERLAY if L.SHEET_TIERS not in wb.sheetnames and L.SHEET_FACTS in wb.sheetnames \
        and L.SHEET_RULES not in wb.sheetnames else L.KIND_RULESET


def read_workbook(path: str, today: dt.date | None = None) -> Imported:
    wb = open_workbook(path)
    try:
        ctx = Ctx(today=today or dt.date.today())
        if workbook_kind(wb) == L.KIND_OVERLAY:
            return _read_overlay(ctx, wb)
        return _read_ruleset(ctx, wb)
    finally:
        wb.close()  # read-only mode keeps the file open until closed


def _info_data(ctx: Ctx, info: dict, top: tuple) -> dict:
    d: dict = {}
    for k, v in info.items():
        if k in ("kind", "extra"):
            continue
        _set(d, k, v)
        ctx.cells[top + tuple(k.split("."))] = ctx.cells[("info", k)]
    if "extra" in info:
        _merge_extra(ctx, ctx.cells[("info", "extra")], d, info["extra"])
    return d


def _read_ruleset(ctx: Ctx, wb) -> Imported:
    info = info_sheet(ctx, wb, L.RULESET_INFO) or {}
    data = _info_data(ctx, info, ())
    for k in ("id", "version", "title.vi", "title.en", "effective.from"):
        ctx.cells.setdefault(tuple(k.split(".")), f"{L.SHEET_INFO}!C2")
    region_kind = info.get("region_kind", "region")
    region_sheet = L.SHEET_GROUPS if region_kind == "commune_group" else L.SHEET_REGIONS
    if region_sheet not in wb.sheetnames:
        other = L.SHEET_REGIONS if region_sheet == L.SHEET_GROUPS else L.SHEET_GROUPS
        if other in wb.sheetnames:
            region_sheet = other
    for top, sheet, cols in (("documents", L.SHEET_DOCS, L.DOCS), ("versions", L.SHEET_VERSIONS, L.VERSIONS),
                             ("regions", region_sheet, L.REGIONS), ("unit_flags", L.SHEET_FLAGS, L.FLAGS),
                             ("region_rules", L.SHEET_RULES, L.RULES), ("facts", L.SHEET_FACTS, L.FACTS)):
        items = list_sheet(ctx, wb, sheet, cols, top)
        if items is not None:
            data[top] = items
    regions = [r.get("id") for r in data.get("regions", []) if isinstance(r.get("id"), str)]
    # tiers, grouped by level in order of appearance
    levels: list[dict] = []
    tier_at: dict[tuple, tuple] = {}
    trows = read_table(ctx, wb, L.SHEET_TIERS, L.TIERS)
    for tr in trows or []:
        lv = read_cell(ctx, tr, L.TIERS[0])
        if lv is None:
            ctx.err(tr.addr["level"], "Cấp is missing", expected="commune, district, village or province")
            continue
        if lv is ERR:
            continue
        li = next((i for i, x in enumerate(levels) if x["level"] == lv), None)
        if li is None:
            levels.append({"level": lv, "tiers": []})
            li = len(levels) - 1
            ctx.cells[("levels", li)] = tr.addr["level"]
        ti = len(levels[li]["tiers"])
        t = build(ctx, tr, L.TIERS[1:], ("levels", li, "tiers", ti), extra=_extra(ctx, tr))
        t["criteria"] = []
        levels[li]["tiers"].append(t)
        if isinstance(t.get("id"), str):
            tier_at.setdefault((lv, t["id"]), (li, ti))
    data["levels"] = levels
    for key, value, where in parts_sheet(ctx, wb):
        if key.startswith(L.LEVEL_KEY):
            lv = key[len(L.LEVEL_KEY):]
            li = next((i for i, x in enumerate(levels) if x["level"] == lv), None)
            if li is None:
                ctx.err(where, f"level '{lv}' has no tier on sheet {L.SHEET_TIERS}",
                        expected="one of " + ", ".join(x["level"] for x in levels))
            elif not isinstance(value, dict):
                ctx.err(where, "a level's part must be YAML fields", expected="fields such as `criteria_bands: ...`")
            else:
                for k in value:
                    ctx.cells[("levels", li, k)] = where
                _merge_extra(ctx, where, levels[li], value)
            continue
        _put_part(ctx, data, key, value, where)
    cols, dynamic = _ind_columns(regions, region_kind, overlay=False)
    rows = read_table(ctx, wb, L.SHEET_INDICATORS, cols, dynamic)
    if rows is not None:
        crit_of: dict[tuple, int] = {}
        for g in indicator_rows(ctx, rows, cols, regions, overlay=False):
            lv, tier, crit = g["keys"]["level"], g["keys"]["tier"], g["keys"]["criterion"]
            at = tier_at.get((lv, tier))
            if at is None:
                known = [t for (lvl, t) in tier_at if lvl == lv]
                ctx.err(g["first"].addr["tier"], f"tier '{tier}' of level {lv} is not on sheet {L.SHEET_TIERS}",
                        expected="one of " + (", ".join(known) or "(none)"), hint=did_you_mean(tier, known))
                continue
            li, ti = at
            tier_d = levels[li]["tiers"][ti]
            ckey = (lv, tier, crit)
            if ckey not in crit_of:  # rows added further down join their criterion
                crit_d = {"number": crit, "indicators": []}
                name = {k: v for k, v in g["crit"].items() if v not in (None, ERR)}
                if name:
                    crit_d["name"] = name
                tier_d["criteria"].append(crit_d)
                ci = len(tier_d["criteria"]) - 1
                crit_of[ckey] = ci
                cl = ("levels", li, "tiers", ti, "criteria", ci)
                ctx.cells[cl] = g["first"].addr["criterion"]
                ctx.cells[cl + ("number",)] = g["first"].addr["criterion"]
                ctx.cells[cl + ("name",)] = g["first"].addr["criterion.vi"]
                ctx.cells[cl + ("name", "vi")] = g["first"].addr["criterion.vi"]
                ctx.cells[cl + ("name", "en")] = g["first"].addr["criterion.en"]
                _merge_extra(ctx, g["first"].addr["extra"], crit_d, g["extra"].get("criterion", {}))
            else:
                ci = crit_of[ckey]
                crit_d = tier_d["criteria"][ci]
                for k in ("vi", "en"):
                    v = g["crit"][k]
                    if v not in (None, ERR) and crit_d.get("name", {}).get(k) not in (None, v):
                        ctx.err(g["first"].addr[f"criterion.{k}"], "differs from the criterion's name on an "
                                "earlier row", expected="the same name, or a blank cell")
                    elif v not in (None, ERR):
                        crit_d.setdefault("name", {})[k] = v
            loc = ("levels", li, "tiers", ti, "criteria", ci, "indicators", len(crit_d["indicators"]))
            crit_d["indicators"].append(finish_indicator(ctx, g, loc, regions))
    return _validated(ctx, Imported(L.KIND_RULESET, None), Ruleset, data)


def _read_overlay(ctx: Ctx, wb) -> Imported:
    from ntm.criteria.loader import load_ruleset
    from ntm.criteria.overlay import Overlay

    info = info_sheet(ctx, wb, L.OVERLAY_INFO) or {}
    o = _info_data(ctx, info, ("overlay",))
    base = None
    if "ruleset" in info:
        try:
            base = ctx.base = load_ruleset(info["ruleset"]).ruleset
        except NtmInputError as e:
            ctx.err(ctx.cells[("info", "ruleset")], f"base ruleset '{info['ruleset']}' cannot be loaded: "
                    + "; ".join(p.message for p in e.problems), expected="a shipped ruleset id or a ruleset file")
    else:
        ctx.err(f"{L.SHEET_INFO}!C2", "the overlay does not name its base ruleset", expected="a field 'ruleset'")
    docs = list_sheet(ctx, wb, L.SHEET_DOCS, L.DOCS, "documents")
    if docs:
        o["documents"] = docs
        for (top, *rest), cell in list(ctx.cells.items()):
            if top == "documents":
                ctx.cells[("overlay", "documents", *rest)] = cell
    data: dict = {"overlay": o}
    for key, value, where in parts_sheet(ctx, wb):
        _put_part(ctx, data, key, value, where)
    facts = list_sheet(ctx, wb, L.SHEET_FACTS, L.FACTS, "facts")
    if facts is not None:
        data["facts"] = facts
    regions = [r.id for r in base.regions] if base else []
    cols, dynamic = _ind_columns(regions, base.region_kind if base else "region", overlay=True)
    rows = read_table(ctx, wb, L.SHEET_INDICATORS, cols, dynamic) if base else None
    if rows is not None:
        data["thresholds"], data["indicators"] = [], []
        for g in indicator_rows(ctx, rows, cols, regions, overlay=True):
            if g["kind"] == "threshold":
                loc = ("thresholds", len(data["thresholds"]))
                data["thresholds"].append(finish_indicator(ctx, g, loc, regions))
            else:
                loc = ("indicators", len(data["indicators"]))
                add = {"level": g["keys"]["level"], "tier": g["keys"]["tier"], "criterion": g["keys"]["criterion"]}
                for k, col in (("level", "level"), ("tier", "tier"), ("criterion", "criterion")):
                    ctx.cells[loc + (k,)] = g["first"].addr[col]
                name = {k: v for k, v in g["crit"].items() if v not in (None, ERR)}
                if name:
                    add["criterion_name"] = name
                ctx.cells[loc + ("criterion_name",)] = g["first"].addr["criterion.vi"]
                _merge_extra(ctx, g["first"].addr["extra"], add, g["extra"].get("addition", {}))
                add["indicator"] = finish_indicator(ctx, g, loc + ("indicator",), regions)
                data["indicators"].append(add)
    return _validated(ctx, Imported(L.KIND_OVERLAY, None, base), Overlay, data)


def _schema_problem(e: dict) -> tuple[str, str | None]:
    etype = e["type"]
    msg = e["msg"].removeprefix("Value error, ")
    expected = _EXPECT.get(etype)
    if etype == "missing":
        msg = "this field is required"
    elif etype == "extra_forbidden":
        msg = f"unknown field '{e['loc'][-1]}'"
    elif etype == "literal_error":
        msg = f"'{e.get('input')}' is not allowed"
        expected = "one of " + e.get("ctx", {}).get("expected", "")
    elif etype == "string_pattern_mismatch":
        msg = f"'{e.get('input')}' is not a valid code or id"
        expected = {r"^[a-z][a-z0-9_]*$": "lower-case letters, digits and _ (starting with a letter)",
                    r"^[0-9]+(\.[0-9]+)*[a-z]?$": "a code such as 2, 2.1 or 17.10",
                    }.get(e.get("ctx", {}).get("pattern"), e.get("ctx", {}).get("pattern"))
    return msg, expected


def _overlay_sources(ctx: Ctx, ov, base: Ruleset) -> None:
    """A verified value's source must be a document the overlay or its base ruleset lists."""
    from ntm.criteria.model import _walk_thresholds

    docs = {d.id for d in base.documents} | {d.id for d in ov.overlay.documents}
    for i, o in enumerate(ov.thresholds):
        for tloc, th in _walk_thresholds(o.threshold, ("thresholds", i, "threshold")):
            if th.source is not None and th.source.document not in docs:
                ctx.at(tloc + ("source", "document"), f"unknown document '{th.source.document}'",
                       hint=did_you_mean(th.source.document, docs) or f"list it on sheet {L.SHEET_DOCS}")


def _validated(ctx: Ctx, imp: Imported, model, data: dict) -> Imported:
    try:
        obj = model.model_validate(data)
    except ValidationError as e:
        for err in e.errors(include_url=False):
            loc = _clean_loc(tuple(err["loc"]), data)
            msg, expected = _schema_problem(err)
            ctx.at(loc, msg, expected)
        obj = None
    if obj is not None and model is Ruleset and not ctx.structural:
        from ntm.criteria.check import _hint

        for loc, msg in consistency_errors(obj):
            ctx.at(loc, msg, hint=_hint(obj, msg))
    if obj is not None and model is not Ruleset and imp.base is not None:
        _overlay_sources(ctx, obj, imp.base)
    if ctx.problems:
        raise NtmInputError(sorted_problems(ctx.problems))
    imp.model = obj
    imp.cells = ctx.cells
    return imp


SHEET_ORDER = [L.SHEET_INFO, L.SHEET_DOCS, L.SHEET_VERSIONS, L.SHEET_REGIONS, L.SHEET_GROUPS, L.SHEET_FLAGS,
               L.SHEET_RULES, L.SHEET_FACTS, L.SHEET_TIERS, L.SHEET_INDICATORS, L.SHEET_YAML]


def sorted_problems(problems: list[Problem]) -> list[Problem]:
    """In workbook order: sheet by sheet, row by row, left to right."""
    from openpyxl.utils import column_index_from_string

    def key(p: Problem):
        sheet, _, cell = (p.field or "").partition("!")
        m = re.match(r"^([A-Z]+)(\d+)$", cell)
        order = SHEET_ORDER.index(sheet) if sheet in SHEET_ORDER else len(SHEET_ORDER)
        return (order, int(m.group(2)) if m else 0, column_index_from_string(m.group(1)) if m else 0)
    return sorted(problems, key=key)


_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def loc_of(path: str) -> tuple:
    """'levels[0].tiers[1].id' -> ('levels', 0, 'tiers', 1, 'id')."""
    out = []
    for idx, name in _TOKEN.findall(path or ""):
        if idx:
            out.append(int(idx))
        elif name.isdigit():
            out.append(int(name))
        else:
            out.append(name)
    return tuple(out)


def check_target(out: str, force: bool) -> None:
    from ntm.fileout import check_target as check

    check(out, force)


def write_yaml(imp: Imported, source: str, out: str, force: bool = False) -> list[str]:
    """Write the imported ruleset or overlay to `out` once `ntm rulesets check` passes on it; return the warnings.

    The YAML goes to a temporary file beside `out`, is checked there, and replaces nothing until it passes."""
    from ntm.criteria.check import check

    check_target(out, force)
    header = (f"Imported by `ntm rulesets import` from {os.path.basename(source)}.\n"
              "Edit the workbook and import again rather than editing this file by hand.")
    text = to_yaml(imp.model, header)
    from ntm.fileout import stage

    staged = stage(text, out, force)
    tmp = staged.tmp or out
    try:
        rep = check(tmp)
        if rep.errors:
            ctx = Ctx(cells=getattr(imp, "cells", {}))
            for f in rep.errors:
                loc = loc_of(f.field or "")
                where = ctx.cell_of(loc)
                ctx.problems.append(Problem(f.message, field=where or f"(YAML) {f.field or ''}".strip(),
                                            hint=f.hint))
            raise NtmInputError(ctx.problems)
        staged.commit()
    finally:
        staged.discard()
    return [f.render().replace(tmp, out) for f in rep.warnings]
