"""Read a batch input (a folder of dossiers, a CSV file or an XLSX workbook) into one job per commune.

Table contract (CSV and XLSX; `ntm template` follows it):

- **Row 1 holds the headers**; data starts on row 2. A row whose first cell starts with ``#`` is a comment;
  fully empty rows are skipped. XLSX: the sheet named with ``--sheet``, else the active sheet if it is visible,
  else the first visible one (a hidden sheet is never read unless named; the batch JSON records which sheet);
  CSV: UTF-8 (a BOM is fine), delimiter ``,`` or ``;`` (sniffed from the header row). CSV row numbers count
  records, as a spreadsheet shows them (a quoted cell may span lines; errors then give the line too).
- Unit columns (English id or Vietnamese name): ``code`` (mã xã), ``name`` (tên xã), ``district`` (huyện),
  ``province`` (tỉnh), ``region`` (vùng), ``flags`` (đặc điểm; several separated by ``,`` or ``;``),
  ``assessment_date`` (ngày đánh giá; YYYY-MM-DD or DD/MM/YYYY) or ``year`` (năm), optional ``level`` (cấp:
  commune/xã, district/huyện, …; default commune). ``code``, ``name``, ``region`` and a date or year are
  required columns.
- Every other column is a fact: its id (``income_per_capita``) or its Vietnamese label from the ruleset, compared
  after Unicode NFC normalisation, case folding and whitespace collapsing. ``<fact id>__evidence`` columns carry
  the evidence document (số văn bản) for that fact. An unknown header is an error for the whole file.
- Cells: empty = not given (missing evidence). Booleans: ``true/false``, ``yes/no``, ``có/không``, ``đạt/không
  đạt/chưa đạt``, ``x`` (= true), ``1/0``. Numbers: ``61.2`` or ``61,2``; a single separator followed by exactly
  three digits (``1.234``, ``1,234``) or both separators (``1.234,5``) are ambiguous and refused, as are spaces
  inside numbers; a trailing ``%`` is allowed on percentages. XLSX: native numbers and dates are read as such; a
  number formatted as a percentage (Excel stores 99.5% as 0.995) is read as shown (99.5); a date in a fact cell
  is that cell's error; a formula is read as the result the spreadsheet saved with it, and a formula saved
  without a result is that cell's error; every cell of a merged range reads the range's value. See
  ``ntm.batch.xlsx`` for the workbooks refused outright (zip bombs, > 100,000 rows, macros named .xlsx, …).
- Unit codes are compared after NFKC normalisation with invisible characters removed: the same commune twice
  (in a table or a folder) is refused on its second row or file.

Each row is converted on its own: a bad cell makes that row an error (row number, column, reason); the other
rows go on. Folder input: every ``*.yaml``, ``*.yml`` and ``*.json`` file directly in the folder (not its
subfolders), sorted by name; a file that is not a valid dossier is listed as an error, like a bad row, and so
is an entry with such a name that is not a readable regular file (a dangling link, a FIFO, a device, a folder,
a name that is not UTF-8).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from ntm.errors import NtmInputError, did_you_mean

UNIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("mã xã", "mã", "mã đơn vị"),
    "name": ("tên xã", "tên", "tên đơn vị"),
    "district": ("huyện", "quận/huyện"),
    "province": ("tỉnh", "tỉnh/thành phố"),
    "region": ("vùng",),
    "flags": ("đặc điểm", "cờ"),
    "assessment_date": ("ngày đánh giá", "date"),
    "year": ("năm", "năm đánh giá"),
    "level": ("cấp",),
}
EVIDENCE_SUFFIX = "__evidence"
TRUE = {"true", "yes", "có", "co", "đạt", "dat", "x", "1"}
FALSE = {"false", "no", "không", "khong", "không đạt", "chưa đạt", "0"}
MAX_ROWS = 100_000
LEVELS = {"xã": "commune", "huyện": "district", "thôn": "village", "tỉnh": "province"}


def norm(text: str) -> str:
    """Header comparison key: NFC, case-folded, whitespace collapsed (Excel users type labels by hand)."""
    return " ".join(unicodedata.normalize("NFC", str(text)).casefold().split())


@dataclass(frozen=True)
class Job:
    """One unit to evaluate: a dossier file (folder input) or a dossier built from a table row."""

    index: int
    row: int | None
    file: str | None
    code: str | None
    dossier: dict | None = None  # from a table row; None for a file


@dataclass(frozen=True)
class Entry:
    """What the summary keeps of a job once it is sent: where it came from (not its data)."""

    index: int
    row: int | None
    file: str | None
    code: str | None


@dataclass(frozen=True)
class RowError:
    index: int
    row: int | None
    file: str | None
    code: str | None
    reason: str


@dataclass(frozen=True)
class BatchInput:
    """A batch input, read lazily: `items` yields Job | RowError in input order (one pass), so a province's
    10,000 rows are never all held as dossiers at once. `rows` is the number of data rows (counted up front)."""

    path: str
    kind: str  # csv | xlsx | folder
    rows: int
    items: Iterator
    columns: dict = field(default_factory=dict)  # field path ("facts.x", "unit.region") -> header, for errors
    sheet: str | None = None  # XLSX: the sheet that was read


@dataclass(frozen=True)
class Column:
    header: str
    kind: str  # unit | fact | evidence
    key: str  # unit field or fact id


def read_input(path: str, catalogue: dict, *, sheet: str | None = None) -> BatchInput:
    """The jobs (and bad rows) of a batch input; raises NtmInputError only for whole-input problems."""
    if os.path.isdir(path):
        if sheet is not None:
            raise NtmInputError.single("--sheet only applies to an XLSX workbook", field="--sheet")
        return _folder(path)
    if not os.path.exists(path):
        raise NtmInputError.single("no such file or folder", file=display_path(path))
    import stat

    if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device would block or never end
        raise NtmInputError.single("not a regular file (a FIFO, a device…)", file=display_path(path),
                                   expected="a folder of dossiers, a .csv file or a .xlsx workbook")
    low = path.lower()
    title: list = []  # the sheet read (XLSX)
    if low.endswith(".csv"):
        kind = "csv"
        text = _csv_text(path)

        def rows():
            return _csv_rows(text, path)
    elif low.endswith((".xlsx", ".xlsm")):
        kind = "xlsx"

        def rows():
            return _xlsx_rows(path, sheet, title)
    else:
        raise NtmInputError.single("unknown input type", file=path,
                                   expected="a folder of dossiers, a .csv file or a .xlsx workbook")
    if sheet is not None and kind != "xlsx":
        raise NtmInputError.single("--sheet only applies to an XLSX workbook", field="--sheet")
    it = rows()
    header = next(it)
    columns = map_headers(header, catalogue, path)
    count = 0
    for _ in it:  # stop counting at the limit: a million-row file is refused as soon as it is known to be one
        count += 1
        if count > MAX_ROWS:
            raise NtmInputError.single(f"more than {MAX_ROWS} rows; the limit is {MAX_ROWS}", file=display_path(path),
                                       hint="split the table into several files")
    colmap = column_map(columns)
    return BatchInput(display_path(path), kind, count, _row_items(rows(), columns, catalogue, colmap,
                                                                 cells=kind == "xlsx"), colmap,
                      sheet=title[0] if title else None)


def _row_items(rows: Iterator, columns: list, catalogue: dict, colmap: dict, *, cells: bool = False) -> Iterator:
    """Jobs and bad rows; `cells`: name the spreadsheet cell (F7) of a bad value. The same unit twice (codes
    compared after `unit_code` normalisation) is refused on its second row."""
    from ntm.criteria.codes import unit_code

    next(rows)  # the header
    seen: dict = {}
    for i, item in enumerate(rows):
        rownum, cells_ = item[0], item[1]
        at = f"row {rownum}" + (f" (line {item[2]})" if len(item) > 2 and item[2] != rownum else "")
        try:
            dossier = row_dossier(cells_, columns, catalogue, rownum=rownum if cells else None)
        except RowProblem as e:
            yield RowError(i, rownum, None, e.code, f"{at}, {e}")
            continue
        code = dossier["unit"].get("code")
        key = (dossier["unit"].get("level"), unit_code(code))
        if key in seen:
            yield RowError(i, rownum, None, code, f"{at}, column {colmap['unit.code']}: "
                           f"commune {shown_code(code)} is already on row {seen[key]}")
            continue
        seen[key] = rownum
        yield Job(i, rownum, None, code, dossier)


def shown_code(code) -> str:
    """A code as text a person can compare: invisible characters made visible (U+200B)."""
    from ntm.criteria.codes import visible

    return visible(str(code))


def column_map(columns: list) -> dict:
    """Dossier field path → the header the user wrote, so errors name the column they see."""
    out = {}
    for col in columns:
        if col is not None and col.kind != "evidence":
            out[_unit_field(col.key) if col.kind == "unit" else f"facts.{col.key}"] = col.header
    return out


DOSSIER_EXT = (".yaml", ".yml", ".json")


def _folder(path: str) -> BatchInput:
    """Every dossier file directly in the folder, in name order; an entry named like a dossier that cannot be
    one (a dangling link, a FIFO, a device, a folder, a name that is not UTF-8) is listed as an error, never
    skipped silently and never opened (a FIFO would block the batch)."""
    import stat

    if display_path(path) != path:
        raise NtmInputError.single("the folder's name is not valid UTF-8 — rename it", file=display_path(path))
    # the folder itself, not its subfolders (those hold overlays, commune dossiers of a district, old runs…)
    try:
        names = sorted(n for n in os.listdir(path) if n.lower().endswith(DOSSIER_EXT) and not n.startswith("."))
    except OSError as e:
        raise NtmInputError.single(f"cannot list the folder: {e.strerror or e}", file=path) from None
    items: list = []
    for n in names:
        full = os.path.join(path, n)
        shown = display_path(full)
        i = len(items)
        problem = None
        if display_path(n) != n:
            problem = "the file name is not valid UTF-8 — rename the file"
        else:
            try:
                st = os.stat(full)
            except OSError as e:
                problem = ("a symbolic link to a file that does not exist" if os.path.islink(full)
                           else f"cannot be read: {e.strerror or e}")
            else:
                if stat.S_ISDIR(st.st_mode):
                    problem = "a folder, not a dossier file (subfolders are not read)"
                elif not stat.S_ISREG(st.st_mode):
                    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "a device" if
                            stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "a socket" if
                            stat.S_ISSOCK(st.st_mode) else "not a regular file")
                    problem = f"{kind}, not a dossier file"
        items.append(RowError(i, None, shown, None, f"{shown}: {problem}") if problem else Job(i, None, full, None))
    if not items:
        raise NtmInputError.single("the folder holds no dossiers", file=path, expected="*.yaml, *.yml or *.json files")
    return BatchInput(path, "folder", len(items), iter(items))


def display_path(p: str) -> str:
    """A path as printable text: bytes that are not UTF-8 (kept by the OS as surrogates) shown as \\xNN."""
    try:
        p.encode("utf-8")
        return p
    except UnicodeEncodeError:
        return os.fsencode(p).decode("utf-8", "backslashreplace")


# ---------------------------------------------------------------------------------------------- tables


def _csv_text(path: str) -> str:
    from ntm.criteria.yamlsrc import read_text

    return read_text(path)


def _csv_rows(text: str, path: str) -> Iterator:
    """Yields the header row, then (row number, cells, line) for every data row."""
    first = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])  # commas inside quoted labels do not count
    delim = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    header = None
    record, start = 0, 1
    try:
        for cells in reader:
            # the row number is the record's (what a spreadsheet shows), not the file's line: a quoted cell may
            # span several lines; the line where the record starts is given too when it differs
            record += 1
            line, start = start, reader.line_num + 1
            if header is None:
                header = cells
                if not any(str(c).strip() for c in header):
                    raise NtmInputError.single("the first row must hold the column headers", file=path, line=1)
                yield header
                continue
            if not _skip(cells):
                yield record, cells, line
    except csv.Error as e:
        raise NtmInputError.single(f"not a valid CSV file: {e}", file=path, line=reader.line_num) from None
    if header is None:
        raise NtmInputError.single("the file is empty; row 1 must hold the column headers", file=path)


def _xlsx_rows(path: str, sheet: str | None, title: list | None = None) -> Iterator:
    """Yields the header row, then (row number, cells) for every data row (see ntm.batch.xlsx)."""
    from ntm.batch.xlsx import sheet_rows

    it = sheet_rows(path, sheet, MAX_ROWS, _xlsx_value)
    name = next(it)
    if title is not None:
        title[:] = [name]
    for row in it:
        if isinstance(row, list):
            yield row
        elif not _skip(row[1]):
            yield row


def _xlsx_value(cell):
    """A cell's value; a number shown as a percentage (99.5% is stored as 0.995) is read as it is shown."""
    v = getattr(cell, "value", None)
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and "%" in (getattr(cell, "number_format", "") or ""):
        from decimal import Decimal

        d = Decimal(repr(v)) * 100
        return int(d) if d == d.to_integral_value() else float(d)
    return v


