"""Read one sheet of a batch workbook (XLSX) safely: a hostile or damaged package is refused before openpyxl
opens it, and what openpyxl's streaming mode would get wrong is read from the sheet itself.

- The package: not a zip, an old .xls, encryption, zip features nothing needs (flag bit 5, odd compression),
  more than `MAX_UNCOMPRESSED` bytes once unpacked, a member that inflates more than `MAX_RATIO` times (a zip
  bomb), a DTD in any XML part, links to other workbooks (their values come from files not given), a
  macro-enabled workbook named .xlsx, a listed sheet whose part is missing: each a clear error naming the file.
  The sizes are read from the zip directory, which bounds what Python's zipfile will ever inflate.
- The sheet: the `<dimension>` a writer records is not trusted (the real rows are read); a sheet with more
  than `max_rows` rows is refused from a byte scan of the sheet, before any cell is parsed.
- Which sheet: `--sheet`, else the active sheet when it is visible, else the first visible one (never a hidden
  or very hidden sheet unless named).
- Merged cells: every cell of a merged range reads the range's top-left value (a district name merged down).
- Formulas: the result the spreadsheet saved is used (Excel and LibreOffice always save it); a formula with no
  saved result (a file written by a program) is that cell's error, never empty evidence.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

from ntm.errors import NtmInputError, did_you_mean

MAX_UNCOMPRESSED = 200 * 2**20  # bytes, the whole package unpacked
MAX_RATIO = 100  # a member this many times larger unpacked than packed ...
RATIO_MIN_SIZE = 4 * 2**20  # ... and larger than this is refused as a zip bomb
MAX_SHARED_STRINGS = 50 * 2**20  # bytes: openpyxl holds the shared-string table in memory
MAX_MEMBERS = 10_000
MAX_MERGES = 100_000
MAX_MERGED_CELLS = 5_000_000  # cells filled from merged ranges, over the whole sheet
MAX_COLUMNS = 16_384  # Excel's own limit (XFD)
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_END_DATA = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?sheetData\s*>")
_MERGE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\s[^>]*?ref\s*=\s*[\"']([A-Za-z]{1,3}[0-9]{1,7}(?::[A-Za-z]{1,3}[0-9]{1,7})?)[\"']")
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class CellProblem:
    """A cell that holds no value the batch can use (a formula without a saved result): the row's error."""

    def __init__(self, reason: str, shown: str = "?"):
        self.reason = reason
        self.shown = shown

    def __str__(self) -> str:  # a row holding only this is not an empty row
        return self.shown


def _refuse(path: str, message: str, hint: str | None = None) -> NtmInputError:
    from ntm.batch.inputs import display_path

    return NtmInputError.single(message, file=display_path(path), hint=hint)


