"""User text made inert for the places that would otherwise run or render it: spreadsheets (formulas), the
terminal (escape sequences, rich markup) and Markdown (emphasis, links, table pipes).

One function per target, used by every writer, so a label from an overlay or a commune name from a CSV never
becomes a live formula, a cursor move or a link, whichever output it reaches."""

from __future__ import annotations

import re

# a cell starting with one of these is run as a formula by Excel/LibreOffice (CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(c):
    """CSV: text a spreadsheet would run as a formula ('=HYPERLINK(…)') gets a leading apostrophe; other values
    are unchanged."""
    return "'" + c if isinstance(c, str) and c.startswith(FORMULA_START) else c


def inert_workbook(wb) -> None:
    """XLSX: no cell of any sheet is a formula; openpyxl takes every string starting with "=" for one, so such
    cells are stored as text (the text itself is kept, so a workbook read back gives what was written)."""
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


# ESC sequences (CSI … final byte, OSC … BEL/ST, other two-byte ESC x), then any remaining C0/C1 control
# character except tab and newline, which tables and messages use on purpose
_ESC = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text) -> str:
    """Text for the terminal: escape sequences and control characters removed (a CSV cell cannot move the
    cursor, clear the screen or retitle the window)."""
    return _CONTROL.sub("", _ESC.sub("", str(text)))


def rich_safe(text) -> str:
    """terminal_safe, and rich markup ('[bold]', '[link=…]') shown as typed, for text printed through rich."""
    from rich.markup import escape

    return escape(terminal_safe(text))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def _one_line(text) -> str:
    return terminal_safe(str(text).replace("\r", " ").replace("\n", " ").replace("\t", " "))


def md_safe(text) -> str:
    """Markdown: user text cannot open emphasis, code, links, images, HTML or a new table cell (a title or cell
    stays one line); the characters that only matter after those ('(', '!', '#' mid-line) are left alone."""
    return _MD_SPECIAL.sub(r"\\\1", _one_line(text)).replace("<", "&lt;").replace(">", "&gt;")  # no raw HTML


def md_code(text) -> str:
    """An id shown in `code`: no backtick can close the span early, and it stays on one line."""
    return _one_line(text).replace("`", "'")


class _Cleaned:
    """A renderable whose text segments are terminal_safe; rich's own styles and control codes are untouched."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __rich_console__(self, console, options):
        from rich.segment import Segment

        for seg in console.render(self.inner, options):
            yield seg if seg.control else Segment(terminal_safe(seg.text), seg.style)


def safe_console(console):
    """The console with a render hook that cleans every text segment it prints: user text (a commune name from
    a CSV cell) reaches the terminal without escape sequences, whichever table or line it sits in."""
    from rich.console import RenderHook

    class _Hook(RenderHook):
        def process_renderables(self, renderables):
            return [_Cleaned(r) for r in renderables]

    console.push_render_hook(_Hook())
    return console
