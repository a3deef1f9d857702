"""Spreadsheet cells that stay text: nothing a user, an overlay or a ruleset wrote becomes a live formula.

One place for every workbook and CSV the tool writes (batch outputs, templates, authoring workbooks)."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(c):
    """CSV: text a spreadsheet would run as a formula (a commune named '=HYPERLINK(…)') gets a leading quote,
    the spreadsheet convention for "this is text"."""
    return "'" + c if isinstance(c, str) and c.startswith(FORMULA_START) else c


def inert_row(row) -> list:
    return ["" if c is None else inert(c) for c in row]


def inert_workbook(wb):
    """XLSX: openpyxl stores a string starting with '=' as a formula; store every such cell as plain text (the
    text is kept exactly, it is just never evaluated). Call it on the finished workbook, before saving."""
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    return wb