def check_package(path: str) -> None:
    """Refuse a file that is not a workbook the batch may open, from its first bytes and its zip directory."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as e:
        raise _refuse(path, f"cannot read the file: {e.strerror or e}") from None
    if head.startswith(OLE2):
        raise _refuse(path, "this is an Excel 97–2003 (.xls) workbook or a password-protected one, not an XLSX",
                      "open it in Excel or LibreOffice and save it as .xlsx (Excel Workbook) without a password")
    if not head.startswith(b"PK"):
        raise _refuse(path, "not a readable XLSX workbook (the file is not a zip package)",
                      "save the table as .xlsx from Excel or LibreOffice, or as .csv")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise _refuse(path, f"not a readable XLSX workbook ({type(e).__name__}: {str(e)[:200]})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _refuse(path, f"the workbook package has {len(infos)} parts; the limit is {MAX_MEMBERS}")
        total = 0
        for i in infos:
            if i.flag_bits & 0x1:
                raise _refuse(path, f"part {i.filename} is encrypted", "save the workbook without a password")
            if i.flag_bits & 0x20:
                raise _refuse(path, f"part {i.filename} uses zip 'patched data' (flag bit 5), which no workbook "
                              "writer produces: the file is damaged or crafted")
            if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _refuse(path, f"part {i.filename} uses an unsupported zip compression ({i.compress_type})")
            total += i.file_size
            if i.file_size > RATIO_MIN_SIZE and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise _refuse(path, f"part {i.filename} unpacks from {i.compress_size} to {i.file_size} bytes "
                              f"(more than {MAX_RATIO}×): refused as a possible zip bomb")
            if i.filename.lower() == "xl/sharedstrings.xml" and i.file_size > MAX_SHARED_STRINGS:
                raise _refuse(path, f"the workbook's text table unpacks to {i.file_size} bytes; the limit is "
                              f"{MAX_SHARED_STRINGS // 2**20} MB (it is held in memory whole)")
        if total > MAX_UNCOMPRESSED:
            raise _refuse(path, f"the workbook unpacks to {total} bytes; the limit is {MAX_UNCOMPRESSED} "
                          f"({MAX_UNCOMPRESSED // 2**20} MB)", "split the table into several workbooks")
        names = {i.filename for i in infos}
        links = sorted(n for n in names if n.startswith("xl/externalLinks/"))
        if links:
            raise _refuse(path, "the workbook links to other workbooks (" + ", ".join(links[:3]) + "): its "
                          "values may come from files not given here",
                          "break the links (Excel: Data → Edit Links → Break Link) and save again")
        types = _read(zf, "[Content_Types].xml", path, 2**20) if "[Content_Types].xml" in names else b""
        macros = "xl/vbaProject.bin" in names or b"macroEnabled" in types
        if macros and not path.lower().endswith(".xlsm"):
            raise _refuse(path, "this is a macro-enabled workbook (.xlsm) named .xlsx",
                          "macros are never run; save it as a plain .xlsx (Excel Workbook) or name it .xlsm")
        for i in infos:
            if i.filename.lower().endswith((".xml", ".rels", ".vml")):
                if _DTD.search(_read(zf, i.filename, path, 65536)):
                    raise _refuse(path, f"part {i.filename} declares a DTD or entities, which no workbook writer "
                                  "produces: refused")


def _read(zf: zipfile.ZipFile, name: str, path: str, limit: int) -> bytes:
    try:
        with zf.open(name) as fh:
            return fh.read(limit)
    except Exception as e:  # noqa: BLE001 - any failure of a hostile archive is the file's error
        raise _refuse(path, f"not a readable XLSX workbook (part {name}: {type(e).__name__})") from None


def scan_sheet(path: str, zf, part: str, max_rows: int) -> list[tuple[int, int, int, int]]:
    """The merged ranges (min_row, min_col, max_row, max_col) of a sheet, after checking from the raw bytes that
    it has at most `max_rows` rows (+ the header): a 1,048,576-row sheet is refused in well under a second."""
    from openpyxl.utils.cell import range_boundaries

    rows, tail, after, merges = 0, b"", None, []
    try:
        with zf.open(part) as fh:
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                if after is not None:
                    after += chunk
                    continue
                buf = tail + chunk
                cut = max(len(buf) - 64, 0)
                rows += sum(1 for m in _ROW.finditer(buf, 0, len(buf)) if m.start() < cut)
                if rows > max_rows + 1:
                    raise _refuse(path, f"the sheet has more than {max_rows} rows; the limit is {max_rows}",
                                  "split the table into several files")
                end = _END_DATA.search(buf)
                if end:
                    rows += sum(1 for m in _ROW.finditer(buf, 0, end.start()) if m.start() >= cut)
                    after = buf[end.end():]
                tail = buf[cut:]
            if after is None:
                rows += sum(1 for _ in _ROW.finditer(tail))
    except NtmInputError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged zip member is the file's error
        raise _refuse(path, f"not a readable XLSX workbook (sheet part {part}: {type(e).__name__}: {str(e)[:200]})") \
            from None
    if rows > max_rows + 1:
        raise _refuse(path, f"the sheet has more than {max_rows} rows; the limit is {max_rows}",
                      "split the table into several files")
    for m in _MERGE.finditer(after or b""):
        if len(merges) >= MAX_MERGES:
            raise _refuse(path, f"the sheet has more than {MAX_MERGES} merged ranges")
        ref = m.group(1).decode("ascii").upper()
        if ":" not in ref:
            continue
        try:
            c1, r1, c2, r2 = range_boundaries(ref)
        except ValueError:
            continue
        if r1 <= r2 and c1 <= c2:
            merges.append((r1, c1, r2, min(c2, MAX_COLUMNS)))
    return merges


def pick_sheet(wb, path: str, sheet: str | None):
    """The named sheet, else the active one when visible, else the first visible worksheet."""
    names = wb.sheetnames
    if sheet is not None:
        if sheet not in names:
            raise NtmInputError.single(f"no sheet '{sheet}'", file=path, field="--sheet",
                                       expected="one of " + ", ".join(names), hint=did_you_mean(sheet, names))
        ws = wb[sheet]
        if not hasattr(ws, "_worksheet_path"):
            raise NtmInputError.single(f"sheet '{sheet}' is a chart, not a table", file=path, field="--sheet")
        return ws
    sheets = [ws for ws in wb.worksheets if hasattr(ws, "_worksheet_path")]
    visible = [ws for ws in sheets if ws.sheet_state == "visible"]
    active = wb.active
    if active in visible:
        return active
    if visible:
        return visible[0]
    raise NtmInputError.single("the workbook has no visible sheet", file=path,
                               hint=("name the sheet to read with --sheet (hidden: " + ", ".join(ws.title for ws in sheets)
                                     + ")") if sheets else "the workbook holds no worksheet")


def _parser_class():
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class Parser(WorkSheetParser):
        """openpyxl's streaming parser, keeping a formula whose saved result is missing (data_only gives None)."""

        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if cell["value"] is None:
                f = element.find(FORMULA_TAG)
                # a saved empty text result is <c t="str"><f>…</f><v></v></c>; an empty or absent <v> on any other
                # type is no result at all (openpyxl and other programs write formulas that way)
                if f is not None and element.get("t") not in ("str", "inlineStr"):
                    cell["value"] = _Formula("=" + (f.text or ""))
            return cell

    return Parser