def _skip(cells) -> bool:
    if not any(str(c).strip() for c in cells):
        return True
    return isinstance(cells[0], str) and cells[0].lstrip().startswith("#")


def _group_facts() -> set[str]:
    """Facts that place a commune in its group, in any shipped ruleset with commune groups."""
    from ntm.criteria.loader import all_shipped

    return {c.fact for lr in all_shipped() if lr.ruleset.commune_groups
            for r in lr.ruleset.commune_groups.rules for c in r.conditions}


def map_headers(header: list, catalogue: dict, path: str) -> list[Column | None]:
    """Each header → a unit field, a fact, or an evidence column; unknown or repeated headers stop the batch."""
    keys: dict[str, tuple[str, str]] = {}
    for fid, fact in catalogue.items():
        keys[norm(fact.label.vi)] = ("fact", fid)
        keys[norm(fid)] = ("fact", fid)
    for fid_, aliases in UNIT_COLUMNS.items():
        for a in (fid_, *aliases):
            keys[norm(a)] = ("unit", fid_)
    cols: list[Column | None] = []
    seen: dict[tuple, int] = {}
    from ntm.batch.xlsx import CellProblem

    for j, h in enumerate(header):
        if isinstance(h, CellProblem):
            raise NtmInputError.single(h.reason, file=path, line=1, field=f"column {_letter(j)}")
        text = str(h).strip()
        if not text:
            cols.append(None)  # an unnamed column (e.g. Excel's trailing blanks) is ignored
            continue
        kind_key = keys.get(norm(text))
        if kind_key is None and norm(text).endswith(EVIDENCE_SUFFIX):
            base = keys.get(norm(text)[: -len(EVIDENCE_SUFFIX)])
            if base and base[0] == "fact":
                kind_key = ("evidence", base[1])
        if kind_key is None:
            choices = list(catalogue) + list(UNIT_COLUMNS)
            raise NtmInputError.single(f"unknown column '{text}'", file=path, line=1, field=f"column {_letter(j)}",
                                       expected="a unit column (code, name, region, …), a fact id or its "
                                       "Vietnamese label", hint=did_you_mean(text, choices)
                                       or "run `ntm rulesets show vn-2021-2025` for the fact ids")
        if kind_key in seen:
            raise NtmInputError.single(f"column '{text}' repeats column {_letter(seen[kind_key])}", file=path,
                                       line=1, field=f"column {_letter(j)}")
        seen[kind_key] = j
        cols.append(Column(text, kind_key[0], kind_key[1]))
    have = {c.key for c in cols if c and c.kind == "unit"}
    need = [c for c in ("code", "name", "region") if c not in have]
    if "region" in need and {c.key for c in cols if c and c.kind == "fact"} & _group_facts():
        need.remove("region")  # a commune group (51/2025) is placed from these facts instead
    if "assessment_date" not in have and "year" not in have:
        need.append("assessment_date or year")
    if need:
        raise NtmInputError.single("missing column(s): " + ", ".join(need), file=path, line=1,
                                   hint="headers: code (mã xã), name (tên xã), region (vùng), "
                                   "assessment_date (ngày đánh giá) or year (năm)")
    return cols


def _letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


class RowProblem(Exception):
    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


def row_dossier(cells: list, columns: list, catalogue: dict, *, rownum: int | None = None) -> dict:
    """A table row as a dossier dict (validated later by the dossier model, like any dossier file).
    `rownum` (spreadsheets): errors also name the cell, F7."""
    from ntm.batch.xlsx import CellProblem

    unit: dict = {"level": "commune"}
    assessment: dict = {}
    facts: dict = {}
    code = None
    for j, col in enumerate(columns):
        if col is None or col.kind != "unit" or col.key != "code":
            continue
        raw = cells[j] if j < len(cells) else ""
        if isinstance(raw, CellProblem):
            raise RowProblem(f"column {col.header}: {raw.reason}")
        v = _text(raw)
        code = v or None
    for j, col in enumerate(columns):
        if col is None:
            continue
        raw = cells[j] if j < len(cells) else ""
        if isinstance(raw, str) and not raw.strip():
            continue
        where = f"column {col.header}"
        if rownum is not None and isinstance(raw, (dt.date, dt.time, dt.timedelta)):
            where += f" (cell {_letter(j)}{rownum})"  # a date where a number belongs: name the cell to reformat
        if isinstance(raw, CellProblem):
            raise RowProblem(f"column {col.header}: {raw.reason}", code)
        try:
            if col.kind == "unit":
                if col.key == "flags":
                    unit["flags"] = [unicodedata.normalize("NFC", f.strip())
                                     for f in re.split(r"[;,]", _text(raw)) if f.strip()]
                elif col.key == "assessment_date":
                    assessment["date"] = _date(raw)
                elif col.key == "year":
                    assessment["year"] = _int(raw)
                elif col.key == "level":
                    unit["level"] = LEVELS.get(norm(raw), _text(raw))
                else:
                    unit[col.key] = _text(raw)
            elif col.kind == "fact":
                value = parse_cell(raw, catalogue[col.key])
                if isinstance(facts.get(col.key), dict):
                    facts[col.key]["value"] = value
                else:
                    facts[col.key] = value
            else:
                doc = _text(raw)
                prev = facts.get(col.key)
                facts[col.key] = {"value": prev, "evidence": {"document": doc}}
        except ValueError as e:
            raise RowProblem(f"{where}: {e}", code) from None
    for fid in list(facts):
        entry = facts[fid]
        if isinstance(entry, dict) and entry["value"] is None:
            entry.pop("value")  # evidence without a value: the fact stays missing, the document is kept
    if code is None:
        hdr = next(c.header for c in columns if c and c.kind == "unit" and c.key == "code")
        raise RowProblem(f"column {hdr}: the commune code is empty")
    if "date" in assessment and "year" in assessment and assessment["date"].year != assessment["year"]:
        raise RowProblem(f"year {assessment['year']} does not match the assessment date {assessment['date']}", code)
    return {"unit": unit, "assessment": assessment, "facts": facts}