class _Formula(str):
    pass


def sheet_rows(path: str, sheet: str | None, max_rows: int, value) -> Iterator:
    """Yields the sheet's title, then the header row, then (row number, cells) for every row.

    `value(cell)` turns an openpyxl read-only cell into the value the table reader uses."""
    import contextlib
    import io
    import warnings

    import openpyxl
    from openpyxl.cell.read_only import ReadOnlyCell
    from openpyxl.utils import get_column_letter

    check_package(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles/extensions it skips: not the user's concern
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # openpyxl prints about bad style indexes
                wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except NtmInputError:
            raise
        except Exception as e:  # noqa: BLE001 - openpyxl on a hostile package: any failure is the file's error
            raise _refuse(path, f"not a readable XLSX workbook ({type(e).__name__}: {str(e)[:200]})") from None
        try:
            _check_sheets_present(wb, path)
            ws = pick_sheet(wb, path, sheet)
            title = ws.title
            merges = scan_sheet(path, wb._archive, ws._worksheet_path, max_rows)
            merges.sort()
            nxt = 0  # merges[nxt:] start below the current row
            active: list = []
            top: dict = {}
            filled = 0
            yield title
            Parser = _parser_class()
            src = wb._archive.open(ws._worksheet_path)
            parser = Parser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                            date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
            width = MAX_COLUMNS
            first = True
            it = parser.parse()
            while True:
                try:
                    rownum, cells = next(it)
                    row: list = []
                    for c in cells:
                        col = c["column"]
                        if col > width or col < 1:
                            continue
                        v = c["value"]
                        if isinstance(v, _Formula):
                            shown = str(v)
                            ref = f"{get_column_letter(col)}{rownum}"
                            v = CellProblem(f"cell {ref} (sheet '{title}') holds the formula {shown[:80]} with no "
                                            "saved result — open and save the workbook in Excel or LibreOffice so "
                                            "the result is stored, or type the value", shown)
                        else:
                            v = value(ReadOnlyCell(ws, c["row"], col, v, c["data_type"], c["style_id"]))
                        if len(row) < col:
                            row.extend([""] * (col - len(row)))
                        row[col - 1] = v
                except StopIteration:
                    break
                except NtmInputError:
                    raise
                except Exception as e:  # noqa: BLE001 - the sheet's XML is parsed as it is read
                    raise _refuse(path, f"not a readable XLSX workbook ({type(e).__name__}: {str(e)[:200]})") \
                        from None
                active = [m for m in active if m[2] >= rownum and m[1] <= width]
                while nxt < len(merges) and merges[nxt][0] <= rownum:
                    if merges[nxt][2] >= rownum and merges[nxt][1] <= width:
                        active.append(merges[nxt])
                    nxt += 1
                for m in active:
                    r1, c1, r2, c2 = m
                    if rownum == r1:
                        top[m] = row[c1 - 1] if c1 - 1 < len(row) else ""
                    fill = top.get(m, "")
                    hi = min(c2, width)
                    filled += hi - c1 + 1
                    if filled > MAX_MERGED_CELLS:  # overlapping ranges over a whole sheet: bounded work
                        raise _refuse(path, f"the merged ranges cover more than {MAX_MERGED_CELLS} cells")
                    if len(row) < hi:
                        row.extend([""] * (hi - len(row)))
                    for k in range(c1 - 1, hi):
                        row[k] = fill
                if first:
                    first = False
                    if rownum != 1 or not any(str(c).strip() for c in row):
                        raise NtmInputError.single("the first row must hold the column headers", file=path, line=1)
                    width = len(row)
                    yield row
                    continue
                yield rownum, row
            if first:
                raise NtmInputError.single("the sheet is empty; row 1 must hold the column headers", file=path)
        finally:
            wb.close()


def _check_sheets_present(wb, path: str) -> None:
    """openpyxl silently drops a sheet whose part is missing from the package: that is a damaged file."""
    zf = wb._archive
    try:
        rels = zf.read("_rels/.rels") if "_rels/.rels" in zf.namelist() else b""
        m = re.search(rb"Target\s*=\s*[\"']/?([^\"']*workbook[^\"']*\.xml)[\"']", rels)
        book = zf.read(m.group(1).decode("utf-8", "replace") if m else "xl/workbook.xml")
    except Exception:  # noqa: BLE001 - openpyxl read it; if we cannot, say nothing more
        return
    listed = len(re.findall(rb"<(?:[A-Za-z_][\w.-]*:)?sheet\s", book))
    if listed > len(wb.sheetnames):
        raise _refuse(path, f"the workbook lists {listed} sheet(s) but only {len(wb.sheetnames)} are in the file: "
                      "the package is damaged", "open it in Excel or LibreOffice and save it again")
    if not wb.sheetnames:
        raise _refuse(path, "the workbook holds no sheet")