def _unit_field(key: str) -> str:
    return {"assessment_date": "assessment.date", "year": "assessment.year"}.get(key, f"unit.{key}")


def _text(raw) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a code typed as a number in Excel
    return unicodedata.normalize("NFC", str(raw).strip())


def _int(raw) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"expected a year, got {raw}")  # noqa: TRY004 - a cell error, reported per row
    if isinstance(raw, (int, float)) and float(raw).is_integer():
        return int(raw)
    s = str(raw).strip()
    if re.fullmatch(r"\d{4}", s):
        return int(s)
    raise ValueError(f"expected a year (YYYY), got '{s}'")


def _date(raw) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    s = str(raw).strip()
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        pass
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", s)
    if m:
        try:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            pass
    raise ValueError(f"expected a date (YYYY-MM-DD or DD/MM/YYYY), got '{s}'")


def parse_cell(raw, fact):
    """One cell as a fact value: a bool for boolean facts, an int or float otherwise (validated downstream)."""
    if isinstance(raw, (dt.date, dt.time, dt.timedelta)):  # a spreadsheet cell formatted as a date or time
        want = "true/false" if fact.type == "boolean" else f"a number in {fact.unit}"
        shown = raw.isoformat() if not isinstance(raw, dt.timedelta) else str(raw)
        raise ValueError(f"the cell holds a date or time ({shown.removesuffix('T00:00:00')}), expected {want} — "
                         "format the cell as a number (Excel: Format Cells → Number)")
    if fact.type == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, (int, float)) and raw in (0, 1):
            return bool(raw)
        s = norm(raw)
        if s in TRUE:
            return True
        if s in FALSE:
            return False
        raise ValueError(f"expected true/false (có/không, x, 1/0), got '{str(raw).strip()}'")
    if isinstance(raw, bool):
        raise ValueError(f"expected a number in {fact.unit}, got {str(raw).lower()}")  # noqa: TRY004 - a cell error
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if raw.is_integer() else raw
    return parse_number(str(raw), fact.unit)


_PLAIN = re.compile(r"[-+]?\d+")
_DECIMAL = re.compile(r"([-+]?\d+)[.,](\d+)")


def parse_number(text: str, unit: str = ""):
    """'61.2' and '61,2' are 61.2; '1.234', '1,234' and '1.234,5' are refused: the reader cannot know which
    convention (Vietnamese 1.234,5 or English 1,234.5) the writer used."""
    s = unicodedata.normalize("NFC", text).strip()
    if unit == "%" and s.endswith("%"):
        s = s[:-1].rstrip()
    if _PLAIN.fullmatch(s):
        return int(s)
    m = _DECIMAL.fullmatch(s)
    if m:
        whole, frac = m.group(1), m.group(2)
        if len(frac) == 3 and whole.lstrip("+-") not in ("0", ""):
            raise ValueError(f"'{text.strip()}' is ambiguous (thousands separator or decimal?)"
                             f" — write {whole}{frac} or {whole}.{frac}0")
        v = float(f"{whole}.{frac}")
        return int(v) if v.is_integer() and not frac.strip("0") else v
    if re.fullmatch(r"[-+]?[\d.,\s]+", s) and re.search(r"\d", s):
        raise ValueError(f"'{text.strip()}' is ambiguous or malformed — write a plain number such as 1234.5 "
                         "(no thousands separators)")
    raise ValueError(f"expected a number in {unit}, got '{text.strip()}'")
